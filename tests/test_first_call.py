"""The README's path from a fresh database to a first call: load the
schema, `operate-node-admin app add`, `operate-node-admin grant`, then one
curl. The service connects as a database account holding only the grants
the README lists (least privilege), with its password in a 0600 file."""
import json
import os
import re
import subprocess

import harness
import rows

SERVICE = "'operate_node'@'localhost'"
ADMIN_USER = "'operate_node_admin'@'localhost'"


def readme_accounts(db):
    """The README's two accounts and their grants, as written there ("no
    more than this"), for this database: {account: sql}. The service's
    grants name one object each, SELECT on a table or EXECUTE on a routine;
    the admin command's name one table each, with SELECT, INSERT, UPDATE or
    DELETE: nothing wider."""
    text = open(os.path.join(harness.ROOT, "README.md")).read()
    lines = [l.strip() for l in text.splitlines()
             if re.match(r"\s+(CREATE USER|GRANT) ", l)]
    out = {}
    for account, grant in ((SERVICE, r"(SELECT ON bk_sops\.[`$\w]+|EXECUTE ON "
                                      r"(PROCEDURE|FUNCTION) bk_sops\.opn_\w+)"),
                           (ADMIN_USER, r"(SELECT|INSERT|UPDATE|DELETE)(, (INSERT|UPDATE|"
                                        r"DELETE))* ON bk_sops\.[`$\w]+")):
        mine = [l for l in lines if account in l]
        assert mine and mine[0] == "CREATE USER %s IDENTIFIED BY '...';" % account, mine
        for g in mine[1:]:
            assert re.fullmatch(r"GRANT %s TO %s;" % (grant, re.escape(account)), g), g
        out[account] = "\n".join(mine).replace("bk_sops.", db + ".")
    assert len(lines) == sum(len(v.splitlines()) for v in out.values()), lines
    return out


def readme_grants(db):
    """The service's account, with the password the test uses."""
    return readme_accounts(db)[SERVICE].replace("IDENTIFIED BY '...'",
                                                "IDENTIFIED BY 'pw-first-call'")


def readme_admin_grants(db):
    return readme_accounts(db)[ADMIN_USER].replace("IDENTIFIED BY '...'",
                                                   "IDENTIFIED BY 'pw-admin'")


def secret_file(env, name, text):
    path = os.path.join(env.top, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def engine_rows(env):
    """What bk-sops and its engine, not this service, would have written: a
    project and a task with one failed node; the service's own tables empty."""
    for t in harness.TABLES:
        env.db.exec("DELETE FROM `%s`" % t)
    rows.engine_task(env.db)


def test_three_commands_to_a_first_call(env):
    env.db.load()       # sql/load.sh: schema and procedures
    engine_rows(env)
    env.db.client("-e", readme_grants(harness.DBNAME), db=None)
    env.db.client("-e", readme_admin_grants(harness.DBNAME), db=None)
    pw = secret_file(env, "first-call.password", "pw-first-call")
    admin_pw = secret_file(env, "first-call-admin.password", "pw-admin")
    # the service's config, with the admin command's account in it
    admin_conf = harness.pool_config(os.path.join(env.top, "first-call-admin.conf"),
                                     db_socket=env.db.sock, db_user="operate_node",
                                     db_password_file=pw, db_name=harness.DBNAME,
                                     admin_db_user="operate_node_admin",
                                     admin_db_password_file=admin_pw)
    admin = os.path.join(harness.BUILD, "operate-node-admin")
    svc = None
    try:
        # 1, 2: an app and a grant
        secret = subprocess.run([admin, "-c", admin_conf, "app", "add", "my_app"],
                                check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run([admin, "-c", admin_conf, "grant", "alice", "7"], check=True)
        svc = harness.Service(env, name="first-call-pool", db_user="operate_node",
                              db_password_file=pw)
        # 3: the first call
        body = {"bk_app_code": "my_app", "bk_app_secret": secret,
                "bk_username": "alice", "node_id": "n77", "action": "retry"}
        r = svc.post("/operate_node/70/77/", body)
        assert r.json["code"] == 0, r
        st = rows.state(env.db, "n77")
        assert (st["name"], st["retry"]) == ("READY", 1), st
        assert [x["operator"] for x in rows.records(env.db)] == ["alice"]
        assert rows.record(env.db, r.json["request_id"])["node_id"] == "n77"
        r = svc.post("/operate_node/70/77/", body)
        assert r.json["code"] == 3545000, r
        # neither account can do anything else
        for user, password in (("operate_node", "pw-first-call"),
                               ("operate_node_admin", "pw-admin")):
            p = subprocess.run(["mariadb", "--no-defaults", "-S", env.db.sock, "-u",
                                user, "-p" + password, harness.DBNAME, "-e",
                                "UPDATE eri_state SET name='FAILED'"],
                               capture_output=True, text=True)
            assert p.returncode != 0 and "denied" in p.stderr, p.stderr
    finally:
        if svc:
            svc.stop()
        env.db.client("-e", "DROP USER IF EXISTS %s, %s" % (SERVICE, ADMIN_USER), db=None)
        env.db.reset_demo()


def admin_commands(env, conf):
    """Every command of operate-node-admin once, in an order in which each
    can succeed; the first that fails, as (argv, stderr), else None."""
    admin = os.path.join(harness.BUILD, "operate-node-admin")
    token = []
    # a parked outbox row for outbox list and outbox retry
    env.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "body, request_id, created_time, parked_time, last_error) "
                "VALUES ('smtp', 'x', '', 'x', '[]', 'req-adm', "
                "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'unknown kind')")
    parked = str(env.db.scalar("SELECT MAX(id) FROM `opn$outbox` WHERE "
                               "request_id = 'req-adm'"))
    steps = [["outbox", "list"], ["outbox", "retry", parked], ["app", "add", "adm_app"], ["app", "disable", "adm_app"],
             ["app", "enable", "adm_app"], ["app", "list"], ["app", "rotate", "adm_app"],
             ["token", "issue", "adm_user"], None, ["grant", "adm_user", "1"],
             ["grant", "adm_user", "1"], ["grants"], ["grants", "--user", "adm_user"],
             ["revoke", "adm_user", "1"]]
    for argv in steps:
        if argv is None:
            argv = ["token", "revoke", token[0]]
        p = subprocess.run([admin, "-c", conf] + argv, capture_output=True, text=True)
        if p.returncode != 0:
            return argv, p.stderr
        if argv[:2] == ["token", "issue"]:
            token.append(p.stdout.strip())
    return None


def test_admin_account_needs_each_of_its_grants(env):
    """With the README's admin grants every command works; without any one
    privilege of them, some command fails: none is more than needed. The
    service's password file may be unreadable for the admin command: it
    reads only its own."""
    env.db.reset_demo()
    sql = readme_admin_grants(harness.DBNAME)
    privileges = []
    for m in re.finditer(r"GRANT ([A-Z, ]+) ON (\S+) TO", sql):
        privileges += [(p.strip(), m.group(2)) for p in m.group(1).split(",")]
    assert len(privileges) == 13, privileges
    env.db.client("-e", sql, db=None)
    admin_pw = secret_file(env, "admin-only.password", "pw-admin")
    conf = harness.pool_config(os.path.join(env.top, "admin-only.conf"),
                               db_socket=env.db.sock, db_name=harness.DBNAME,
                               db_password_file=os.path.join(env.top, "no-such-file"),
                               admin_db_user="operate_node_admin",
                               admin_db_password_file=admin_pw)
    def clean():
        env.db.exec("DELETE FROM `opn$app` WHERE app_code = 'adm_app'")
        env.db.exec("DELETE FROM `opn$grant` WHERE username = 'adm_user'")
        env.db.exec("DELETE FROM `opn$token` WHERE username = 'adm_user'")
        env.db.exec("DELETE FROM `opn$outbox` WHERE request_id = 'req-adm'")
    try:
        assert admin_commands(env, conf) is None
        clean()
        for priv, obj in privileges:
            env.db.client("-e", "REVOKE %s ON %s FROM %s" % (priv, obj, ADMIN_USER), db=None)
            try:
                failed = admin_commands(env, conf)
            finally:
                env.db.client("-e", "GRANT %s ON %s TO %s" % (priv, obj, ADMIN_USER),
                              db=None)
                clean()
            assert failed and "denied" in failed[1], (priv, obj, failed)
    finally:
        env.db.client("-e", "DROP USER IF EXISTS %s" % ADMIN_USER, db=None)
        env.db.reset_demo()
