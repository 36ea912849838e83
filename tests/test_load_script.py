"""sql/load.sh keeps the service's tables and their rows, always reloads
the procedures, and loads demo data over a database that holds tasks only
with --force."""
import os
import subprocess

import harness

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
    env.db.exec("DROP PROCEDURE IF EXISTS opn_operate_node")
    env.db.exec("INSERT INTO `opn$replay` VALUES ('demo_app', 'kept-1', 'retry', 12, "
                "'act_failed', UTC_TIMESTAMP(6))")
    before = env.db.snapshot()
    p = load(env)
    assert p.returncode == 0, p.stderr
    assert "checked: every table, column and procedure" in p.stderr, p.stderr
    # every row of bk-sops' tables and of the service's own is still there
    assert harness.diff_snapshots(before, env.db.snapshot()) == []
    assert env.db.scalar("SELECT COUNT(*) FROM core_project") == 5
    # the procedure came back
    assert routines(env, "opn_operate_node") == 1


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
