"""The service on a real bk-sops database (issues 11, 12 and 14):

- sql/load.sh on bk-sops' tables as its migrations create them leaves every
  one of them as it was, twice in a row, and adds only opn$ tables and opn_
  routines; it refuses a database without bk-sops' tables; it upgrades an
  install of version 1, keeping its apps, tokens and grants;
- the README's install commands, run as written, retry a failed node;
- operate-node --check-db, and the replies while the schema is wrong;
- a database that timed out is 503 "nothing was applied";
- replays after the project was disabled, the grant revoked, the task
  deleted; replay ids are per app;
- mariadbd killed with SIGKILL under load: no reply says "nothing was
  applied" for an action that was applied.

Throwaway databases live next to the harness's own in the same server and
are dropped at the end of their test."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pymysql

import harness
import rows

LOAD = os.path.join(harness.ROOT, "sql", "load.sh")
BIN = os.path.join(harness.BUILD, "operate-node")
ADMIN = os.path.join(harness.BUILD, "operate-node-admin")
CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
OWN_TABLES = {"opn$app", "opn$token", "opn$grant", "opn$replay", "opn$outbox"}
SCHEMA_MSG = "the database lacks objects the service needs, see the service log"


class Db:
    """query/one/scalar/exec of harness.MariaDB on another database."""

    def __init__(self, env, name):
        self.name = name
        self.c = pymysql.connect(unix_socket=env.db.sock, user="root", database=name,
                                 autocommit=True, charset="utf8mb4")

    def conn(self):
        return self.c

    query = harness.MariaDB.query
    one = harness.MariaDB.one
    scalar = harness.MariaDB.scalar
    exec = harness.MariaDB.exec

    def close(self):
        self.c.close()


def client(env):
    return ["mariadb", "--no-defaults", "-S", env.db.sock, "-uroot"]


def fresh_database(env, name, bksops=True):
    """A new database as bk-sops' migrations leave it (the fixture DDL), or
    an empty one."""
    subprocess.run(client(env) + ["-e", "DROP DATABASE IF EXISTS `%s`; CREATE DATABASE "
                                  "`%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
                                  % (name, name)], check=True, capture_output=True)
    if bksops:
        with open(harness.BKSOPS_DDL, "rb") as f:
            subprocess.run(client(env) + [name], stdin=f, check=True, capture_output=True)
    return Db(env, name)


def drop_database(env, db):
    db.close()
    env.db.exec("DROP DATABASE IF EXISTS `%s`" % db.name)


def load_sh(env, name, *opts):
    return subprocess.run([LOAD] + list(opts) + [name, "-S", env.db.sock, "-uroot"],
                          capture_output=True, text=True, timeout=300)


def objects(db):
    """Every table (with its SHOW CREATE TABLE and a checksum of its rows),
    routine, trigger, view and event of the database."""
    tables = {}
    with db.conn().cursor() as c:
        c.execute("SELECT table_name, table_type FROM information_schema.tables "
                  "WHERE table_schema = DATABASE()")
        names = c.fetchall()
        for t, typ in names:
            c.execute("SHOW CREATE TABLE `%s`" % t)
            ddl = c.fetchone()[1]
            c.execute("CHECKSUM TABLE `%s`" % t)
            tables[t] = (typ, ddl, c.fetchone()[1])
        c.execute("SELECT routine_type, routine_name FROM information_schema.routines "
                  "WHERE routine_schema = DATABASE()")
        routines = sorted(c.fetchall())
        c.execute("SELECT trigger_name FROM information_schema.triggers "
                  "WHERE trigger_schema = DATABASE()")
        triggers = sorted(c.fetchall())
        c.execute("SELECT event_name FROM information_schema.events "
                  "WHERE event_schema = DATABASE()")
        events = sorted(c.fetchall())
    return tables, routines, triggers, events


# sql/load.sh on bk-sops' database ---------------------------------------------

def test_load_leaves_bksops_tables_alone(env):
    db = fresh_database(env, "rdb_install")
    try:
        rows.engine_task(db)        # and some rows in them
        tables0, routines0, triggers0, events0 = objects(db)
        assert len(tables0) >= 14 and routines0 == [] and triggers0 == []
        p = load_sh(env, db.name)
        assert p.returncode == 0, p.stderr
        tables1, routines1, triggers1, events1 = objects(db)
        p = load_sh(env, db.name)
        assert p.returncode == 0, p.stderr
        tables2, routines2, triggers2, events2 = objects(db)
        # every bk-sops table: the same definition and the same rows
        for t, (typ, ddl, checksum) in tables0.items():
            assert tables1[t] == (typ, ddl, checksum), t
            assert tables2[t] == (typ, ddl, checksum), t
        # what load.sh added: only the opn$ tables and opn_ routines
        added = set(tables1) - set(tables0)
        assert added == OWN_TABLES, added
        assert all(typ == "BASE TABLE" for typ, _, _ in (tables1[t] for t in added))
        assert routines1 and all(name.startswith("opn_") for _, name in routines1), routines1
        assert ("PROCEDURE", harness.routine("opn_operate_node")) in routines1
        assert (triggers1, events1) == ([], [])
        # the second run changed nothing at all
        assert (tables2, routines2, triggers2, events2) == \
            (tables1, routines1, triggers1, events1)
    finally:
        drop_database(env, db)


def test_load_refuses_a_database_without_bksops(env):
    db = fresh_database(env, "rdb_empty", bksops=False)
    try:
        p = load_sh(env, db.name)
        assert p.returncode == 1, (p.returncode, p.stderr)
        msg = p.stderr.strip()
        assert "rdb_empty has no eri_node,eri_state,taskflow3_taskflowinstance,core_project" \
            in msg, msg
        assert "bk-sops' database" in msg, msg
        assert len(msg.splitlines()) == 1, msg
        # and it left nothing behind
        assert objects(db) == ({}, [], [], [])
    finally:
        drop_database(env, db)


# Version 1's tables, as its sql/schema.sql created them (commit 2d03a5f).
V1_TABLES = """
CREATE TABLE app_account (
  app_code     varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  secret_hash  varchar(128) COLLATE utf8mb4_bin NOT NULL,
  is_trusted   tinyint(1)   NOT NULL DEFAULT 0,
  is_enabled   tinyint(1)   NOT NULL DEFAULT 1,
  PRIMARY KEY (app_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE user_token (
  token_hash   varchar(128) COLLATE utf8mb4_bin NOT NULL,
  username     varchar(128) COLLATE utf8mb4_bin NOT NULL,
  expires_at   datetime(6)  NOT NULL,
  PRIMARY KEY (token_hash),
  KEY ix_token_user (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE project_permission (
  project_id   bigint       NOT NULL,
  username     varchar(128) COLLATE utf8mb4_bin NOT NULL,
  action       varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (project_id, username, action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE PROCEDURE operate_node() SELECT 1;
CREATE PROCEDURE purge_request_replay() SELECT 1;
INSERT INTO app_account VALUES ('v1_app', 'sha256:aaaa', 1, 0);
INSERT INTO user_token VALUES ('sha256:bbbb', 'v1_user', '2099-01-01 00:00:00');
INSERT INTO project_permission VALUES (7, 'v1_user', 'task_operate');
"""


def test_upgrade_from_version_1(env):
    db = fresh_database(env, "rdb_v1")
    try:
        subprocess.run(client(env) + [db.name], input=V1_TABLES.encode(), check=True,
                       capture_output=True)
        for _ in range(2):      # and again: nothing is copied twice
            p = load_sh(env, db.name)
            assert p.returncode == 0, p.stderr
            assert "upgraded from version 1" in p.stderr, p.stderr
            assert db.query("SELECT * FROM `opn$app`") == [
                {"app_code": "v1_app", "secret_hash": "sha256:aaaa", "is_trusted": 1,
                 "is_enabled": 0}]
            tok = db.one("SELECT * FROM `opn$token`")
            assert (tok["token_hash"], tok["username"], str(tok["expires_at"])) == \
                ("sha256:bbbb", "v1_user", "2099-01-01 00:00:00")
            assert db.query("SELECT * FROM `opn$grant`") == [
                {"project_id": 7, "username": "v1_user", "action": "task_operate"}]
        # the old tables and their rows are left for the operator; the old
        # procedures are gone
        assert db.scalar("SELECT COUNT(*) FROM app_account") == 1
        assert db.scalar("SELECT COUNT(*) FROM information_schema.routines WHERE "
                         "routine_schema = DATABASE() AND routine_name IN "
                         "('operate_node', 'purge_request_replay')") == 0
    finally:
        drop_database(env, db)


# The README's commands -----------------------------------------------------------

def readme_commands():
    """The command lines of the README's "On an existing bk-sops database"
    section, in order, each as one string (the curl spans lines)."""
    text = open(os.path.join(harness.ROOT, "README.md")).read()
    m = re.search(r"^### On an existing bk-sops database.*?\n(.*?)^#", text, re.S | re.M)
    assert m, "README: no section 'On an existing bk-sops database'"
    block, cmds = [], []
    for line in m.group(1).splitlines():
        if line.startswith("    "):
            block.append(line[4:])
        elif block:
            break
    for line in block:
        if re.match(r"(sql/load\.sh|operate-node-admin|curl) ", line):
            cmds.append(line)
        else:
            cmds[-1] += "\n" + line
    return cmds


def test_readme_retry_on_a_bksops_database(env):
    """A bk-sops database with a task whose node failed; then exactly the
    README's three commands (sql/load.sh, operate-node-admin app add
    --trusted, curl), with only the host, the socket, the config file, the
    secret and the node filled in."""
    cmds = readme_commands()
    assert [c.split()[0] for c in cmds] == ["sql/load.sh", "operate-node-admin", "curl"], cmds
    load, add, curl = cmds
    # the comments after the first two
    load, add = [re.sub(r"\s{2,}#.*$", "", c) for c in (load, add)]
    name = load.split()[1]
    assert name == "bk_sops", load
    assert "--trusted" in add, add
    db = fresh_database(env, name)
    svc = None
    try:
        before = rows.engine_task(db, project=1, biz=2, task=12, node="n12failed")
        old = rows.state(db, "n12failed")
        conf = harness.pool_config(os.path.join(env.top, "readme.conf"),
                                   db_socket=env.db.sock, db_user="root", db_name=name)
        # 1: sql/load.sh, with this server's socket
        argv = ["sh", "-c", load.replace("sql/load.sh", LOAD, 1) + " -S " + env.db.sock]
        p = subprocess.run(argv, cwd=harness.ROOT, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, (load, p.stderr)
        # 2: the app, with this config file
        argv = ["sh", "-c", add.replace("operate-node-admin", "%s -c %s" % (ADMIN, conf), 1)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (add, p.stderr)
        secret = p.stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", secret), p.stdout
        # 3: curl through nginx
        svc = harness.Service(env, name="readme-pool", db_name=name)
        line = (curl.replace("http://host", "http://127.0.0.1:%d" % svc.nginx.port)
                .replace("<secret>", secret).replace("<node id>", "n12failed"))
        p = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (line, p.stderr)
        j = json.loads(p.stdout)
        assert (j["result"], j["code"], j["message"]) == (True, 0, "success"), j
        st = rows.state(db, "n12failed")
        assert st["name"] == "READY" and st["retry"] == old["retry"] + 1, st
        assert st["version"] != before and re.fullmatch(r"v[0-9a-f]{32}", st["version"])
        h = rows.history(db, "n12failed")
        assert len(h) == 1 and h[0]["version"] == before, h
        recs = db.query("SELECT * FROM operate_record_taskoperaterecord")
        assert len(recs) == 1, recs
        assert (recs[0]["operate_type"], recs[0]["node_id"], recs[0]["instance_id"],
                recs[0]["project_id"]) == ("retry", "n12failed", 12, 1), recs
    finally:
        if svc:
            svc.stop()
        drop_database(env, db)


# operate-node --check-db, and the replies while the schema is wrong ----------

def check_db(conf):
    p = subprocess.run([BIN, "--check-db", "-c", conf], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout + p.stderr


def schema_replies(svc, **body):
    """A request and /healthz while the schema is wrong."""
    r = svc.post("/operate_node/2/12/", dict(CRED, **(body or dict(node_id="act_failed",
                                                                   action="retry"))))
    assert r.status == 500, r
    assert (r.json["result"], r.json["code"], r.json["message"]) == \
        (False, 3599999, SCHEMA_MSG), r
    h = svc.status("/healthz")
    assert (h.status, h.json) == (500, {"status": "schema"}), h


def test_check_db_and_a_dropped_column(env):
    db = fresh_database(env, "rdb_col")
    svc = None
    try:
        assert load_sh(env, db.name, "--demo").returncode == 0
        conf = harness.pool_config(os.path.join(env.top, "rdb_col.conf"),
                                   db_socket=env.db.sock, db_user="root", db_name=db.name)
        rc, out = check_db(conf)
        assert rc == 0, out
        db.exec("ALTER TABLE eri_state DROP COLUMN inner_loop")
        rc, out = check_db(conf)
        assert rc == 1, out
        assert "eri_state.inner_loop: missing column" in out, out
        # one worker: every request below meets the same worker
        svc = harness.Service(env, name="rdb-col-pool", db_name=db.name, workers=1)
        # before any action: the worker knows what --check-db knows
        first = svc.status("/healthz")
        # an action whose statement needs the column (pause by appointment
        # writes a new eri_state row): 500, never "database unavailable"
        before = rows.state_name(db, "act_failed")
        schema_replies(svc, node_id="act_not_reached", action="pause")
        assert db.query("SELECT * FROM eri_state WHERE node_id = 'act_not_reached'") == []
        # and while it is wrong, every action: also one that would not touch it
        schema_replies(svc)
        assert rows.state_name(db, "act_failed") == before == "FAILED"
        lines = svc.pool.log_lines()
        errors = [l for l in lines if l.get("level") == "error" and "inner_loop" in l["msg"]]
        assert errors, lines[-5:]
        assert not [l for l in lines if "unavailable" in json.dumps(l)], lines[-5:]
        assert (first.status, first.json) == (500, {"status": "schema"}), \
            ("/healthz before any action, with eri_state.inner_loop missing", first)
    finally:
        if svc:
            svc.stop()
        drop_database(env, db)


def test_check_db_and_a_dropped_procedure_heals_after_load(env):
    db = fresh_database(env, "rdb_proc")
    svc = None
    try:
        assert load_sh(env, db.name, "--demo").returncode == 0
        conf = harness.pool_config(os.path.join(env.top, "rdb_proc.conf"),
                                   db_socket=env.db.sock, db_user="root", db_name=db.name)
        db.exec("DROP PROCEDURE " + harness.routine("opn_operate_node"))
        rc, out = check_db(conf)
        assert rc == 1, out
        assert harness.routine("opn_operate_node") in out and "missing routine" in out, out
        svc = harness.Service(env, name="rdb-proc-pool", db_name=db.name, workers=1)
        schema_replies(svc)
        # sql/load.sh puts it back; the check passes, and the worker heals
        # by itself (it checks again within a minute)
        p = load_sh(env, db.name)
        assert p.returncode == 0, p.stderr
        rc, out = check_db(conf)
        assert rc == 0, out
        t0 = time.monotonic()
        harness.wait_for(lambda: svc.status("/healthz").status == 200, 75,
                         "/healthz to say ok again")
        # the worker checks again on its own cadence (5 s), which any of
        # the status processes may have run ahead of
        replies = []

        def applied():
            replies.append(svc.post("/operate_node/2/12/",
                                    dict(CRED, node_id="act_failed", action="retry")))
            return replies[-1].status == 200
        harness.wait_for(applied, 12, "the worker to heal")
        r = replies[-1]
        assert r.status == 200 and r.json["code"] == 0, r
        assert rows.state_name(db, "act_failed") == "READY"
        print("     healed %.0fs after sql/load.sh" % (time.monotonic() - t0))
    finally:
        if svc:
            svc.stop()
        drop_database(env, db)


# A database that timed out (issue 12 item 5) ------------------------------------

def test_lock_wait_retries_run_out(env):
    """The task row held longer than every attempt waits: 503, 3555000,
    "database timed out, nothing was applied"; nothing changed."""
    env.db.reset_demo()
    old = env.db.scalar("SELECT @@GLOBAL.innodb_lock_wait_timeout")
    env.db.exec("SET GLOBAL innodb_lock_wait_timeout = 1")
    pool = nginx = None
    c = pymysql.connect(unix_socket=env.db.sock, user="root", database=harness.DBNAME)
    try:
        # started after the change: its connection takes the new global value
        pool = harness.Pool(env, name="timeout-pool", workers=1).start()
        nginx = harness.Nginx(env, pool, name="timeout-nginx").start()
        with c.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM taskflow3_taskflowinstance WHERE id = 12 FOR UPDATE")
        before = env.db.snapshot()
        r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_failed", action="retry"))
        assert r.status == 503, r
        assert (r.json["result"], r.json["code"], r.json["message"]) == \
            (False, 3555000, "database timed out, nothing was applied"), r
        c.rollback()
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
        retries = [l for l in pool.log_lines() if "after 1205" in l.get("msg", "")]
        assert len(retries) >= 3, pool.log_lines()[-6:]
        # released: the same request now applies
        r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_failed", action="retry"))
        assert r.status == 200 and r.json["code"] == 0, r
    finally:
        c.close()
        env.db.exec("SET GLOBAL innodb_lock_wait_timeout = %d" % old)
        if nginx:
            nginx.stop()
        if pool:
            pool.stop()


# The commit fails: 1180, what a Galera node answers when it leaves the primary
# component while the action replicates ("Got error 6 during COMMIT"). The
# procedure rolled back, so the pool runs the action again. A trigger on the
# outbox raises it for the first n inserts (its counter is a MEMORY table,
# which the rollback does not undo).
FAIL_COMMITS = [
    "CREATE TABLE t_fail_commits (n INT NOT NULL) ENGINE=MEMORY",
    "CREATE TRIGGER t_fail_commit BEFORE INSERT ON `opn$outbox` FOR EACH ROW "
    "BEGIN IF (SELECT n FROM t_fail_commits) > 0 THEN "
    "UPDATE t_fail_commits SET n = n - 1; "
    "SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1180, "
    "MESSAGE_TEXT = 'Got error 6 \"No such device or address\" during COMMIT'; "
    "END IF; END"]


def test_failed_commit_is_retried(env):
    """One failed commit: the action runs again and succeeds, applied once.
    A commit that keeps failing: 503, 3555000, "database could not commit,
    nothing was applied", and nothing changed."""
    env.db.reset_demo()
    pool = nginx = None
    try:
        for sql in FAIL_COMMITS:
            env.db.exec(sql)
        env.db.exec("INSERT INTO t_fail_commits VALUES (1)")
        pool = harness.Pool(env, name="commit-pool", workers=1).start()
        nginx = harness.Nginx(env, pool, name="commit-nginx").start()
        r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_failed", action="retry"))
        assert r.status == 200 and r.json["code"] == 0, r
        assert len(rows.records(env.db, "act_failed")) == 1
        assert env.db.scalar("SELECT n FROM t_fail_commits") == 0
        assert [l for l in pool.log_lines() if "retry 1 after 1180" in l.get("msg", "")], \
            pool.log_lines()[-4:]

        env.db.exec("UPDATE t_fail_commits SET n = 100")
        before = env.db.snapshot()
        r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_two_out", action="retry"))
        assert r.status == 503, r
        assert (r.json["result"], r.json["code"], r.json["message"]) == \
            (False, 3555000, "database could not commit, nothing was applied"), r
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
        assert env.db.scalar("SELECT n FROM t_fail_commits") == 96    # four attempts
    finally:
        env.db.exec("DROP TRIGGER IF EXISTS t_fail_commit")
        env.db.exec("DROP TABLE IF EXISTS t_fail_commits")
        if nginx:
            nginx.stop()
        if pool:
            pool.stop()


# Replays (issue 12 item 9, issue 14 item 4) --------------------------------------

def post(svc, rid, app="demo_app", secret="demo-app-secret", **body):
    b = dict(CRED, bk_app_code=app, bk_app_secret=secret)
    b.update(body)
    return svc.post("/operate_node/2/12/", b, {"X-Request-Id": rid})


def answer(r):
    assert r.status == 200, r
    return r.json["code"], r.json["message"]


def test_replay_after_refusal_conditions(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="replay-pool")
    try:
        body = dict(node_id="act_failed", action="retry")
        assert answer(post(svc, "rp-1", **body)) == (0, "success")
        applied = env.db.snapshot()
        # the project disabled: refused, as a new request would be
        env.db.exec("UPDATE core_project SET is_disable = 1 WHERE id = 1")
        assert answer(post(svc, "rp-1", **body)) == (3545000, "project(1) is disabled")
        env.db.exec("UPDATE core_project SET is_disable = 0 WHERE id = 1")
        # the grant revoked: refused
        env.db.exec("DELETE FROM `opn$grant` WHERE username = 'admin' AND project_id = 1")
        assert answer(post(svc, "rp-1", **body)) == \
            (3540100, "permission denied: task_operate on project(1)")
        env.db.exec("INSERT INTO `opn$grant` VALUES (1, 'admin', 'task_operate')")
        assert harness.diff_snapshots(applied, env.db.snapshot()) == []
        # the task deleted: the first outcome, nothing applied again
        env.db.exec("UPDATE taskflow3_taskflowinstance SET is_deleted = 1 WHERE id = 12")
        deleted = env.db.snapshot()
        assert answer(post(svc, "rp-1", **body)) == (0, "success")
        assert harness.diff_snapshots(deleted, env.db.snapshot()) == []
        # ... which a new request id does not get
        assert answer(post(svc, "rp-2", **body)) == \
            (3540400, "task[id=12] of project[id=1] does not exist")
    finally:
        svc.stop()


def test_request_ids_are_per_app(env):
    """demo_app and trusted_app send the same request id for different
    nodes: both are applied. The same app with that id on another node is
    still refused."""
    env.db.reset_demo()
    svc = harness.Service(env, name="perapp-pool")
    try:
        assert answer(post(svc, "shared-1", node_id="act_failed", action="retry")) == \
            (0, "success")
        assert answer(post(svc, "shared-1", app="trusted_app", secret="trusted-app-secret",
                           node_id="act_two_out", action="retry")) == (0, "success")
        assert rows.state_name(env.db, "act_failed") == "READY"
        assert rows.state_name(env.db, "act_two_out") == "READY"
        got = {(r["app_code"], r["node_id"]) for r in env.db.query(
            "SELECT * FROM `opn$replay` WHERE request_id = 'shared-1'")}
        assert got == {("demo_app", "act_failed"), ("trusted_app", "act_two_out")}, got
        assert len(rows.records(env.db)) == 2
        before = env.db.snapshot()
        assert answer(post(svc, "shared-1", node_id="act_no_out", action="retry")) == \
            (3540000, "request_id(shared-1) was already used for another operation")
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
    finally:
        svc.stop()


# mariadbd killed under load (issue 14 item 2) ------------------------------------

KILL_DB_ROUNDS = int(os.environ.get("KILL_DB_ROUNDS", "6"))
NOTHING = ("database unavailable, nothing was applied",
           "database timed out, nothing was applied")
UNKNOWN = ("database unreachable during the action: its outcome is unknown; "
           "send it again with the same request id")


def kill_db(env):
    os.kill(env.db.proc.pid, signal.SIGKILL)
    env.db.proc.wait()
    harness.Procs.live.remove(env.db.proc)
    env.db.proc = None
    env.db._conn = None


def test_mariadbd_killed_under_load(env):
    env.db.reset_demo()
    failed = rows.seed(env.db, "failed", 20000, "dbk_")
    svc = harness.Service(env, name="dbkill-pool", workers=4)
    lock = threading.Lock()
    work = [(n, "retry" if i % 2 else "skip") for i, n in enumerate(failed)]
    replies = []            # (request id, node, action, status, json)
    stop = []

    def client(k):
        i = 0
        while not stop:
            with lock:
                if not work:
                    return
                node, action = work.pop()
            rid = "dbk-%d-%d" % (k, i)
            i += 1
            try:
                r = svc.post("/operate_node/2/12/", dict(CRED, node_id=node, action=action),
                             {"X-Request-Id": rid})
                item = (rid, node, action, r.status, r.json)
            except Exception as e:  # noqa: BLE001
                item = (rid, node, action, "error", {"error": repr(e)})
            with lock:
                replies.append(item)
            if item[3] != 200:
                time.sleep(0.05)    # a client backs off a little

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    kills = 0
    try:
        for _ in range(KILL_DB_ROUNDS):
            time.sleep(1.5)
            kill_db(env)
            kills += 1
            time.sleep(0.5)
            env.db.start()
        time.sleep(2)
    finally:
        stop.append(1)
        for t in threads:
            t.join(60)
        svc.stop()
        if env.db.proc is None:
            env.db.start()
    applied = {r["request_id"]: (r["node_id"], r["action"]) for r in env.db.query(
        "SELECT * FROM `opn$replay` WHERE app_code = 'demo_app' AND request_id LIKE 'dbk-%%'")}
    states = {r["node_id"]: r["name"] for r in env.db.query(
        "SELECT node_id, name FROM eri_state WHERE node_id LIKE 'dbk\\_%%'")}
    counts = {"success": 0, "nothing applied": 0, "outcome unknown": 0,
              "unknown, applied": 0}
    bad = []
    for rid, node, action, status, j in replies:
        done = {"retry": "READY", "skip": "FINISHED"}[action]
        # the rows agree with each other: a replay row iff the node moved
        if (rid in applied) != (states[node] == done):
            bad.append(("rows disagree", rid, node, states[node]))
        if applied.get(rid, (node, action)) != (node, action):
            bad.append(("replay row of another node", rid, applied[rid]))
        code = j and j.get("code")
        msg = j and j.get("message")
        if status == 200 and code == 0:
            counts["success"] += 1
            if rid not in applied:
                bad.append(("success, not applied", rid, node))
        elif status == 503 and code == 3555000 and msg in NOTHING:
            counts["nothing applied"] += 1
            if rid in applied:
                bad.append(("'nothing was applied', but applied", rid, node))
        elif status == 503 and code == 3555000 and msg == UNKNOWN:
            counts["outcome unknown"] += 1
            if rid in applied:
                counts["unknown, applied"] += 1
        else:
            bad.append(("unexpected reply", rid, status, j))
    print("     %d kills of mariadbd, %d replies: %s" % (
        kills, len(replies), ", ".join("%s %d" % kv for kv in counts.items())))
    assert not bad, bad[:10]
    assert work, "ran out of nodes: seed more"
    assert counts["success"] > 100, counts
    assert counts["nothing applied"] + counts["outcome unknown"] > 0, counts
    # every node applied at most once, with all its rows
    done = [n for n, _ in applied.values()]
    assert len(done) == len(set(done))
    for node in done[:200]:
        assert len(rows.history(env.db, node)) == 1, node
        assert len(rows.records(env.db, node)) == 1, node
