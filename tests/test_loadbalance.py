"""Several pools on several hosts (network namespaces on veth links; traffic
stays on them and on loopback) behind one nginx upstream, one MariaDB: pools
drained, cut off and killed under load, nginx re-sending POSTs to the next
pool, and every node still applied once (the request_id replay record)."""
import collections
import json
import os
import re
import signal
import socket
import threading
import time

import pymysql

import harness
import netns
import rows
from test_reliability import CRED, Load, assert_consistent, seed_once

HOSTS = 3
WORKERS = 2
# Every request asks for its own node. The load is capped at RATE (the
# 8 threads reached 460 to 1000 requests/s on a 2-core machine, all
# serialised on one task's row lock) so that the 18 s of phases cannot run
# out of nodes on a fast machine.
RATE = 500
NODES = 12000
# The hosts' namespaces, links and /24s (tests/netns.py): one /24 per host,
# .1 root side, .2 inside.
SITE = netns.Site("opnlb", "10.231")
DB_USER = "opnode"
DB_HOSTS = SITE.octets + ".%"
# The service reads with its SELECT and writes only inside the procedures,
# which run with their definer's rights (root@localhost): nothing more.
DB_GRANTS = "SELECT, EXECUTE"
# The shipped snippet's read timeout, shortened so that a host cut off the
# network is given up after 3 s instead of 15 s.
READ_TIMEOUT = ("fastcgi_read_timeout 15s;", "fastcgi_read_timeout 3s;")

HOST_LIST = []
POOLS = []
FRONT = None
STATE = {}


class NsPool(harness.Pool):
    """The real pool, started inside a host's namespace, reaching MariaDB
    over the veth link with its own user and password file."""

    def __init__(self, env, host, i, password_file):
        super().__init__(env, name="lb-pool%d" % i, workers=WORKERS,
                         listen=host.ns_ip + ":9000", db_socket="",
                         db_host=host.root_ip, db_port=env.db.port,
                         db_user=DB_USER, db_password_file=password_file)
        self.host = host

    def start(self):
        self.proc = harness.Procs.spawn(
            ["ip", "netns", "exec", self.host.ns, self.binary, "-c", self.conf],
            os.path.join(self.dir, "stderr.log"))
        host, port = self.listen.rsplit(":", 1)

        def up():
            socket.create_connection((host, int(port)), 0.2).close()
            return True
        harness.wait_for(up, 10, "pool port in " + self.host.ns)
        # Workers connect on their first request; the status process's
        # /healthz shows that the database is reachable from the namespace.
        harness.wait_for(lambda: b'"ok"' in harness.fcgi_get(self.status_sock, "/healthz"),
                         10, "the database, reached from %s" % self.host.ns)
        return self

    def kill(self):
        """SIGKILL to the master and every worker at once."""
        pids = [self.proc.pid] + self.workers()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.stop()
        harness.wait_for(lambda: not any(netns.alive(p) and "zombie" not in
                                         open("/proc/%d/status" % p).read()
                                         for p in pids[1:]), 5, "killed workers")

    def log_lines(self):
        """Like Pool.log_lines, but a line cut short by SIGKILL is skipped."""
        out = []
        try:
            with open(self.log) as f:
                for l in f:
                    try:
                        out.append(json.loads(l))
                    except ValueError:
                        pass
        except FileNotFoundError:
            pass
        return out


class Front(harness.Nginx):
    """nginx in the root namespace before the pools (harness.Nginx), with
    fastcgi-pools.conf's read timeout shortened and an access log of
    request ids and upstream attempts."""

    def __init__(self, env, pools):
        with open(os.path.join(harness.ROOT, "conf/nginx/fastcgi-pools.conf")) as f:
            snippet = f.read()
        assert READ_TIMEOUT[0] in snippet, "fastcgi-pools.conf: no " + READ_TIMEOUT[0]
        path = os.path.join(env.top, "lb-fastcgi-pools.conf")
        with open(path, "w") as f:
            f.write(snippet.replace(*READ_TIMEOUT))
        super().__init__(env, name="lb-nginx", pools=pools, snippet=path,
                         log_format="$request_id\t$status\t$upstream_addr"
                         "\t$upstream_status")

    def post(self, path, body=None, headers=None, method="POST"):
        return harness.http_request(self.port, method, path, body, headers)

    def errors(self):
        """nginx's error lines other than the ones it retries on (a pool
        that did not answer the header), for a failure's message."""
        retried = ("while reading response header", "while connecting to upstream")
        with open(os.path.join(self.dir, "error.log")) as f:
            return [l.rstrip("\n") for l in f if ("[error]" in l or "[crit]" in l or
                    "[alert]" in l) and not any(r in l for r in retried)]

    def log(self):
        """request_id -> (status, [upstream addresses], [upstream statuses])"""
        out = {}
        with open(self.access) as f:
            for line in f:
                rid, status, addrs, statuses = line.rstrip("\n").split("\t")
                out[rid] = (status, addrs.split(", "), statuses.split(", "))
        return out


# The failover lines that fastcgi-pools.conf changes; everything else is
# fastcgi.conf's, line for line.
FAILOVER = ("fastcgi_next_upstream", "fastcgi_connect_timeout", "fastcgi_read_timeout")


def directives(path):
    with open(os.path.join(harness.ROOT, path)) as f:
        lines = [l.split("#", 1)[0].strip() for l in f]
    return [l for l in lines if l]


def setup_module(env):
    global FRONT
    try:
        SITE.remove_stale()
        for i, net in enumerate(SITE.free_nets(HOSTS), 1):
            HOST_LIST.append(netns.Host(SITE, i, net))
            HOST_LIST[-1].create()
        # The shared database, reachable from the hosts over their links only.
        env.db.stop()
        env.db.bind = ",".join(["127.0.0.1"] + [h.root_ip for h in HOST_LIST])
        STATE["rebound"] = True
        env.db.start()
        env.db.reset_demo()
        pwfile = os.path.join(env.top, "lb-db-password")
        env.db.add_user(DB_USER, DB_HOSTS, DB_GRANTS, pwfile)
        for i, h in enumerate(HOST_LIST, 1):
            POOLS.append(NsPool(env, h, i, pwfile).start())
        FRONT = Front(env, POOLS).start()
    except BaseException:
        teardown_module(env)
        raise


def teardown_module(env):
    """Always leaves the machine as it was: no pools, no namespaces, no
    links, the database on 127.0.0.1 only."""
    global FRONT
    step = harness.Teardown()
    if FRONT is not None:
        step(FRONT.stop)
        FRONT = None
    for p in POOLS:
        step(p.stop)
    del POOLS[:]
    for h in HOST_LIST:
        step(h.remove)
    del HOST_LIST[:]
    step(SITE.remove_stale)
    if STATE.pop("rebound", False):
        step(env.db.exec, "DROP USER IF EXISTS %s@%s", DB_USER, DB_HOSTS)
        step(env.db.stop)
        env.db.bind = "127.0.0.1"
        step(env.db.start)
    left = SITE.left()
    assert not left and not step.errors, (left, step.errors)


def pool_successes(ids):
    """request_id -> how many times a pool answered it with success (the
    second and later from the replay record)."""
    seen = collections.Counter()
    for p in POOLS:
        for l in p.log_lines():
            if l.get("msg") == "request" and str(l.get("code")) == "0" \
                    and l.get("request_id") in ids:
                seen[l["request_id"]] += 1
    return seen


class PacedLoad(Load):
    """test_reliability's Load, at most RATE requests per second."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.slot = time.monotonic()

    def next_node(self):
        with self.lock:
            self.slot = max(self.slot + 1.0 / RATE, time.monotonic())
            at = self.slot
        time.sleep(max(0.0, at - time.monotonic()))
        return super().next_node()


def test_pools_snippet_is_fastcgi_conf_with_failover(env):
    pools = directives("conf/nginx/fastcgi-pools.conf")
    single = directives("conf/nginx/fastcgi.conf")
    assert [d for d in pools if not d.startswith(FAILOVER)] == \
        [d for d in single if not d.startswith(FAILOVER)]
    assert "fastcgi_next_upstream error timeout http_503 non_idempotent;" in pools
    assert READ_TIMEOUT[0] in pools


def test_failover_under_load(env):
    nodes = seed_once(env, NODES, "lb_")
    phases = []

    def during(name, secs):
        t0 = time.monotonic()
        time.sleep(secs)
        phases.append((name, t0, time.monotonic()))

    t_start = time.monotonic()
    with PacedLoad(nodes, threads=8, svc=FRONT) as load:
        during("all up", 2)
        POOLS[0].stop()                 # SIGTERM: drains, then exits
        during("pool 1 stopped", 3)
        POOLS[0].start()
        during("all up", 2)
        HOST_LIST[1].link(False)
        during("host 2 cut off", 4)     # longer than the 3 s read timeout
        HOST_LIST[1].link(True)
        during("all up", 2)
        POOLS[2].kill()
        during("pool 3 killed", 3)
        POOLS[2].start()
        during("all up", 2)
    took = time.monotonic() - t_start
    replies = load.replies
    assert len(replies) < NODES, "ran out of nodes: raise NODES"

    # Every reply is a complete success: with one pool out at a time nginx
    # always has another to send the request to. One exception, nginx's and
    # not the pools' (each reply leaves a worker in one write()): when a
    # host is cut off while its reply is reaching nginx, nginx may already
    # have passed the reply's header on; it then times out reading the rest
    # ("upstream timed out ... while reading upstream"), cannot try another
    # pool, and closes the client's connection after the header. Such a
    # request is allowed only as often as nginx logged that, and must have
    # been applied exactly once (checked below); the API tells that client
    # to send it again with the same request id.
    cut_reads = [l for l in FRONT.errors() if "upstream timed out" in l and
                 "while reading upstream" in l]
    truncated = [node for node, status, j, raw, _ in replies
                 if status == "error" and raw.startswith(b"IncompleteRead(0 bytes")]
    bad = collections.Counter()
    for node, status, j, raw, when in replies:
        if not (status == 200 and j is not None and j.get("code") == 0) \
                and node not in truncated:
            phase = [n for n, t0, t1 in phases if t0 < when <= t1] or ["after"]
            bad[(status, j and j.get("code"), (j and j.get("message")) or raw[:80],
                 phase[0])] += 1
    assert not bad and len(truncated) <= len(cut_reads), \
        "replies other than success: %s; cut off after the header: %d\nnginx: %s" % (
            dict(bad), len(truncated), "\n".join(FRONT.errors()))

    # Every success is applied exactly once, under the id the client was
    # given, and nothing else is applied; a reply cut off after its header
    # was applied once too.
    ok = {node: j["request_id"] for node, status, j, raw, _ in replies
          if node not in truncated}
    assert len(ok) + len(truncated) == len(replies)
    recs = env.db.query("SELECT node_id FROM operate_record_taskoperaterecord "
                        "WHERE node_id LIKE 'lb\\_%%'")
    assert len(recs) == len({r["node_id"] for r in recs}), "a node applied twice"
    assert {r["node_id"] for r in recs} == set(ok) | set(truncated)
    # the record of each node joined to the replay row of its request
    claimed = env.db.query(rows.RECORD_SQL.replace("WHERE p.request_id = %s",
                           "WHERE r.node_id LIKE 'lb\\_%%'").replace("SELECT r.*",
                           "SELECT r.node_id, p.request_id"))
    assert {r["node_id"]: r["request_id"] for r in claimed
            if r["node_id"] not in truncated} == ok
    ready = env.db.scalar("SELECT COUNT(*) FROM eri_state WHERE node_id LIKE 'lb\\_%%' "
                          "AND name = 'READY'")
    assert ready == len(claimed) == len(recs) == len(ok) + len(truncated), \
        (ready, len(claimed), len(recs), len(ok), len(truncated))
    assert_consistent(env, list(ok) + truncated)
    if truncated:
        print("     %d reply cut off after its header by nginx (host cut off), "
              "applied once" % len(truncated))

    # Service went on in every phase.
    for name, t0, t1 in phases:
        n = sum(1 for r in replies if t0 < r[4] <= t1)
        assert n > 0, "no reply during %r" % name

    # What nginx and the database did about it.
    ids = set(ok.values())
    log = {k: v for k, v in FRONT.log().items() if k in ids}
    assert len(log) == len(ids), (len(log), len(ids))
    retried = {k: v for k, v in log.items() if len(v[1]) > 1}
    first = collections.Counter(v[2][0] for v in retried.values())
    served = collections.Counter(v[1][-1] for v in log.values())
    replays = {k: n for k, n in pool_successes(ids).items() if n > 1}
    assert retried, "nginx never tried another pool"
    print("     %d requests in %.1fs, all successes; nginx retried %d (first attempt "
          "answered %s); %d of them answered twice by the pools (second from the "
          "replay record); %d operate_record rows for %d nodes"
          % (len(replies), took, len(retried),
             ", ".join("%s x%d" % kv for kv in sorted(first.items())),
             len(replays), len(recs), len(ok)))
    print("     served by: " + ", ".join("%s %d" % kv for kv in sorted(served.items())))
    print("     per phase: " + "; ".join(
        "%s %d" % (name, sum(1 for r in replies if t0 < r[4] <= t1))
        for name, t0, t1 in phases))


def test_timeout_is_retried_and_replayed(env):
    """A pool that holds a request past fastcgi_read_timeout: nginx sends it
    to the next pool with the same REQUEST_ID; both pools answer success, the
    node is applied once."""
    node = seed_once(env, 1, "lbt_")[0]
    lock = pymysql.connect(unix_socket=env.db.sock, user="root", database=harness.DBNAME)
    out = {}
    try:
        with lock.cursor() as c:
            c.execute("BEGIN")
            c.execute("SELECT * FROM taskflow3_taskflowinstance WHERE id = 12 FOR UPDATE")
        t = threading.Thread(target=lambda: out.update(r=FRONT.post(
            "/operate_node/2/12/", dict(CRED, node_id=node, action="retry"))))
        t.start()
        time.sleep(4.5)         # 3 s read timeout on the first pool, then the next one
        lock.rollback()
        t.join(20)
    finally:
        lock.close()
    r = out["r"]
    assert r.status == 200 and r.json["code"] == 0, r
    rid = r.json["request_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid), rid      # nginx's $request_id
    harness.wait_for(lambda: rid in FRONT.log(), 5, "the access log line")
    status, addrs, statuses = FRONT.log()[rid]
    assert len(addrs) >= 2 and statuses[0] == "504" and statuses[-1] == "200", (addrs, statuses)
    assert len(rows.records(env.db, node)) == 1
    assert rows.record(env.db, rid)["node_id"] == node
    assert_consistent(env, [node])
    harness.wait_for(lambda: pool_successes({rid})[rid] >= 2, 5,
                     "both pools to log the request")
    print("     %s: tried %s (%s); applied once, answered %d times"
          % (rid, ", ".join(addrs), ", ".join(statuses), pool_successes({rid})[rid]))
