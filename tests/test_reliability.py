"""Reliability, end to end with real processes: races on one node, workers
killed under load, the database restarted under load, drain and reload,
recycling, a crafted FastCGI record, a master that dies. Traffic goes only
to loopback. Sizes come from the environment so that `make` targets can run
the long variants (RACE_ROUNDS, KILL_SECONDS)."""
import json
import os
import signal
import socket
import struct
import threading
import time

import harness
import rows

RACE_ROUNDS = int(os.environ.get("RACE_ROUNDS", "200"))
RACE_CLIENTS = 50
KILL_SECONDS = float(os.environ.get("KILL_SECONDS", "30"))

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
SVC = None


def setup_module(env):
    global SVC
    env.db.reset_demo()
    SVC = harness.Service(env, name="rel-pool", workers=4)


def teardown_module(env):
    if SVC:
        SVC.stop()


# Seeding: many nodes in task 12, each ready for one action ---------------

def seed(env, kind, n, prefix):
    """n nodes of task 12 (root pipe12) ready for one action each; returns
    their ids. kind: failed (retry/skip), exg (skip_exg), wait (callback)."""
    return rows.seed(env.db, kind, n, prefix)


def seed_once(env, n, prefix):
    """n failed nodes (seed) in one transaction: its single-row inserts are
    committed once, not one by one (0.5 ms a node instead of 2 ms)."""
    c = env.db.conn()
    c.autocommit(False)
    try:
        ids = seed(env, "failed", n, prefix)
        c.commit()
    except BaseException:
        c.rollback()
        raise
    finally:
        c.autocommit(True)
    return ids


def counts(env, node):
    """history rows, outbox rows of the requests on it, operate records,
    callback data rows."""
    q = env.db.scalar
    return (len(rows.history(env.db, node)),
            rows.per_request_outbox(env.db, node),
            len(rows.records(env.db, node)),
            q("SELECT COUNT(*) FROM eri_callbackdata WHERE node_id=%s", node))


# Races -------------------------------------------------------------------

def race(env, action, kind, extra):
    env.db.reset_demo()
    nodes = seed(env, kind, RACE_ROUNDS, "race_%s_" % action)
    barrier = threading.Barrier(RACE_CLIENTS + 1)
    results = [None] * RACE_CLIENTS
    stop = []

    def client(k):
        while True:
            barrier.wait()
            if stop:
                return
            node = current[0]
            body = dict(CRED, node_id=node, action=action, **extra(node))
            try:
                r = SVC.post("/operate_node/2/12/", body)
                results[k] = (r.status, r.json and r.json["code"], r.json and r.json["message"])
            except Exception as e:  # noqa: BLE001
                results[k] = ("error", repr(e), "")
            barrier.wait()

    current = [None]
    threads = [threading.Thread(target=client, args=(k,)) for k in range(RACE_CLIENTS)]
    for t in threads:
        t.start()
    try:
        for node in nodes:
            current[0] = node
            barrier.wait()      # go
            barrier.wait()      # all answered
            wins = [r for r in results if r[:2] == (200, 0)]
            losses = [r for r in results if r[:2] == (200, 3545000)]
            history, outbox, records, callbacks = counts(env, node)
            # outbox: the engine message, and for skip and skip_exg the
            # ZREM that takes the node out of bk-sops' timeout pool
            if action == "callback":
                # every callback on a waiting node is accepted and stored
                # (the engine drops what comes too late), each exactly once
                assert len(wins) == RACE_CLIENTS, (node, results)
                n = RACE_CLIENTS
                assert (history, outbox, records, callbacks) == (0, n, n, n), node
                continue
            assert len(wins) == 1 and len(losses) == RACE_CLIENTS - 1, (node, results)
            if action in ("skip", "skip_exg"):
                assert (history, outbox, records) == (1, 2, 1), node
            else:
                assert (history, outbox, records) == (1, 1, 1), node
    finally:
        stop.append(1)
        barrier.wait()
        for t in threads:
            t.join()


def test_race_retry(env):
    race(env, "retry", "failed", lambda n: {})


def test_race_skip(env):
    race(env, "skip", "failed", lambda n: {})


def test_race_skip_exg(env):
    race(env, "skip_exg", "exg", lambda n: {"flow_id": "fb_" + n})


def test_race_callback(env):
    race(env, "callback", "wait", lambda n: {"data": {"n": n}})


# Load with faults --------------------------------------------------------

class Load:
    """Threads sending retry requests, each to its own failed node, and
    recording every reply."""

    def __init__(self, nodes, threads=8, svc=None):
        self.nodes = list(nodes)
        self.lock = threading.Lock()
        self.replies = []       # (node, status, json or None, raw, when)
        self.stop = False
        self.svc = svc or SVC
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def next_node(self):
        with self.lock:
            return self.nodes.pop() if self.nodes and not self.stop else None

    def run(self):
        while True:
            node = self.next_node()
            if node is None:
                return
            item = self.send(node)
            with self.lock:
                self.replies.append(item)

    def send(self, node):
        """One request for node; returns what replies records."""
        try:
            r = self.svc.post("/operate_node/2/12/",
                              dict(CRED, node_id=node, action="retry"))
            return (node, r.status, r.json, r.raw, time.monotonic())
        except Exception as e:  # noqa: BLE001
            return (node, "error", None, repr(e).encode(), time.monotonic())

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        for t in self.threads:
            t.join()


def assert_consistent(env, nodes):
    """Every node is untouched or fully applied: state, history, outbox and
    record agree (one query per table for the whole set)."""
    nodes = sorted(set(nodes))
    if not nodes:
        return
    marks = ",".join(["%s"] * len(nodes))
    def per_node(sql):
        return {r["n"]: r["c"] for r in env.db.query(sql % marks, *nodes)}
    states = {r["node_id"]: r["name"] for r in env.db.query(
        "SELECT node_id, name FROM eri_state WHERE node_id IN (%s)" % marks, *nodes)}
    hist = per_node("SELECT node_id n, COUNT(*) c FROM eri_executionhistory "
                    "WHERE node_id IN (%s) GROUP BY node_id")
    outbox = per_node("SELECT p.node_id n, COUNT(*) c FROM `opn$outbox` o JOIN "
                      "`opn$replay` p ON p.request_id = o.request_id "
                      "WHERE p.node_id IN (%s) GROUP BY p.node_id")
    recs = per_node("SELECT node_id n, COUNT(*) c FROM operate_record_taskoperaterecord "
                    "WHERE node_id IN (%s) GROUP BY node_id")
    for node in nodes:
        got = (states.get(node), hist.get(node, 0), outbox.get(node, 0), recs.get(node, 0))
        assert got in (("FAILED", 0, 0, 0), ("READY", 1, 1, 1)), (node, got)


def wait_full(pool, n, timeout=1.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(pool.workers()) == n:
            return True
        time.sleep(0.02)
    return len(pool.workers()) == n


def test_worker_kills_under_load(env):
    env.db.reset_demo()
    nodes = seed(env, "failed", 60000, "kill_")
    kills = 0
    slow_refills = 0
    with Load(nodes) as load:
        end = time.monotonic() + KILL_SECONDS
        while time.monotonic() < end:
            time.sleep(0.2)
            ws = SVC.pool.workers()
            if ws:
                os.kill(ws[kills % len(ws)], signal.SIGKILL)
                kills += 1
            if not wait_full(SVC.pool, 4, 1.0):
                slow_refills += 1
    assert kills >= KILL_SECONDS * 3, kills
    assert slow_refills == 0, slow_refills
    ok = 0
    for node, status, j, raw, _ in load.replies:
        if status == 502:
            continue
        # each node is asked once: every complete reply is a success
        assert status == 200 and j is not None and j["code"] == 0, (node, status, raw[:200])
        ok += 1
    succeeded = {r[0] for r in load.replies if r[2] and r[2]["code"] == 0}
    applied = {r["node_id"] for r in env.db.query(
        "SELECT node_id FROM eri_state WHERE node_id LIKE 'kill\\_%%' AND name = 'READY'")}
    assert succeeded <= applied, succeeded - applied
    assert ok > 100, ok
    assert_consistent(env, [r[0] for r in load.replies])
    print("     worker kills: %d kills, %d replies, %d successes, %d x 502"
          % (kills, len(load.replies), ok,
             sum(1 for r in load.replies if r[1] == 502)))
    restarts = [l for l in SVC.pool.log_lines() if "killed by signal 9" in l.get("msg", "")]
    assert len(restarts) >= kills - 1


def test_database_restart_under_load(env):
    env.db.reset_demo()
    nodes = seed(env, "failed", 20000, "dbr_")
    with Load(nodes, threads=4) as load:
        time.sleep(1.0)
        env.db.stop()
        down_at = time.monotonic()
        time.sleep(2.0)
        env.db.start()
        up_at = time.monotonic()
        first_ok = None
        while first_ok is None and time.monotonic() < up_at + 5:
            time.sleep(0.02)
            with load.lock:
                oks = [r[4] for r in load.replies if r[4] > up_at and r[2]
                       and r[2]["code"] == 0]
            first_ok = min(oks) if oks else None
    assert first_ok is not None and first_ok - up_at < 2.0, first_ok
    outage = [r for r in load.replies if down_at + 0.2 < r[4] < up_at]
    assert outage, "no request saw the outage"
    for node, status, j, raw, _ in outage:
        assert status == 503 and j["code"] == 3555000, (status, raw[:200])
        assert j["message"] == "database unavailable, nothing was applied"
    for node, status, j, raw, _ in load.replies:
        assert (status, j and j["code"]) in ((200, 0), (503, 3555000)), (status, raw[:200])
    assert_consistent(env, [r[0] for r in load.replies])
    print("     db restart: outage %.1fs, %d replies during it, successes again "
          "%.2fs after restart" % (up_at - down_at, len(outage), first_ok - up_at))


def test_drain_finishes_in_flight(env):
    """SIGTERM while a request waits on a row lock: it still completes."""
    env.db.reset_demo()
    pool = harness.Pool(env, name="drain-pool", workers=2)
    pool.start()
    nginx = harness.Nginx(env, pool, name="drain-nginx").start()
    blocker = env.db.conn()
    import pymysql
    c = pymysql.connect(unix_socket=env.db.sock, user="root", database=harness.DBNAME)
    try:
        with c.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM taskflow3_taskflowinstance WHERE id = 12 FOR UPDATE")
        out = {}

        def slow():
            out["r"] = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                            dict(CRED, node_id="act_failed", action="retry"))
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        os.kill(pool.proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        assert pool.proc.poll() is None   # still draining
        c.rollback()
        t.join(20)
        r = out["r"]
        assert r.status == 200 and r.json["code"] == 0, r
        pool.proc.wait(10)
        assert pool.proc.returncode == 0
        assert not os.path.exists(pool.sock)
    finally:
        c.close()
        nginx.stop()
        pool.stop()
    del blocker


def test_drain_serves_the_backlog(env):
    """SIGTERM with requests queued behind a busy worker: the queued ones
    are served too (the master removes the socket's path, so nothing new
    arrives, and the workers empty the backlog before they exit)."""
    env.db.reset_demo()
    nodes = seed(env, "failed", 6, "bl_")
    pool = harness.Pool(env, name="backlog-pool", workers=1).start()
    nginx = harness.Nginx(env, pool, name="backlog-nginx").start()
    import pymysql
    c = pymysql.connect(unix_socket=env.db.sock, user="root", database=harness.DBNAME)
    out = {}
    try:
        with c.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM taskflow3_taskflowinstance WHERE id = 12 FOR UPDATE")

        def one(node):
            out[node] = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                             dict(CRED, node_id=node, action="retry"))
        threads = [threading.Thread(target=one, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
            time.sleep(0.1)
        os.kill(pool.proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        c.rollback()
        for t in threads:
            t.join(20)
        for node in nodes:
            r = out[node]
            assert r.status == 200 and r.json["code"] == 0, (node, r)
        pool.proc.wait(10)
        assert pool.proc.returncode == 0
        # after the drain, nothing is listening
        r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_failed", action="retry"))
        assert r.status == 502, r
    finally:
        c.close()
        nginx.stop()
        pool.stop()
    assert_consistent(env, nodes)


def test_reload_under_load_fails_nothing(env):
    env.db.reset_demo()
    nodes = seed(env, "failed", 20000, "hup_")
    with Load(nodes, threads=6) as load:
        for _ in range(10):
            time.sleep(0.3)
            os.kill(SVC.pool.proc.pid, signal.SIGHUP)
        time.sleep(0.5)
    assert len(load.replies) > 200
    for node, status, j, raw, _ in load.replies:
        assert status == 200 and j["code"] == 0, (status, raw[:200])
    assert wait_full(SVC.pool, 4, 5)
    assert_consistent(env, [r[0] for r in load.replies])


def test_recycling_after_max_requests(env):
    env.db.reset_demo()
    pool = harness.Pool(env, name="recycle-pool", workers=2, max_requests=25).start()
    nginx = harness.Nginx(env, pool, name="recycle-nginx").start()
    try:
        first = set(pool.workers())
        for _ in range(150):
            r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                     dict(CRED, node_id="no_such_node", action="skip"))
            assert r.json["code"] == 3540400, r
        assert wait_full(pool, 2, 2)
        assert not (first & set(pool.workers()))
        m = nginx.status("/metrics").raw.decode()
        line = [l for l in m.splitlines() if l.startswith("operate_node_worker_recycled_total")][0]
        assert int(line.split()[1]) >= 4, line
    finally:
        nginx.stop()
        pool.stop()


def fcgi_record(rtype, content, rid=1):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), 0, 0) + content


def crafted(sock_path):
    """A params record whose name length makes libfcgi 2.4.2 abort."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(fcgi_record(1, struct.pack(">HB5x", 1, 0)) +
              fcgi_record(4, b"\xff\xff\xff\xfe\x00" + b"A" * 64))
    s.settimeout(5)
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()


def test_crafted_records_are_refused_under_load(env):
    env.db.reset_demo()
    nodes = seed(env, "failed", 5000, "crf_")
    with Load(nodes, threads=4) as load:
        for _ in range(20):
            crafted(SVC.pool.sock)
            time.sleep(0.1)
        time.sleep(0.3)
    m = SVC.status("/metrics").raw.decode()
    # refused before libfcgi reads them (max_params_bytes), so no worker
    # dies at all (before issue 22: each aborted one worker)
    refused = [l for l in m.splitlines() if l.startswith("operate_node_params_too_large_total ")]
    assert int(refused[0].split()[1]) >= 20, refused
    aborts = [l for l in m.splitlines() if l.startswith("operate_node_worker_aborts_total ")]
    assert int(aborts[0].split()[1]) == 0, aborts
    assert wait_full(SVC.pool, 4, 1)
    assert len(load.replies) > 20
    for node, status, j, raw, _ in load.replies:
        assert status == 200 and j["code"] == 0, (status, raw[:200])


def test_workers_die_with_the_master(env):
    pool = harness.Pool(env, name="orphan-pool", workers=3).start()
    assert wait_full(pool, 3, 2)
    ws = pool.workers()
    os.kill(pool.proc.pid, signal.SIGKILL)
    pool.proc.wait()
    end = time.monotonic() + 3
    alive = ws
    while alive and time.monotonic() < end:
        alive = [w for w in ws if os.path.exists("/proc/%d" % w)
                 and "zombie" not in open("/proc/%d/status" % w).read()]
        time.sleep(0.05)
    assert not alive, alive
    harness.Procs.live.remove(pool.proc) if pool.proc in harness.Procs.live else None
    pool.proc = None


def test_replay_through_nginx(env):
    """The same X-Request-Id twice: applied once, both replies success; the
    same id for another node: refused."""
    env.db.reset_demo()
    h = {"X-Bkapi-Request-Id": "replay-1"}
    b = dict(CRED, node_id="act_failed", action="retry")
    r1 = SVC.post("/operate_node/2/12/", b, h)
    r2 = SVC.post("/operate_node/2/12/", b, h)
    assert r1.json["code"] == 0 and r2.json["code"] == 0, (r1, r2)
    assert len(rows.records(env.db)) == 1
    assert rows.state(env.db, "act_failed")["retry"] == 3
    before = env.db.snapshot()
    r3 = SVC.post("/operate_node/2/12/", dict(b, node_id="act_no_data"), h)
    assert r3.json["code"] == 3540000, r3
    assert r3.json["message"] == "request_id(replay-1) was already used for another operation"
    assert harness.diff_snapshots(before, env.db.snapshot()) == []


def test_lock_wait_timeout_is_retried(env):
    """A lock wait timeout (1205) rolls back and the whole transaction runs
    again (up to 3 more times): a lock held a little longer than
    innodb_lock_wait_timeout costs one retry, not a failure."""
    env.db.reset_demo()
    env.db.exec("SET GLOBAL innodb_lock_wait_timeout = 1")
    pool = nginx = None
    import pymysql
    c = pymysql.connect(unix_socket=env.db.sock, user="root", database=harness.DBNAME)
    try:
        pool = harness.Pool(env, name="lockwait-pool", workers=1).start()
        nginx = harness.Nginx(env, pool, name="lockwait-nginx").start()
        with c.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM taskflow3_taskflowinstance WHERE id = 12 FOR UPDATE")
        out = {}

        def one():
            out["r"] = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                            dict(CRED, node_id="act_failed", action="retry"))
        t = threading.Thread(target=one)
        t.start()
        time.sleep(1.5)
        c.rollback()
        t.join(20)
        assert out["r"].json["code"] == 0, out["r"]
        retries = [l for l in pool.log_lines() if l["msg"].startswith("transaction retry 1 after 1205")]
        assert retries, pool.log_lines()[-5:]
        assert len(rows.records(env.db)) == 1
    finally:
        env.db.exec("SET GLOBAL innodb_lock_wait_timeout = 50")
        c.close()
        if nginx:
            nginx.stop()
        if pool:
            pool.stop()
