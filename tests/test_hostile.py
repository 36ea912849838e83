"""Broken and hostile clients (issue 14): FastCGI connections that stall
(nothing sent, a partial header, params without the end of stdin, a slow
trickle) hold a worker only until request_read_timeout; the status routes
live on status_listen and nowhere else; an action whose client has gone is
not applied; workers connect to the database lazily. Traffic goes only to
loopback."""
import json
import os
import re
import socket
import struct
import threading
import time

import harness

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
WORKERS = 2
DEADLINE = 2            # request_read_timeout in these pools, seconds
LOOP_SECONDS = float(os.environ.get("STALL_SECONDS", "30"))


# Direct row checks: the only place that names a table ----------------------

def node_state(env, node):
    return env.db.scalar("SELECT name FROM eri_state WHERE node_id = %s",
                         node)


def db_connections(env):
    """Client connections to MariaDB other than the test's own."""
    return int(env.db.scalar(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'"))


def connections_made(env):
    """Connection attempts the server has seen, the test's own included
    (it keeps one open)."""
    return int(env.db.scalar("SELECT VARIABLE_VALUE FROM "
                             "information_schema.GLOBAL_STATUS "
                             "WHERE VARIABLE_NAME = 'CONNECTIONS'"))


# A raw FastCGI client ------------------------------------------------------

def record(rtype, content=b"", rid=1):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), 0, 0) + content


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def request_bytes(body=b"", path="/operate_node/2/12/", stdin_end=True):
    params = {b"REQUEST_METHOD": b"POST", b"DOCUMENT_URI": path.encode(),
              b"CONTENT_LENGTH": str(len(body)).encode(),
              b"CONTENT_TYPE": b"application/json"}
    out = record(1, struct.pack(">HB5x", 1, 0))
    out += record(4, b"".join(nv(k, v) for k, v in params.items())) + record(4)
    if body:
        out += record(5, body)
    if stdin_end:
        out += record(5)
    return out


def connect(pool, source=None):
    if pool.listen.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(pool.sock)
    else:
        host, port = pool.listen.rsplit(":", 1)
        s = socket.create_connection((host, int(port)),
                                     source_address=(source, 0) if source else None)
    return s


def stall(pool, kind, source=None):
    """A connection that never completes its request; returns the socket
    (and starts the trickle's thread)."""
    s = connect(pool, source)
    body = json.dumps(dict(CRED, node_id="act_failed", action="retry")).encode()
    if kind == "partial-header":
        s.sendall(record(1, struct.pack(">HB5x", 1, 0))[:3])
    elif kind == "params-no-stdin-end":
        s.sendall(request_bytes(b"", stdin_end=False))
    elif kind == "trickle":
        data = request_bytes(body)

        def drip():
            try:
                for b in data:
                    s.send(bytes([b]))
                    time.sleep(0.25)
            except OSError:
                pass
        threading.Thread(target=drip, daemon=True).start()
    return s


def closed_by_server(s, within):
    """True if the pool closes s (EOF or reset) within `within` seconds."""
    s.settimeout(within)
    end = time.monotonic() + within
    try:
        while time.monotonic() < end:
            if s.recv(4096) == b"":
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


def status(svc):
    r = svc.status("/status")
    assert r.status == 200, r
    return r.json


def metric(svc, name):
    text = svc.status("/metrics").raw.decode()
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, (name, text[-2000:])
    return int(m.group(1))


def wait_reading(svc, n, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if status(svc)["reading"] == n:
            return True
        time.sleep(0.05)
    return False


def refusal(svc, timeout=30):
    """A legitimate request with a known answer that changes nothing."""
    t0 = time.monotonic()
    r = harness.http_request(svc.nginx.port, "POST", "/operate_node/2/12/",
                             dict(CRED, node_id="no_such_node", action="skip"),
                             timeout=timeout)
    assert r.status == 200 and r.json["code"] == 3540400, r
    return time.monotonic() - t0


# Item 1: the read deadline ---------------------------------------------------

def test_stalled_connections_of_each_kind(env):
    env.db.reset_demo()
    port = harness.free_port()
    # every worker may read this one peer's connections with the full
    # deadline: the deadline is what this test is about
    svc = harness.Service(env, name="stall-pool", workers=WORKERS,
                          listen="127.0.0.1:%d" % port,
                          request_read_timeout=DEADLINE,
                          peer_reading_max=WORKERS)
    try:
        refusal(svc)
        for kind in ("nothing", "partial-header", "params-no-stdin-end", "trickle"):
            before = metric(svc, "operate_node_read_timeouts_total")
            t0 = time.monotonic()
            socks = [stall(svc.pool, kind) for _ in range(WORKERS)]
            # every worker holds one, and /status says what it does
            assert wait_reading(svc, WORKERS), (kind, status(svc))
            took = refusal(svc, timeout=20)
            assert took < DEADLINE + 2, (kind, took)
            for s in socks:
                assert closed_by_server(s, DEADLINE + 2), kind
                s.close()
            assert time.monotonic() - t0 < DEADLINE + 3, kind
            assert metric(svc, "operate_node_read_timeouts_total") == before + WORKERS, kind
        lines = [l for l in svc.pool.log_lines() if l.get("msg", "").startswith("read timeout")]
        # one line per worker per 10 s, naming the peer
        assert 1 <= len(lines) <= 2 * WORKERS * 2, len(lines)
        assert all(re.fullmatch(r"127\.0\.0\.1:\d+", l["peer"]) for l in lines), lines
        assert {l["reading"] for l in lines} <= {"header and params", "body", "params"}
    finally:
        svc.stop()


def test_stalled_connections_reopened_in_a_loop(env):
    """10 x workers stalled connections, each reopened as soon as the pool
    drops it, for LOOP_SECONDS over the unix socket: requests through
    nginx are all answered, none by nginx's 504."""
    env.db.reset_demo()
    svc = harness.Service(env, name="loop-pool", workers=WORKERS,
                          request_read_timeout=1)
    stop = threading.Event()
    kinds = ("nothing", "partial-header", "params-no-stdin-end")

    def staller(i):
        while not stop.is_set():
            try:
                s = stall(svc.pool, kinds[i % len(kinds)])
            except OSError:
                time.sleep(0.05)
                continue
            # held until the pool lets go, however long that is
            while not stop.is_set() and not closed_by_server(s, 0.5):
                pass
            s.close()

    threads = [threading.Thread(target=staller, args=(i,)) for i in range(10 * WORKERS)]
    for t in threads:
        t.start()
    times = []
    try:
        end = time.monotonic() + LOOP_SECONDS
        while time.monotonic() < end:
            times.append(refusal(svc, timeout=60))
    finally:
        stop.set()
        for t in threads:
            t.join()
        svc.stop()
    # up to 20 stalled connections ahead in the queue, 2 workers, 1 s
    # each: about 10 s, far under nginx's 60 s (before: 504 after 60 s)
    assert times and max(times) < 10 * 1 + 10, max(times)
    print("     stall loop: %d requests, slowest %.1fs" % (len(times), max(times)))


def test_deadline_is_checked_by_t(env):
    d = os.path.join(env.top, "conf-t")
    os.makedirs(d, exist_ok=True)
    binary = os.path.join(harness.BUILD, "operate-node")
    for value, ok in (("5", True), ("0", False), ("301", False), ("2s", False)):
        conf = harness.pool_config(os.path.join(d, "c.conf"), request_read_timeout=value)
        p = __import__("subprocess").run([binary, "-t", "-c", conf],
                                         capture_output=True, text=True)
        assert (p.returncode == 0) == ok, (value, p.stderr)
        if not ok:
            assert "request_read_timeout" in p.stderr, p.stderr
    with open(os.path.join(harness.ROOT, "conf/operate-node.conf")) as f:
        assert re.search(r"^request_read_timeout = 5$", f.read(), re.M)


# Issue 22, item 4: socket peers get limits --------------------------------

def worker_rss_kb(pool):
    out = 0
    for w in pool.workers():
        with open("/proc/%d/status" % w) as f:
            out = max(out, int(re.search(r"^VmHWM:\s+(\d+)", f.read(), re.M).group(1)))
    return out


def params_request(pairs):
    """BEGIN_REQUEST and the params (records of at most 65535 bytes)."""
    data = b"".join(nv(k, v) for k, v in pairs)
    out = record(1, struct.pack(">HB5x", 1, 0))
    for i in range(0, len(data), 65535):
        out += record(4, data[i:i + 65535])
    return out + record(4)


def test_params_over_max_params_bytes_are_refused(env):
    """One peer sends 256 MB of params in many pairs, then a pair that
    declares a 200 MB value: each is refused as soon as it passes
    max_params_bytes, before libfcgi stores it (before: the worker grew to
    253 MB); params under the limit are served."""
    env.db.reset_demo()
    svc = harness.Service(env, name="params-pool", workers=WORKERS,
                          max_params_bytes="16k")
    try:
        refusal(svc)
        rss0 = worker_rss_kb(svc.pool)
        # many small pairs: 256 MB would follow, the pool closes early
        s = connect(svc.pool)
        s.settimeout(10)
        t0 = time.monotonic()
        sent = 0
        try:
            chunk = params_request([(b"HTTP_X_%d" % i, b"v" * 1000)
                                    for i in range(60)])[:-8]
            s.sendall(chunk)
            sent += len(chunk)
            pad = record(4, nv(b"HTTP_X_PAD", b"p" * 60000))
            while sent < 256 << 20:
                s.sendall(pad)
                sent += len(pad)
        except OSError:
            pass                # closed by the pool
        assert closed_by_server(s, 3)
        s.close()
        assert time.monotonic() - t0 < 3, time.monotonic() - t0
        assert sent < 8 << 20, sent
        # one pair declaring a value far past the limit: refused at once
        s = connect(svc.pool)
        s.sendall(record(1, struct.pack(">HB5x", 1, 0)) +
                  record(4, b"\x04" + struct.pack(">I", 0x80000000 | (200 << 20)) + b"NAME"))
        assert closed_by_server(s, 1)
        s.close()
        assert metric(svc, "operate_node_params_too_large_total") == 2
        assert worker_rss_kb(svc.pool) < rss0 + 4096, (rss0, worker_rss_kb(svc.pool))
        # under the limit: a request with 12 KB of headers is served
        r = harness.http_request(svc.nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="no_such_node", action="skip"),
                                 headers={"X-Big-%d" % i: "b" * 2000 for i in range(6)})
        assert r.status == 200 and r.json["code"] == 3540400, r
        lines = [l for l in svc.pool.log_lines()
                 if "max_params_bytes" in l.get("msg", "")]
        assert lines and lines[0]["peer"].startswith("pid "), lines
    finally:
        svc.stop()


def test_listen_allowed_clients(env):
    """php-fpm's listen.allowed_clients: a TCP peer not listed is closed
    at once, counted and logged; a listed one is served."""
    env.db.reset_demo()
    port = harness.free_port()
    svc = harness.Service(env, name="allowed-pool", workers=WORKERS,
                          listen="127.0.0.1:%d" % port,
                          listen_allowed_clients="127.0.0.1, ::1")
    try:
        refusal(svc)            # nginx connects from 127.0.0.1
        s = socket.create_connection(("127.0.0.1", port),
                                     source_address=("127.0.0.2", 0))
        s.sendall(request_bytes(json.dumps(dict(CRED, node_id="no_such_node",
                                                action="skip")).encode()))
        assert closed_by_server(s, 1)
        s.close()
        assert metric(svc, "operate_node_refused_clients_total") == 1
        lines = [l for l in svc.pool.log_lines()
                 if "listen_allowed_clients" in l.get("msg", "")]
        assert lines and lines[0]["peer"].startswith("127.0.0.2:"), lines
        refusal(svc)
    finally:
        svc.stop()
    binary = os.path.join(harness.BUILD, "operate-node")
    d = os.path.join(env.top, "conf-allowed")
    os.makedirs(d, exist_ok=True)
    for value, ok in (("127.0.0.1", True), ("10.0.0.1 ::1", True), ("", True),
                      ("localhost", False), ("10.0.0.0/8", False)):
        conf = harness.pool_config(os.path.join(d, "c.conf"),
                                   listen_allowed_clients=value)
        p = __import__("subprocess").run([binary, "-t", "-c", conf],
                                         capture_output=True, text=True)
        assert (p.returncode == 0) == ok, (value, p.stderr)
        if not ok:
            assert "listen_allowed_clients" in p.stderr, p.stderr


def test_one_peer_stalling_cannot_hold_the_pool(env):
    """40 stalled connections from one peer (127.0.0.2), each reopened as
    the pool drops it: beyond peer_reading_max (here 1) of them in the
    read phase, a connection of that peer gets a 50 ms deadline. Requests
    through nginx (peer 127.0.0.1) wait a few seconds at most (before:
    40 x 2 s / 2 workers, about 40 s each)."""
    env.db.reset_demo()
    port = harness.free_port()
    svc = harness.Service(env, name="peer-pool", workers=WORKERS,
                          listen="127.0.0.1:%d" % port, peer_reading_max=1,
                          request_read_timeout=DEADLINE)
    stop = threading.Event()
    kinds = ("nothing", "partial-header", "params-no-stdin-end")

    def staller(i):
        while not stop.is_set():
            try:
                s = stall(svc.pool, kinds[i % len(kinds)], source="127.0.0.2")
            except OSError:
                time.sleep(0.05)
                continue
            while not stop.is_set() and not closed_by_server(s, 0.5):
                pass
            s.close()

    threads = [threading.Thread(target=staller, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    times = []
    try:
        time.sleep(1)
        end = time.monotonic() + min(LOOP_SECONDS, 15)
        while time.monotonic() < end:
            times.append(refusal(svc, timeout=70))
        limited = metric(svc, "operate_node_peer_limited_total")
    finally:
        stop.set()
        for t in threads:
            t.join()
        svc.stop()
    print("     one peer stalling: %d requests, slowest %.1fs, %d limited"
          % (len(times), max(times), limited))
    assert limited > 40, limited
    assert times and max(times) < DEADLINE + 4, max(times)


# Item 3: status routes only on status_listen -------------------------------

SPELLINGS = ["/status", "/metrics", "/healthz", "/metrics/", "/status/",
             "/x/status", "/operate_node/2/12/status", "/operate_node/status",
             "/api/c/compapi/v2/sops/status", "/api/c/compapi/v2/sops/metrics",
             "/prod/healthz", "/prod/x/y/metrics", "//status", "/%73tatus",
             "/status?x=1", "/healthz/", "/pools/status"]


def test_status_routes_are_not_public(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="pub-pool", workers=WORKERS)
    try:
        for path in SPELLINGS:
            for method in ("GET", "POST", "HEAD"):
                r = harness.http_request(svc.nginx.port, method, path,
                                         b"" if method == "POST" else None)
                assert r.status == 404, (method, path, r)
                if method != "HEAD":
                    assert r.json["code"] == 3540400, (path, r)
                    assert "workers" not in r.raw.decode(), (path, r)
        # the private server of status.conf serves them
        r = svc.status("/status")
        assert r.status == 200 and r.json["workers"] == WORKERS, r
        assert all("request_id" not in s for s in r.json["slots"]), r
        assert "operate_node_requests_total" in svc.status("/metrics").raw.decode()
        r = svc.status("/healthz")
        assert r.status == 200 and r.json == {"status": "ok"}, r
        # and only them: an action on the status socket is 404
        r = harness.http_request(svc.nginx.status_port, "POST",
                                 "/operate_node/2/12/", dict(CRED, node_id="act_failed",
                                                             action="retry"))
        assert r.status == 404, r
        assert node_state(env, "act_failed") == "FAILED"
    finally:
        svc.stop()


def test_status_detail_full_shows_request_ids(env):
    svc = harness.Service(env, name="full-pool", workers=WORKERS,
                          status_detail="full")
    try:
        r = svc.status("/status")
        assert all(s["request_id"] == "" for s in r.json["slots"]), r
    finally:
        svc.stop()


def test_status_listen_is_checked(env):
    import subprocess
    d = os.path.join(env.top, "conf-s")
    os.makedirs(d, exist_ok=True)
    binary = os.path.join(harness.BUILD, "operate-node")
    for value, ok in (("unix:/run/x.sock", True), ("127.0.0.1:9001", True),
                      ("", True), ("9001", False), ("fd0", False),
                      ("unix:/run/a.sock", False)):
        conf = harness.pool_config(os.path.join(d, "c.conf"), listen="unix:/run/a.sock",
                                   status_listen=value)
        p = subprocess.run([binary, "-t", "-c", conf], capture_output=True, text=True)
        assert (p.returncode == 0) == ok, (value, p.stderr)


# Item 5: work nobody waits for -----------------------------------------------

def test_client_gone_before_the_call(env):
    """One worker, held by a stalled connection; a retry sent through nginx
    whose client gives up after 1 s waits in the queue. When the worker
    gets to it, nginx has closed the connection: nothing is applied."""
    env.db.reset_demo()
    svc = harness.Service(env, name="gone-pool", workers=1,
                          request_read_timeout=3)
    try:
        s = stall(svc.pool, "nothing")
        assert wait_reading(svc, 1)
        try:
            harness.http_request(svc.nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_failed", action="retry"),
                                 headers={"X-Request-Id": "gone-1"}, timeout=1)
            assert False, "the pool answered while its worker was held"
        except socket.timeout:
            pass
        harness.wait_for(lambda: metric(svc, "operate_node_abandoned_total") == 1,
                         8, "the abandoned request")
        s.close()
        assert node_state(env, "act_failed") == "FAILED"
        lines = [l for l in svc.pool.log_lines() if l.get("status") == 499]
        assert len(lines) == 1 and "nothing was applied" in lines[0]["message"], lines
        assert lines[0]["request_id"] == "gone-1", lines
        # nothing was recorded under its id: sent again, it is applied now
        r = harness.http_request(svc.nginx.port, "POST", "/operate_node/2/12/",
                                 dict(CRED, node_id="act_failed", action="retry"),
                                 headers={"X-Request-Id": "gone-1"})
        assert r.status == 200 and r.json["code"] == 0, r
        assert node_state(env, "act_failed") == "READY"
    finally:
        svc.stop()


# Item 6: lazy connect, libfcgi aborts counted and logged sparingly --------

def crafted(pool):
    """A params record whose name length makes libfcgi 2.4.2 abort."""
    s = connect(pool)
    s.sendall(record(1, struct.pack(">HB5x", 1, 0)) +
              record(4, b"\xff\xff\xff\xfe\x00" + b"A" * 64))
    closed_by_server(s, 5)
    s.close()


def test_crafted_record_flood(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="flood-pool", workers=WORKERS)
    try:
        time.sleep(0.5)
        # A worker's first start connects (a wrong schema is logged at
        # start); a worker restarted after an abort connects only on its
        # first request: the flood must open no database connection.
        assert db_connections(env) <= WORKERS + 1, db_connections(env)
        before = connections_made(env)
        for _ in range(40):
            crafted(svc.pool)
        # The name length (2^31 - 2) is past max_params_bytes: each is
        # refused before libfcgi reads it (issue 22, item 4), so no worker
        # aborts (before: 40 aborts, each a worker restart).
        harness.wait_for(lambda: metric(svc, "operate_node_params_too_large_total") >= 40,
                         10, "40 refusals counted")
        assert metric(svc, "operate_node_worker_aborts_total") == 0
        assert metric(svc, "operate_node_worker_restarts_total") == 0
        assert connections_made(env) - before == 0, connections_made(env) - before
        lines = [l for l in svc.pool.log_lines()
                 if "max_params_bytes" in l.get("msg", "")]
        assert 1 <= len(lines) <= 3 * WORKERS, len(lines)
        # no worker was replaced: the pool answers with the connections
        # it had
        refusal(svc)
    finally:
        svc.stop()
