"""Every error the web server makes is JSON in the service's shape (issue
12, item 8): the shipped nginx snippets (errors.conf at server level,
fastcgi.conf or fastcgi-pools.conf in the location) answer an oversized
body, oversized headers, a stopped pool and a stalled pool with
application/json, the service's code and request_id = nginx's
$request_id. Traffic goes only to loopback."""
import json
import os
import re
import signal
import socket

import harness

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
PATH = "/api/c/compapi/v2/sops/operate_node/2/12/"
HEX32 = re.compile(r"[0-9a-f]{32}")
SVC = None


def setup_module(env):
    global SVC
    env.db.reset_demo()
    SVC = harness.Service(env, name="errpage-pool", workers=2)


def teardown_module(env):
    if SVC:
        SVC.stop()


def raw_http(port, head, body=b"", send_limit=None, timeout=30):
    """Sends head and up to send_limit bytes of body (nginx may refuse
    before reading it all), then reads the whole reply. Returns
    (status, headers, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(head)
        sent = 0
        limit = len(body) if send_limit is None else send_limit
        try:
            while sent < limit:
                n = s.send(body[sent:sent + 65536])
                sent += n
        except OSError:
            pass        # nginx answered and closed while we were sending
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    hdr, rest = data.split(b"\r\n\r\n", 1)
                    m = re.search(rb"(?i)content-length: *(\d+)", hdr)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except ConnectionResetError:
            pass
    finally:
        s.close()
    hdr, _, rest = data.partition(b"\r\n\r\n")
    lines = hdr.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def post_head(length, extra=""):
    # HTTP/1.0: the reply comes unchunked
    return ("POST %s HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n%s\r\n" % (PATH, length, extra)).encode()


def json_error(status, headers, body, http, code):
    assert status == http, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    j = json.loads(body)
    assert j["result"] is False and j["data"] is None, j
    assert j["code"] == code, j
    assert j["message"], j
    assert HEX32.fullmatch(j["request_id"]), j
    # the same ids in the headers as the service's own replies carry
    assert headers.get("x-request-id") == j["request_id"], headers
    assert headers.get("x-trace-id") == j["trace_id"], headers
    return j


def big_body(n):
    """A JSON body of exactly n bytes."""
    pad = n - len(json.dumps(dict(CRED, node_id="act_failed", action="retry", x="")))
    return json.dumps(dict(CRED, node_id="act_failed", action="retry", x="a" * pad)).encode()


def test_body_over_max_body_bytes_is_the_services_413(env):
    b = big_body((1 << 20) + 1)
    status, headers, body = raw_http(SVC.nginx.port, post_head(len(b)), b)
    j = json_error(status, headers, body, 413, 3540000)
    # the service's own reply: it names max_body_bytes
    assert "max_body_bytes" in j["message"], j


def test_body_over_client_max_body_size(env):
    for size in (3 << 20, 50 << 20):
        b = b"x" * size if size > (3 << 20) else big_body(size)
        status, headers, body = raw_http(SVC.nginx.port, post_head(size), b,
                                         send_limit=min(size, 4 << 20))
        j = json_error(status, headers, body, 413, 3540000)
        assert "client_max_body_size" in j["message"], j
        assert headers.get("x-request-id") == j["request_id"], headers


def test_header_too_large(env):
    head = post_head(2, "X-Big: %s\r\n" % ("a" * 16384))
    status, headers, body = raw_http(SVC.nginx.port, head, b"{}")
    json_error(status, headers, body, 400, 3540000)


def test_too_many_headers_or_malformed(env):
    status, headers, body = raw_http(SVC.nginx.port, b"GARBAGE\r\n\r\n")
    json_error(status, headers, body, 400, 3540000)


def test_pool_stopped_is_502(env):
    pool = harness.Pool(env, name="errpage-502-pool", workers=1).start()
    nginx = harness.Nginx(env, pool, name="errpage-502-nginx").start()
    try:
        r = harness.http_request(nginx.port, "POST", PATH,
                                 dict(CRED, node_id="no_such_node", action="skip"))
        assert r.status == 200 and r.json["code"] == 3540400, r
        pool.stop()
        r = harness.http_request(nginx.port, "POST", PATH,
                                 dict(CRED, node_id="no_such_node", action="skip"))
        j = json_error(r.status, r.headers, r.raw, 502, 3555000)
        assert "send it again with the same request id" in j["message"], j
        # nothing reached the pool: not applied, and the client pauses
        assert "nothing was applied" in j["message"], j
        assert r.headers.get("retry-after") == "1", r.headers
        assert r.headers["x-request-id"] == j["request_id"]
    finally:
        nginx.stop()
        pool.stop()


def test_stalled_pool_is_504(env):
    """Workers stopped with SIGSTOP: the connection waits in the backlog
    until fastcgi-pools.conf's fastcgi_read_timeout (15s) passes."""
    pool = harness.Pool(env, name="errpage-504-pool", workers=1).start()
    nginx = harness.Nginx(env, pool, name="errpage-504-nginx").start()
    stopped = []
    try:
        for w in pool.workers():
            os.kill(w, signal.SIGSTOP)
            stopped.append(w)
        r = harness.http_request(nginx.port, "POST", "/pools/operate_node/2/12/",
                                 dict(CRED, node_id="no_such_node", action="skip"),
                                 timeout=40)
        j = json_error(r.status, r.headers, r.raw, 504, 3555000)
        assert "did not answer in time" in j["message"], j
        # the request was sent: its outcome is unknown, no Retry-After
        assert "outcome is unknown" in j["message"], j
        assert "retry-after" not in r.headers, r.headers
    finally:
        for w in stopped:
            os.kill(w, signal.SIGCONT)
        nginx.stop()
        pool.stop()


def test_nginx_refusals_before_a_location_are_json(env):
    """nginx's own 414 (request line too long), 501 (unknown transfer
    encoding), 505 (HTTP version) and 405 (TRACE) are JSON too."""
    port = SVC.nginx.port
    cases = [
        (b"POST /api/c/compapi/v2/sops/operate_node/2/12/?x=" + b"a" * 9000 +
         b" HTTP/1.0\r\nHost: localhost\r\n\r\n", 414),
        (b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
         b"Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n", 501),
        (b"POST " + PATH.encode() + b" HTTP/2.0\r\nHost: localhost\r\n\r\n", 505),
        (b"TRACE " + PATH.encode() + b" HTTP/1.0\r\nHost: localhost\r\n\r\n", 405),
    ]
    for head, http in cases:
        status, headers, body = raw_http(port, head)
        json_error(status, headers, body, http, 3540000)
        assert headers.get("cache-control") == "no-store", headers


class CutUpstream:
    """A FastCGI peer on a unix socket that reads the request and closes
    without a reply: a worker that died after the request reached it."""

    def __init__(self, path):
        import threading
        self.listen = "unix:" + path
        self.sock = path
        self.status_sock = path + ".status"
        self.got = 0
        self.s = socket.socket(socket.AF_UNIX)
        self.s.bind(path)
        self.s.listen(16)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                data = b""
                while len(data) < 8 or not data.endswith(bytes([1, 5, 0, 1, 0, 0, 0, 0])):
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.got += 1
            except OSError:
                pass
            c.close()

    def close(self):
        self.s.close()


def test_reply_cut_off_after_sending_is_502_outcome_unknown(env):
    """The request reached the pool and no reply came: the outcome is
    unknown, and there is no Retry-After (send again now, same id)."""
    d = os.path.join(env.top, "errpage-cut")
    os.makedirs(d, exist_ok=True)
    up = CutUpstream(os.path.join(d, "cut.sock"))
    nginx = harness.Nginx(env, up, name="errpage-cut-nginx").start()
    try:
        r = harness.http_request(nginx.port, "POST", PATH,
                                 dict(CRED, node_id="no_such_node", action="skip"))
        j = json_error(r.status, r.headers, r.raw, 502, 3555000)
        assert up.got == 1
        assert "outcome is unknown" in j["message"], j
        assert "nothing was applied" not in j["message"], j
        assert "retry-after" not in r.headers, r.headers
    finally:
        nginx.stop()
        up.close()


def test_services_own_errors_pass_through(env):
    """fastcgi_intercept_errors stays off: the service's 404 and 405 are
    its own replies, with its request id."""
    r = SVC.post("/api/c/compapi/v2/sops/nothing/", b"{}")
    assert r.status == 404 and r.json["message"].startswith("no such route"), r
    r = SVC.post(PATH, None, method="GET")
    assert r.status == 405 and "use POST" in r.json["message"], r


# Apache 2.4: the shipped mod_proxy_fcgi snippet's ErrorDocuments ----------

def test_apache_errors_are_json(env):
    import test_integrations as ti
    ti.setup_module(env)        # www-data must reach the socket
    pool = harness.Pool(env, name="errpage-apache-pool",
                        listen_owner=":www-data", listen_mode="0660").start()
    apache = ti.Apache(env, "errpage-apache", ti.shipped(
        "conf/apache/operate-node.conf",
        **{"/run/operate-node/operate-node.sock": pool.sock}),
        ["proxy", "proxy_fcgi", "headers"]).start()
    uid = re.compile(r"[A-Za-z0-9@_-]{20,}")
    try:
        def check(status, headers, body, http, code, has_id=True):
            j = json_error_any_id(status, headers, body, http, code)
            assert uid.fullmatch(j["request_id"]) if has_id else j["request_id"] == "", j
            if has_id:
                assert headers.get("x-request-id") == j["request_id"], headers
                assert headers.get("x-trace-id") == j["trace_id"], headers
            return j
        size = 3 << 20
        check(*raw_http(apache.port, post_head(size), b"x" * size), 413, 3540000)
        # refused while Apache reads the headers, before mod_unique_id
        # runs: no id exists yet
        check(*raw_http(apache.port, post_head(2, "X-Big: %s\r\n" % ("a" * 16384)),
                        b"{}"), 400, 3540000, has_id=False)
        # the service's own 413 passes through
        b = big_body((1 << 20) + 1)
        status, headers, body = raw_http(apache.port, post_head(len(b)), b)
        assert status == 413 and "max_body_bytes" in json.loads(body)["message"]
        pool.stop()
        status, headers, body = raw_http(apache.port, post_head(2), b"{}")
        j = check(status, headers, body, 503, 3555000)
        # nothing reached the pool: the client pauses, then sends again
        assert "nothing was applied" in j["message"], j
        assert headers.get("retry-after") == "1", headers
    finally:
        apache.stop()
        pool.stop()
        ti.teardown_module(env)


def json_error_any_id(status, headers, body, http, code):
    assert status == http, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    j = json.loads(body)
    assert j["result"] is False and j["data"] is None and j["code"] == code, j
    return j
