"""sql/load.sh keeps existing tables and their rows unless --force is given,
always reloads the procedures, and loads demo data over real data only
with --force."""
import os
import subprocess

import harness

LOAD = os.path.join(harness.ROOT, "sql", "load.sh")


def load(env, *args):
    return subprocess.run([LOAD] + list(args) + [harness.DBNAME, "-S", env.db.sock,
                                                 "-uroot"],
                          capture_output=True, text=True, timeout=120)


def test_keeps_data_without_force(env):
    env.db.reset_demo()
    env.db.exec("DROP PROCEDURE IF EXISTS operate_node")
    p = load(env)
    assert p.returncode == 0, p.stderr
    assert "kept (--force drops them)" in p.stderr
    assert env.db.scalar("SELECT COUNT(*) FROM project") == 5
    # the procedures came back
    assert env.db.scalar("SELECT COUNT(*) FROM information_schema.routines WHERE "
                         "routine_schema = %s AND routine_name = 'operate_node'",
                         harness.DBNAME) == 1


def test_demo_refuses_over_data(env):
    env.db.reset_demo()
    env.db.exec("UPDATE project SET name = 'mine' WHERE id = 1")
    p = load(env, "--demo")
    assert p.returncode == 1 and "--force" in p.stderr, p.stderr
    assert env.db.scalar("SELECT name FROM project WHERE id = 1") == "mine"


def test_force_recreates(env):
    env.db.reset_demo()
    p = load(env, "--force", "--demo")
    assert p.returncode == 0, p.stderr
    assert "dropping" in p.stderr
    assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 0
    assert env.db.scalar("SELECT name FROM project WHERE id = 1") != "mine"


def test_usage(env):
    p = subprocess.run([LOAD], capture_output=True, text=True)
    assert p.returncode == 2 and "usage" in p.stderr
    p = subprocess.run([LOAD, "--wipe", "x"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown option" in p.stderr
