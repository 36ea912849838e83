"""sql/load.sh keeps the service's tables and their rows, installs each
schema version's routines beside the previous version's (never taking away
what a running binary calls), carries their grants over, leaves the database
as it was when it refuses, and loads demo data over a database that holds
tasks only with --force."""
import os
import re
import shutil
import subprocess

import harness
import rows
from test_real_db import check_db, drop_database, fresh_database

LOAD = os.path.join(harness.ROOT, "sql", "load.sh")


def load(env, *args):
    return subprocess.run([LOAD] + list(args) + [harness.DBNAME, "-S", env.db.sock,
                                                 "-uroot"],
                          capture_output=True, text=True, timeout=120)


def routines(env, name):
    return env.db.scalar("SELECT COUNT(*) FROM information_schema.routines WHERE "
                         "routine_schema = %s AND routine_name = %s",
                         harness.DBNAME, name)


def test_keeps_data(env):
    env.db.reset_demo()
    env.db.exec("DROP PROCEDURE IF EXISTS " + harness.routine("opn_operate_node"))
    env.db.exec("INSERT INTO `opn$replay` VALUES ('demo_app', 'kept-1', 'retry', 12, "
                "'act_failed', UTC_TIMESTAMP(6))")
    before = env.db.snapshot()
    p = load(env)
    assert p.returncode == 0, p.stderr
    assert "checked: every table, column and routine" in p.stderr, p.stderr
    # every row of bk-sops' tables and of the service's own is still there
    assert harness.diff_snapshots(before, env.db.snapshot()) == []
    assert env.db.scalar("SELECT COUNT(*) FROM core_project") == 5
    # the procedure came back
    assert routines(env, harness.routine("opn_operate_node")) == 1


def test_demo_refuses_over_data(env):
    env.db.reset_demo()
    env.db.exec("UPDATE core_project SET name = 'mine' WHERE id = 1")
    p = load(env, "--demo")
    assert p.returncode == 1 and "--force" in p.stderr, p.stderr
    assert env.db.scalar("SELECT name FROM core_project WHERE id = 1") == "mine"


def test_force_reloads_the_demo(env):
    env.db.reset_demo()
    env.db.exec("UPDATE core_project SET name = 'mine' WHERE id = 1")
    env.db.exec("INSERT INTO operate_record_taskoperaterecord (operator, operate_type, "
                "operate_source, instance_id, project_id, operate_date, node_id, "
                "extra_info) VALUES ('x', 'retry', 'api', 12, 1, UTC_TIMESTAMP(6), "
                "'act_failed', '')")
    p = load(env, "--force", "--demo")
    assert p.returncode == 0, p.stderr
    assert "demo data loaded" in p.stderr, p.stderr
    assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 0
    assert env.db.scalar("SELECT name FROM core_project WHERE id = 1") == "demo cmdb biz 2"


def test_usage(env):
    p = subprocess.run([LOAD], capture_output=True, text=True)
    assert p.returncode == 2 and "usage" in p.stderr
    p = subprocess.run([LOAD, "--wipe", "x"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown option" in p.stderr


NEW_OUTBOX_COLUMNS = ["attempts", "next_attempt_time", "failing_since",
                      "last_error", "parked_time", "task_id"]


def outbox_columns(env):
    return [r["c"] for r in env.db.query(
        "SELECT column_name AS c FROM information_schema.columns WHERE "
        "table_schema = %s AND table_name = 'opn$outbox' ORDER BY "
        "ordinal_position", harness.DBNAME)]


def test_upgrades_the_outbox_in_place(env):
    """An opn$outbox of before issue 21 (no per-row fate columns) gets
    them, with its rows kept; a second run changes nothing."""
    env.db.exec("DELETE FROM `opn$outbox`")
    env.db.exec("ALTER TABLE `opn$outbox` " + ", ".join(
        "DROP COLUMN " + c for c in NEW_OUTBOX_COLUMNS))
    env.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "body, request_id, created_time) VALUES ('redis', 'ZREM', '', "
                "'k', '[]', 'req-kept', UTC_TIMESTAMP(6))")
    p = load(env)
    assert p.returncode == 0, p.stderr
    assert "opn$outbox upgraded in place" in p.stderr, p.stderr
    cols = outbox_columns(env)
    assert all(c in cols for c in NEW_OUTBOX_COLUMNS), cols
    assert env.db.scalar("SELECT attempts FROM `opn$outbox` WHERE "
                         "request_id = 'req-kept'") == 0
    p = load(env)
    assert p.returncode == 0 and "upgraded in place" not in p.stderr, p.stderr
    assert outbox_columns(env) == cols
    env.db.exec("DELETE FROM `opn$outbox`")


# Versions, refusals -------------------------------------------------------

V = harness.SCHEMA_VERSION


def sql_dir(env, version):
    """A copy of sql/ whose actions.sql is schema version `version`: the
    next release, as far as load.sh and the database can tell."""
    d = os.path.join(env.top, "sql-v%d" % version)
    if not os.path.isdir(d):
        shutil.copytree(os.path.join(harness.ROOT, "sql"), d)
        path = os.path.join(d, "actions.sql")
        with open(path) as f:
            text = f.read()
        text, n = re.subn(r"(CREATE FUNCTION opn_schema_version\(\).*?RETURN )\d+;",
                          r"\g<1>%d;" % version, text, count=1, flags=re.S)
        assert n == 1
        with open(path, "w") as f:
            f.write(text)
    return os.path.join(d, "load.sh")


def load_into(env, name, *args, script=LOAD):
    return subprocess.run([script] + list(args) + [name, "-S", env.db.sock, "-uroot"],
                          capture_output=True, text=True, timeout=120)


def own_objects(db):
    """The service's tables (with their rows) and routines (with their
    creation time): what a refused load must not have changed."""
    tables = {r["t"]: db.query("SELECT * FROM `%s` ORDER BY 1" % r["t"]) for r in db.query(
        "SELECT table_name AS t FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name LIKE 'opn$%%'")}
    routines = {(r["t"], r["n"]): r["c"] for r in db.query(
        "SELECT routine_type AS t, routine_name AS n, created AS c "
        "FROM information_schema.routines WHERE routine_schema = DATABASE()")}
    return tables, routines


def versions(db):
    return sorted({int(m.group(1)) if m else 2 for m in (
        re.search(r"_v(\d+)$", r["n"]) for r in db.query(
            "SELECT routine_name AS n FROM information_schema.routines "
            "WHERE routine_schema = DATABASE()"))})


def test_refusals_on_a_fresh_database_install_nothing(env):
    db = fresh_database(env, "ld_fresh")
    try:
        # a database that holds a task, and --demo without --force
        rows.engine_task(db)
        before = own_objects(db)
        p = load_into(env, db.name, "--demo")
        assert p.returncode == 1 and "--force" in p.stderr, p.stderr
        assert own_objects(db) == before == ({}, {})
        # bamboo's tables without a column the actions need: the final
        # check refuses, and what the run created is removed again
        db.exec("ALTER TABLE eri_schedule DROP COLUMN expired")
        p = load_into(env, db.name)
        assert p.returncode == 1, p.stderr
        assert "eri_schedule.expired: missing column" in p.stderr, p.stderr
        assert "nothing was installed" in p.stderr, p.stderr
        assert own_objects(db) == ({}, {}), own_objects(db)
    finally:
        drop_database(env, db)


def test_a_refused_upgrade_keeps_the_installed_version(env):
    db = fresh_database(env, "ld_upgrade")
    try:
        p = load_into(env, db.name, "--demo")
        assert p.returncode == 0, p.stderr
        db.exec("INSERT INTO `opn$replay` VALUES ('demo_app', 'kept-1', 'retry', 12, "
                "'act_failed', UTC_TIMESTAMP(6))")
        before = own_objects(db)
        # the next version needs a column this bk-sops lacks
        db.exec("ALTER TABLE eri_schedule DROP COLUMN expired")
        p = load_into(env, db.name, script=sql_dir(env, V + 1))
        assert p.returncode == 1 and "eri_schedule.expired" in p.stderr, p.stderr
        assert own_objects(db) == before
        assert versions(db) == [V]
    finally:
        drop_database(env, db)


def test_versions_side_by_side_and_their_grants(env):
    """Version 2 (no suffixes) is kept beside 3, 3 beside 4; 5 drops 3 and
    2. The service's account keeps EXECUTE on what it had, and gets it on
    the same routines of the new version. A run of an unchanged version
    changes nothing; an older load.sh refuses a newer database."""
    db = fresh_database(env, "ld_versions")
    user = "'ld_svc'@'localhost'"
    try:
        # version 2, as its load.sh left it: the routines without suffixes
        coll = db.scalar("SELECT collation_name FROM information_schema.columns WHERE "
                         "table_schema = DATABASE() AND table_name = 'eri_node' AND "
                         "column_name = 'node_id'")
        with open(os.path.join(harness.ROOT, "sql", "schema.sql"), "rb") as f:
            env.db.client(stdin=f.read(), db=db.name)
        with open(os.path.join(harness.ROOT, "sql", "actions.sql")) as f:
            v2 = re.sub(r"(CREATE FUNCTION opn_schema_version\(\).*?RETURN )\d+;",
                        r"\g<1>2;", f.read(), count=1, flags=re.S)
        env.db.client(stdin=v2.replace("@ID_COLLATE@", coll).encode(), db=db.name)
        env.db.exec("CREATE USER %s IDENTIFIED BY 'pw'" % user)
        for r in ("opn_operate_node", "opn_purge_replay", "opn_check"):
            env.db.exec("GRANT EXECUTE ON PROCEDURE `%s`.%s TO %s" % (db.name, r, user))
        assert versions(db) == [2]

        def can_run(name):
            c = harness.pymysql.connect(unix_socket=env.db.sock, user="ld_svc",
                                        password="pw", database=db.name)
            try:
                with c.cursor() as cur:
                    cur.execute("CALL %s()" % name)
                    cur.fetchall()
                return True
            except harness.pymysql.err.OperationalError as e:
                assert e.args[0] in (1370, 1305), e
                return False
            finally:
                c.close()

        assert can_run("opn_check") and not can_run("opn_check_v3")
        p = load_into(env, db.name, script=sql_dir(env, 3))
        assert p.returncode == 0, p.stderr
        assert versions(db) == [2, 3]
        assert can_run("opn_check") and can_run("opn_check_v3")
        # again: nothing changes, not even a routine's creation time
        before = own_objects(db)
        p = load_into(env, db.name, script=sql_dir(env, 3))
        assert p.returncode == 0 and "unchanged" in p.stderr, p.stderr
        assert own_objects(db) == before
        p = load_into(env, db.name, script=sql_dir(env, 4))
        assert p.returncode == 0, p.stderr
        assert versions(db) == [3, 4]
        assert can_run("opn_check_v3") and can_run("opn_check_v4")
        assert not can_run("opn_check")
        p = load_into(env, db.name, script=sql_dir(env, 5))
        assert p.returncode == 0, p.stderr
        assert versions(db) == [4, 5]
        assert can_run("opn_check_v4") and can_run("opn_check_v5")
        # this build runs there if its version is there, else it says why not
        conf = harness.pool_config(os.path.join(env.top, "ld_versions.conf"),
                                   db_socket=env.db.sock, db_user="root", db_name=db.name)
        rc, out = check_db(conf)
        if V in (4, 5):
            assert rc == 0, out
        else:
            assert rc != 0 and "the routines of schema version %d" % V in out, out
        # only EXECUTE, and only on what it had
        grants = env.db.query("SHOW GRANTS FOR %s" % user)
        text = " ".join(list(g.values())[0] for g in grants)
        assert "opn_operate_node_v5" in text and "opn_zrem" not in text, text
        # an older load.sh refuses, and changes nothing
        before = own_objects(db)
        p = load_into(env, db.name, script=sql_dir(env, 4))
        assert p.returncode == 1 and "newer" in p.stderr, p.stderr
        assert own_objects(db) == before
    finally:
        env.db.exec("DROP USER IF EXISTS %s" % user)
        drop_database(env, db)
