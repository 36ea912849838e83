"""An upgrade, and its rollback, under load, as the README's "Upgrading"
says: two pools of this release (schema version N) behind one nginx
upstream serve a stream of actions; the next release's sql/load.sh
(version N+1) runs, both pools reload (SIGHUP), then each is restarted in
turn on the next release's binary, then in turn on this one again. Every
reply must be a success, and every node applied once.

The next release is simulated: this source built for version N+1
(SCHEMA_VERSION), and a copy of sql/ whose actions.sql says N+1."""
import os
import signal
import subprocess
import time

import harness
from test_load_script import sql_dir
from test_reliability import CRED, Load, assert_consistent, seed_once

V = harness.SCHEMA_VERSION
# nginx leaves a pool that refused a connection out for fail_timeout (5s in
# upstream-pools.conf): the next pool is restarted only after that.
FAIL_TIMEOUT = 5


def build_next(env):
    """This source built for schema version V + 1, in the test's folder (an
    ASan run builds it with the sanitizers too)."""
    out = os.path.join(env.top, "build-v%d" % (V + 1))
    argv = ["make", "-s", "-j2", "-C", harness.ROOT, "B=" + out,
            "CC=cc -DSCHEMA_VERSION=%d" % (V + 1), out + "/operate-node"]
    if os.path.basename(harness.BUILD) == "build-san":
        argv.append("SANITIZE=address,undefined")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    binary = os.path.join(out, "operate-node")
    with open(binary, "rb") as f:
        assert b"CALL opn_operate_node_v%d(" % (V + 1) in f.read()
    return binary


class Front:
    """What Load posts to: nginx in front of the pools."""

    def __init__(self, nginx):
        self.nginx = nginx

    def post(self, path, body):
        return harness.http_request(self.nginx.port, "POST", path, body)


def restart(pool, binary):
    """systemctl restart of one pool, on binary: drain, stop, start."""
    pool.stop()
    pool.binary = binary
    pool.start()


def test_upgrade_and_rollback_under_load(env):
    env.db.reset_demo()
    old = os.path.join(harness.BUILD, "operate-node")
    new = build_next(env)
    load_next = sql_dir(env, V + 1)
    nodes = seed_once(env, 40000, "upg_")
    pools = [harness.Pool(env, name="upg-pool%d" % i, workers=2) for i in (1, 2)]
    nginx = None
    phases = []
    try:
        for p in pools:
            p.start()
        nginx = harness.Nginx(env, pools=pools, name="upg-nginx").start()
        load = Load(nodes, threads=8, svc=Front(nginx))

        def phase(name):
            with load.lock:
                phases.append((name, len(load.replies)))

        with load:
            time.sleep(1)
            phase("load.sh of version %d" % (V + 1))
            p = subprocess.run([load_next, harness.DBNAME, "-S", env.db.sock, "-uroot"],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            time.sleep(1)
            phase("reload (SIGHUP), one pool after the other")
            for pool in pools:
                os.kill(pool.proc.pid, signal.SIGHUP)
                time.sleep(1)
            phase("restart on binary %d, one pool after the other" % (V + 1))
            for pool in pools:
                restart(pool, new)
                time.sleep(FAIL_TIMEOUT + 1)
            phase("rollback: restart on binary %d" % V)
            for pool in pools:
                restart(pool, old)
                time.sleep(FAIL_TIMEOUT + 1)
            phase("end")
        bad = [(status, raw[:200]) for _, status, j, raw, _ in load.replies
               if status != 200 or not j or j.get("code") != 0]
        counts = ["%s: %d" % (name, n) for name, n in phases]
        assert len(load.replies) > 300 and load.nodes, counts
        assert bad == [], (len(bad), bad[:5], counts)
        assert_consistent(env, [r[0] for r in load.replies])
        # both versions' routines stayed; each pool ran without a schema error
        for pool in pools:
            errors = [l for l in pool.log_lines() if l.get("level") == "error"]
            assert errors == [], errors[:3]
    finally:
        if nginx:
            nginx.stop()
        for p in pools:
            p.stop()
        # back to this version alone (version N+1's routines go)
        for r in env.db.query("SELECT routine_type AS t, routine_name AS n FROM "
                              "information_schema.routines WHERE routine_schema = "
                              "DATABASE() AND routine_name LIKE %s", "%%_v%d" % (V + 1)):
            env.db.exec("DROP %s `%s`" % (r["t"], r["n"]))
