"""operate-node-admin against the private MariaDB: every command's effect on
opn$app, opn$token and opn$grant, its exit status and what it
prints (a secret only on the one stdout line of add, rotate and issue).
"""
import hashlib
import os
import re
import stat
import subprocess

import harness

BIN = os.path.join(harness.BUILD, "operate-node-admin")
HEX64 = re.compile(r"^[0-9a-f]{64}\n$")
AUTH_TABLES = ["opn$app", "opn$token", "opn$grant"]
CONF = None
PROJECT = None		# a project that exists
MISSING = None		# an id no project has


def sha(secret):
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def admin(*args, conf=None):
    return subprocess.run([BIN, "-c", conf or CONF] + list(args),
                          capture_output=True, text=True, timeout=60)


def ok(*args):
    p = admin(*args)
    assert p.returncode == 0, "%s: %d %r" % (args, p.returncode, p.stderr)
    assert p.stderr == "", p.stderr
    return p.stdout


def failed(*args, conf=None):
    """Exit status 1, one message on stderr, nothing on stdout."""
    p = admin(*args, conf=conf)
    assert p.returncode == 1, "%s: %d %r" % (args, p.returncode, p.stderr)
    assert p.stdout == "", p.stdout
    assert p.stderr.startswith("operate-node-admin: "), p.stderr
    assert "usage:" not in p.stderr
    return p.stderr


def secret_of(out):
    assert HEX64.match(out), repr(out)
    return out.strip()


def auth_rows(env):
    return {t: env.db.query("SELECT * FROM `%s` ORDER BY 1, 2" % t)
            for t in AUTH_TABLES}


def reset(env):
    """The demo data when sql/demo.sql exists, else empty auth tables and
    one project of our own."""
    global PROJECT, MISSING
    if os.path.exists(os.path.join(harness.ROOT, "sql", "demo.sql")):
        env.db.reset_demo()
    else:
        for t in AUTH_TABLES:
            env.db.exec("DELETE FROM `%s`" % t)
        env.db.exec("DELETE FROM core_project")
        add_project(env, 1, "admin test")
    PROJECT = env.db.scalar("SELECT MIN(id) FROM core_project")
    MISSING = env.db.scalar("SELECT MAX(id) + 1000 FROM core_project")


def add_project(env, pid, name):
    env.db.exec("INSERT INTO core_project (id, name, time_zone, creator, `desc`, "
                "create_at, from_cmdb, bk_biz_id, is_disable) VALUES (%s, %s, "
                "'Asia/Shanghai', 'admin', '', UTC_TIMESTAMP(6), 0, %s, 0)",
                pid, name, pid)


def setup_module(env):
    global CONF
    CONF = harness.pool_config(os.path.join(env.top, "admin.conf"),
                               db_socket=env.db.sock, db_user="root",
                               db_name=harness.DBNAME)


def test_help(env):
    for flag in ("-h", "--help"):
        p = subprocess.run([BIN, flag], capture_output=True, text=True)
        assert p.returncode == 0 and p.stderr == ""
        for word in ("app add", "--trusted", "app disable", "app enable",
                     "app list", "app rotate", "token issue", "--days",
                     "token revoke", "grant ", "revoke ", "grants",
                     "--project", "--user", "-c file", "-h, --help"):
            assert word in p.stdout, word
    # Also after a command, without touching the database or the config.
    p = subprocess.run([BIN, "-c", "/nonexistent", "app", "add", "--help"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "app rotate" in p.stdout


def test_help_after_a_command_word(env):
    """app --help works as grant --help does: the usage on stdout, 0, and
    neither the config nor the database is touched."""
    for argv in (["app", "--help"], ["token", "-h"], ["grant", "--help"],
                 ["grants", "--help"], ["app", "list", "--help"]):
        p = subprocess.run([BIN, "-c", "/nonexistent"] + argv,
                           capture_output=True, text=True)
        assert (p.returncode, p.stderr) == (0, ""), (argv, p)
        assert p.stdout.startswith("usage: operate-node-admin"), (argv, p)


def test_version_and_long_options(env):
    with open(os.path.join(harness.ROOT, "VERSION")) as f:
        version = f.read().strip()
    for flag in ("--version", "-V"):
        p = subprocess.run([BIN, flag], capture_output=True, text=True)
        assert (p.returncode, p.stdout, p.stderr) == (
            0, "operate-node-admin %s\n" % version, ""), p
    reset(env)
    for argv in (["--config", CONF], ["--config=" + CONF], ["-c", CONF]):
        p = subprocess.run([BIN] + argv + ["app", "list"], capture_output=True,
                           text=True)
        assert p.returncode == 0 and p.stdout.startswith("code\ttrusted"), (argv, p)


def test_exit_codes(env):
    """0 done, 1 failed, 2 bad usage, as --help says."""
    reset(env)
    p = subprocess.run([BIN, "-c", CONF, "app", "disable", "no_such_app"],
                       capture_output=True, text=True)
    assert p.returncode == 1, p
    p = subprocess.run([BIN, "-c", os.path.join(env.top, "absent.conf"),
                        "app", "list"], capture_output=True, text=True)
    assert p.returncode == 1, p
    for argv in (["-c"], ["--config"], ["--bogus", "app", "list"], ["app"]):
        p = subprocess.run([BIN] + argv, capture_output=True, text=True)
        assert p.returncode == 2 and "\nusage: operate-node-admin" in p.stderr, (argv, p)
    assert "Exit status: 0 done, 1 failed, 2 bad usage." in \
        subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout


def test_app_add(env):
    reset(env)
    secret = secret_of(ok("app", "add", "adm_plain"))
    row = env.db.one("SELECT * FROM `opn$app` WHERE app_code = %s",
                     "adm_plain")
    assert row["secret_hash"] == sha(secret)
    assert row["is_enabled"] == 1 and row["is_trusted"] == 0
    secret2 = secret_of(ok("app", "add", "--trusted", "adm-Trusted_1"))
    row = env.db.one("SELECT * FROM `opn$app` WHERE app_code = %s",
                     "adm-Trusted_1")
    assert row["secret_hash"] == sha(secret2) and secret2 != secret
    assert row["is_enabled"] == 1 and row["is_trusted"] == 1
    # Codes are exact (utf8mb4_bin): another case is another app.
    secret_of(ok("app", "add", "ADM_PLAIN"))
    # The longest code, and one that looks like an option after "--".
    secret_of(ok("app", "add", "a" * 64))
    secret_of(ok("app", "add", "--", "-dash"))
    assert env.db.scalar("SELECT is_trusted FROM `opn$app` WHERE "
                         "app_code = '-dash'") == 0


def test_app_add_existing(env):
    reset(env)
    secret = secret_of(ok("app", "add", "adm_dup"))
    before = auth_rows(env)
    err = failed("app", "add", "adm_dup", "--trusted")
    assert 'app "adm_dup" already exists' in err
    assert secret not in err
    assert auth_rows(env) == before
    assert env.db.scalar("SELECT secret_hash FROM `opn$app` WHERE "
                         "app_code = 'adm_dup'") == sha(secret)


def test_app_disable_enable(env):
    reset(env)
    secret_of(ok("app", "add", "adm_flip"))

    def enabled():
        return env.db.scalar("SELECT is_enabled FROM `opn$app` WHERE "
                             "app_code = 'adm_flip'")
    others = env.db.query("SELECT * FROM `opn$app` WHERE app_code <> "
                          "'adm_flip' ORDER BY app_code")
    assert ok("app", "disable", "adm_flip") == ""
    assert enabled() == 0
    assert ok("app", "disable", "adm_flip") == ""	# already: still fine
    assert enabled() == 0
    assert ok("app", "enable", "adm_flip") == ""
    assert enabled() == 1
    assert others == env.db.query("SELECT * FROM `opn$app` WHERE "
                                  "app_code <> 'adm_flip' ORDER BY app_code")
    before = auth_rows(env)
    assert 'no such app "adm_nope"' in failed("app", "disable", "adm_nope")
    assert 'no such app "ADM_FLIP"' in failed("app", "enable", "ADM_FLIP")
    assert auth_rows(env) == before


def test_app_rotate(env):
    reset(env)
    old = secret_of(ok("app", "add", "adm_rot", "--trusted"))
    ok("app", "disable", "adm_rot")
    new = secret_of(ok("app", "rotate", "adm_rot"))
    assert new != old
    row = env.db.one("SELECT * FROM `opn$app` WHERE app_code = 'adm_rot'")
    assert row["secret_hash"] == sha(new)
    # Only the secret changes.
    assert row["is_trusted"] == 1 and row["is_enabled"] == 0
    before = auth_rows(env)
    assert 'no such app "adm_nope"' in failed("app", "rotate", "adm_nope")
    assert auth_rows(env) == before


def test_secret_unwritable(env):
    """stdout that cannot be written (a full disk): exit 1 and say what to
    do, since the app was created with a secret nobody saw."""
    reset(env)
    with open("/dev/full", "w") as full:
        p = subprocess.run([BIN, "-c", CONF, "app", "add", "adm_full"],
                           stdout=full, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 1, p.stderr
    assert "cannot write to stdout" in p.stderr and "app rotate" in p.stderr
    assert env.db.scalar("SELECT COUNT(*) FROM `opn$app` WHERE "
                         "app_code = 'adm_full'") == 1
    with open("/dev/full", "w") as full:
        p = subprocess.run([BIN, "-c", CONF, "app", "list"],
                           stdout=full, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 1 and "cannot write to stdout" in p.stderr


def test_app_list(env):
    reset(env)
    s1 = secret_of(ok("app", "add", "adm_b", "--trusted"))
    s2 = secret_of(ok("app", "add", "adm_a"))
    ok("app", "disable", "adm_a")
    out = ok("app", "list")
    lines = out.splitlines()
    assert lines[0].split("\t") == ["code", "trusted", "enabled"]
    rows = [l.split("\t") for l in lines[1:]]
    codes = [r[0] for r in rows]
    want = [r["app_code"] for r in env.db.query(
        "SELECT app_code FROM `opn$app` ORDER BY app_code")]
    assert codes == want, (codes, want)
    assert ["adm_a", "no", "no"] in rows and ["adm_b", "yes", "yes"] in rows
    assert "sha256" not in out and s1 not in out and s2 not in out
    for h in env.db.query("SELECT secret_hash FROM `opn$app`"):
        assert h["secret_hash"] not in out
        assert h["secret_hash"][7:] not in out


def test_app_list_empty(env):
    reset(env)
    env.db.exec("DELETE FROM `opn$app`")
    assert ok("app", "list") == "code\ttrusted\tenabled\n"


def seconds_left(env, token):
    return env.db.scalar("SELECT TIMESTAMPDIFF(SECOND, NOW(6), expires_at) "
                         "FROM `opn$token` WHERE token_hash = %s", sha(token))


def test_token_issue(env):
    reset(env)
    t7 = secret_of(ok("token", "issue", "adm_user"))
    row = env.db.one("SELECT * FROM `opn$token` WHERE token_hash = %s", sha(t7))
    assert row["username"] == "adm_user"
    assert abs(seconds_left(env, t7) - 7 * 86400) < 120
    t30 = secret_of(ok("token", "issue", "--days", "30", "adm_user"))
    assert abs(seconds_left(env, t30) - 30 * 86400) < 120
    t1 = secret_of(ok("token", "issue", "adm_user", "--days=1"))
    assert abs(seconds_left(env, t1) - 86400) < 120
    t10y = secret_of(ok("token", "issue", "Zoë Ünïcode", "--days", "3650"))
    assert abs(seconds_left(env, t10y) - 3650 * 86400) < 120
    assert env.db.scalar("SELECT username FROM `opn$token` WHERE "
                         "token_hash = %s", sha(t10y)) == "Zoë Ünïcode"
    assert len({t7, t30, t1, t10y}) == 4
    # The longest username: 128 characters, multi-byte ones included.
    long_user = "é" * 128
    t = secret_of(ok("token", "issue", long_user))
    assert env.db.scalar("SELECT username FROM `opn$token` WHERE "
                         "token_hash = %s", sha(t)) == long_user


def test_token_revoke(env):
    reset(env)
    keep = secret_of(ok("token", "issue", "adm_user"))
    gone = secret_of(ok("token", "issue", "adm_user"))
    assert ok("token", "revoke", gone) == ""
    assert env.db.query("SELECT * FROM `opn$token` WHERE token_hash = %s",
                        sha(gone)) == []
    assert len(env.db.query("SELECT * FROM `opn$token` WHERE token_hash = %s",
                            sha(keep))) == 1
    before = auth_rows(env)
    err = failed("token", "revoke", gone)
    assert "no such token" in err and gone not in err
    # A hash is not a token: revoking by the stored value finds nothing.
    err = failed("token", "revoke", sha(keep))
    assert "no such token" in err and sha(keep) not in err
    assert auth_rows(env) == before


def grants_of(env, user):
    return env.db.query("SELECT project_id, username, action FROM "
                        "`opn$grant` WHERE username = %s "
                        "ORDER BY project_id", user)


def test_grant(env):
    reset(env)
    assert ok("grant", "adm_user", str(PROJECT)) == ""
    assert grants_of(env, "adm_user") == [
        {"project_id": PROJECT, "username": "adm_user",
         "action": "task_operate"}]
    # Again: already granted, still one row, still success.
    assert ok("grant", "adm_user", str(PROJECT)) == ""
    assert len(grants_of(env, "adm_user")) == 1
    before = auth_rows(env)
    err = failed("grant", "adm_user", str(MISSING))
    assert "project %d does not exist" % MISSING in err
    assert auth_rows(env) == before
    # Leading zeros are the same number.
    assert ok("grant", "Adm_User", "00" + str(PROJECT)) == ""
    assert len(grants_of(env, "Adm_User")) == 1
    assert len(grants_of(env, "adm_user")) == 1


def test_revoke(env):
    reset(env)
    ok("grant", "adm_user", str(PROJECT))
    ok("grant", "adm_other", str(PROJECT))
    assert ok("revoke", "adm_user", str(PROJECT)) == ""
    assert grants_of(env, "adm_user") == []
    assert len(grants_of(env, "adm_other")) == 1
    before = auth_rows(env)
    err = failed("revoke", "adm_user", str(PROJECT))
    assert ('user "adm_user" has no task_operate grant on project %d'
            % PROJECT) in err
    failed("revoke", "adm_other", str(MISSING))
    assert auth_rows(env) == before


def test_grants(env):
    reset(env)
    env.db.exec("DELETE FROM `opn$grant`")
    add_project(env, MISSING + 1, "adm second")
    ok("grant", "adm_b", str(PROJECT))
    ok("grant", "adm_a", str(PROJECT))
    ok("grant", "adm_a", str(MISSING + 1))
    # Written by someone else: another action, and a username that would
    # move a terminal's cursor if printed as it is.
    env.db.exec("INSERT INTO `opn$grant` VALUES (%s, %s, 'view')",
                PROJECT, "adm_a")
    env.db.exec("INSERT INTO `opn$grant` VALUES (%s, %s, "
                "'task_operate')", MISSING + 1, "evil\x1b[2Jx")
    out = ok("grants")
    lines = out.splitlines()
    assert lines[0] == "project_id\tusername\taction"
    assert lines[1:] == [
        "%d\tadm_a\ttask_operate" % PROJECT,
        "%d\tadm_a\tview" % PROJECT,
        "%d\tadm_b\ttask_operate" % PROJECT,
        "%d\tadm_a\ttask_operate" % (MISSING + 1),
        "%d\tevil\\x1b[2Jx\ttask_operate" % (MISSING + 1),
    ], lines
    assert "\x1b" not in out
    assert ok("grants", "--project", str(PROJECT)).splitlines()[1:] == [
        "%d\tadm_a\ttask_operate" % PROJECT,
        "%d\tadm_a\tview" % PROJECT,
        "%d\tadm_b\ttask_operate" % PROJECT,
    ]
    assert ok("grants", "--user", "adm_a").splitlines()[1:] == [
        "%d\tadm_a\ttask_operate" % PROJECT,
        "%d\tadm_a\tview" % PROJECT,
        "%d\tadm_a\ttask_operate" % (MISSING + 1),
    ]
    assert ok("grants", "--user=nobody") == "project_id\tusername\taction\n"
    assert ok("grants", "--project", str(MISSING)).count("\n") == 1


def test_password_file(env):
    """db_password_file: used when private, refused when others can read
    it, and a wrong password is a clear failure."""
    reset(env)
    env.db.exec("CREATE USER IF NOT EXISTS 'adm_pw'@'localhost' "
                "IDENTIFIED BY 'adm-pw-1'")
    env.db.exec("GRANT ALL ON %s.* TO 'adm_pw'@'localhost'" % harness.DBNAME)
    try:
        pw = os.path.join(env.top, "admin-db-password")
        with open(pw, "w") as f:
            f.write("adm-pw-1\n")
        os.chmod(pw, 0o600)
        conf = harness.pool_config(os.path.join(env.top, "admin-pw.conf"),
                                   db_socket=env.db.sock, db_user="adm_pw",
                                   db_password_file=pw,
                                   db_name=harness.DBNAME)
        p = admin("app", "add", "adm_pw_app", conf=conf)
        assert p.returncode == 0, p.stderr
        secret_of(p.stdout)
        assert env.db.scalar("SELECT COUNT(*) FROM `opn$app` WHERE "
                             "app_code = 'adm_pw_app'") == 1

        os.chmod(pw, 0o644)
        before = auth_rows(env)
        err = failed("app", "add", "adm_pw_app2", conf=conf)
        assert pw in err and "readable by others" in err, err
        assert auth_rows(env) == before

        os.chmod(pw, 0o600)
        with open(pw, "w") as f:
            f.write("wrong\n")
        err = failed("app", "list", conf=conf)
        assert "Access denied" in err and "wrong" not in err, err
        assert auth_rows(env) == before
    finally:
        env.db.exec("DROP USER IF EXISTS 'adm_pw'@'localhost'")


def test_wrong_socket(env):
    reset(env)
    sock = os.path.join(env.top, "no-such-mysqld.sock")
    conf = harness.pool_config(os.path.join(env.top, "admin-nosock.conf"),
                               db_socket=sock, db_user="root",
                               db_name=harness.DBNAME, db_connect_timeout=2)
    before = auth_rows(env)
    err = failed("app", "add", "adm_nosock", conf=conf)
    assert "cannot connect to the database" in err and sock in err, err
    assert auth_rows(env) == before


def test_bad_config(env):
    missing = os.path.join(env.top, "no-such.conf")
    err = failed("app", "list", conf=missing)
    assert missing in err, err
    conf = harness.pool_config(os.path.join(env.top, "admin-bad.conf"),
                               db_socket=env.db.sock, db_usr="root")
    err = failed("app", "list", conf=conf)
    assert "admin-bad.conf:2:" in err and "db_usr" in err, err


def test_no_database_schema(env):
    """A database without our tables is reported, not mistaken for an
    empty list."""
    reset(env)
    env.db.exec("CREATE DATABASE IF NOT EXISTS adm_empty")
    try:
        conf = harness.pool_config(os.path.join(env.top, "admin-empty.conf"),
                                   db_socket=env.db.sock, db_user="root",
                                   db_name="adm_empty")
        err = failed("app", "list", conf=conf)
        assert "opn$app" in err, err
    finally:
        env.db.exec("DROP DATABASE IF EXISTS adm_empty")


# Bad usage: exit 2, the reason and the usage text on stderr, nothing on
# stdout, nothing written. The config does not exist: usage is checked
# before the config is read. One row per case.
USAGE = [
    ("no_command", []),
    ("unknown_command", ["frob"]),
    ("app_alone", ["app"]),
    ("app_unknown", ["app", "frob"]),
    ("token_unknown", ["token", "frob", "x"]),
    ("unknown_global_option", ["-x", "app", "list"]),
    ("add_missing_code", ["app", "add"]),
    ("add_two_codes", ["app", "add", "a", "b"]),
    ("add_bad_code_space", ["app", "add", "a b"]),
    ("add_bad_code_dot", ["app", "add", "a.b"]),
    ("add_code_too_long", ["app", "add", "a" * 65]),
    ("add_empty_code", ["app", "add", ""]),
    ("add_unknown_flag", ["app", "add", "a", "--days", "3"]),
    ("add_trusted_value", ["app", "add", "a", "--trusted=1"]),
    ("add_trusted_twice", ["app", "add", "a", "--trusted", "--trusted"]),
    ("list_argument", ["app", "list", "x"]),
    ("disable_bad_code", ["app", "disable", "a/b"]),
    ("rotate_missing", ["app", "rotate"]),
    ("issue_missing_user", ["token", "issue"]),
    ("issue_days_zero", ["token", "issue", "bob", "--days", "0"]),
    ("issue_days_too_many", ["token", "issue", "bob", "--days", "3651"]),
    ("issue_days_not_number", ["token", "issue", "bob", "--days", "7d"]),
    ("issue_days_negative", ["token", "issue", "bob", "--days", "-1"]),
    ("issue_days_missing_value", ["token", "issue", "bob", "--days"]),
    ("issue_user_control", ["token", "issue", "bo\x01b"]),
    ("issue_user_del", ["token", "issue", "bo\x7fb"]),
    ("issue_user_c1", ["token", "issue", "bo\u009bb"]),
    ("issue_user_too_long", ["token", "issue", "é" * 129]),
    ("issue_user_trailing_space", ["token", "issue", "bob "]),
    ("issue_user_empty", ["token", "issue", ""]),
    ("revoke_token_empty", ["token", "revoke", ""]),
    ("revoke_token_too_long", ["token", "revoke", "a" * 257]),
    ("grant_missing_project", ["grant", "bob"]),
    ("grant_project_zero", ["grant", "bob", "0"]),
    ("grant_project_negative", ["grant", "bob", "--", "-1"]),
    ("grant_project_word", ["grant", "bob", "one"]),
    ("grant_project_too_large", ["grant", "bob", "9223372036854775808"]),
    ("grant_project_space", ["grant", "bob", " 1"]),
    ("revoke_bad_user", ["revoke", "b\nob", "1"]),
    ("grants_both_filters", ["grants", "--project", "1", "--user", "bob"]),
    ("grants_bad_project", ["grants", "--project", "x"]),
    ("grants_positional", ["grants", "bob"]),
    ("grants_flag_of_other_command", ["grants", "--days", "1"]),
]


def usage_case(argv):
    def run(env):
        reset(env)
        before = auth_rows(env)
        p = subprocess.run([BIN, "-c", os.path.join(env.top, "absent.conf")]
                           + argv, capture_output=True, text=True)
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert p.stdout == ""
        assert p.stderr.startswith("operate-node-admin: "), p.stderr
        assert "\nusage: operate-node-admin" in p.stderr, p.stderr
        # Input is echoed escaped, never as raw control characters.
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]",
                             p.stderr), repr(p.stderr)
        assert auth_rows(env) == before
    return run


CASES = [("usage_" + name, usage_case(argv)) for name, argv in USAGE]


def test_no_secret_in_errors(env):
    """The token given to revoke is never echoed, even when malformed."""
    reset(env)
    p = subprocess.run([BIN, "-c", CONF, "token", "revoke",
                        "s3cr3t-" + "x" * 300], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "s3cr3t" not in p.stderr
    p = subprocess.run([BIN, "-c", CONF, "token", "revoke", "s3cr3t\x01"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "s3cr3t" not in p.stderr
