"""What on-call sees (issue 25 item 5): /metrics' latency histogram by
action, replies by HTTP class and status, database retries by reason,
database host changes, replays, busy workers; the access log line's
fields; the slow-request warning; status scrapes kept out of the info log.
Real requests through nginx; the database's errors are raised by triggers
as a Galera node or InnoDB would raise them."""
import os
import re
import socket
import threading
import time

import harness

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
ROUTE = "/operate_node/2/12/"


def retry(port, node="act_failed", rid=None, **extra):
    b = dict(CRED, node_id=node, action="retry")
    b.update(extra)
    return harness.http_request(port, "POST", ROUTE, b,
                                {"X-Request-Id": rid} if rid else None)


def metrics(svc):
    """The /metrics text as {series: value} ("name{labels}" as written)."""
    r = svc.status("/metrics")
    assert r.status == 200, r
    out = {}
    for line in r.raw.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def test_histogram_by_action_and_replies_by_status(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="obs-hist")
    try:
        assert retry(svc.nginx.port).json["code"] == 0
        r = retry(svc.nginx.port, node="act_two_out", bk_app_secret="wrong")
        assert r.status == 200 and r.json["code"] != 0, r
        r = harness.http_request(svc.nginx.port, "GET", ROUTE)
        assert r.status == 405, r
        m = metrics(svc)
        buckets = [(k, v) for k, v in m.items() if k.startswith(
            'operate_node_request_duration_seconds_bucket{action="retry",')]
        assert len(buckets) == 12, buckets
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and buckets[-1][0].endswith('le="+Inf"}')
        # the success and the refusal both named the action
        assert m['operate_node_request_duration_seconds_count{action="retry"}'] == 2
        assert counts[-1] == 2
        assert 0 < m['operate_node_request_duration_seconds_sum{action="retry"}'] < 10
        # the 405 never read a body: no action
        assert m['operate_node_request_duration_seconds_count{action="none"}'] == 1
        assert not any('action="skip"' in k and v for k, v in m.items()
                       if k.startswith("operate_node_request_duration_seconds_count"))
        assert m['operate_node_responses_total{class="2xx",status="200"}'] == 2
        assert m['operate_node_responses_total{class="4xx",status="405"}'] == 1
        assert m['operate_node_responses_total{class="5xx",status="500"}'] == 0
        assert m["operate_node_busy_workers"] == 0
        assert m["operate_node_db_seconds_total"] > 0
        assert m['operate_node_replays_total'] == 0
    finally:
        svc.stop()


def test_access_log_fields_and_quiet_scrapes(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="obs-log")
    try:
        r = retry(svc.nginx.port, rid="obs-log-1")
        assert r.json["code"] == 0, r
        line = svc.pool.request_line("obs-log-1")
        assert (line["app"], line["operator"], line["task_id"], line["node_id"],
                line["action"], line["status"], line["code"]) == \
            ("demo_app", "admin", 12, "act_failed", "retry", 200, 0), line
        assert line["client"] == "127.0.0.1", line
        assert 0 < line["db_us"] <= line["duration_us"], line
        # the same id again: a replay, counted
        r = retry(svc.nginx.port, rid="obs-log-1")
        assert r.json["code"] == 0, r
        for path in ("/metrics", "/healthz", "/status"):
            assert svc.status(path).status == 200
        # a request after the scrapes: its line is written after theirs
        retry(svc.nginx.port, node="act_two_out", rid="obs-log-2",
              bk_app_secret="wrong")
        last = svc.pool.request_line("obs-log-2")
        assert last["app"] == "" and last["node_id"] == "act_two_out", last
        paths = [l.get("path") for l in svc.pool.log_lines()
                 if l.get("msg") == "request"]
        assert not [p for p in paths if p in ("/metrics", "/healthz", "/status")], paths
        assert metrics(svc)["operate_node_replays_total"] == 1
    finally:
        svc.stop()


def test_scrapes_logged_at_debug(env):
    svc = harness.Service(env, name="obs-debug", log_level="debug")
    try:
        assert svc.status("/metrics").status == 200
        harness.wait_for(lambda: [l for l in svc.pool.log_lines()
                                  if l.get("msg") == "request"
                                  and l.get("path") == "/metrics"
                                  and l.get("level") == "debug"], 10,
                         "the scrape's debug line")
    finally:
        svc.stop()


SLOW_OUTBOX = ("CREATE TRIGGER t_obs_slow BEFORE INSERT ON `opn$outbox` "
               "FOR EACH ROW SET @obs_slept = SLEEP(0.4)")


def test_slow_request_line(env):
    env.db.reset_demo()
    svc = None
    try:
        env.db.exec(SLOW_OUTBOX)
        svc = harness.Service(env, name="obs-slow", slow_request_ms=300)
        # fast: refused before the database's action
        retry(svc.nginx.port, rid="obs-fast", bk_app_secret="wrong")
        svc.pool.request_line("obs-fast")
        r = retry(svc.nginx.port, rid="obs-slow")
        assert r.json["code"] == 0, r
        svc.pool.request_line("obs-slow")
        slow = [l for l in svc.pool.log_lines() if l.get("msg") == "slow request"]
        assert len(slow) == 1, slow
        s = slow[0]
        assert (s["level"], s["request_id"], s["action"], s["node_id"],
                s["slow_request_ms"]) == ("warn", "obs-slow", "retry",
                                          "act_failed", 300), s
        assert s["duration_us"] >= 300000 and s["db_us"] >= 300000, s
        m = metrics(svc)
        assert m['operate_node_request_duration_seconds_bucket'
                 '{action="retry",le="0.25"}'] == 1     # only the fast one
    finally:
        env.db.exec("DROP TRIGGER IF EXISTS t_obs_slow")
        if svc:
            svc.stop()


# The first three outbox inserts fail: a deadlock, a lock wait timeout, a
# failed commit (a Galera node leaving the primary component). The queue is
# a MEMORY table, which the rollbacks do not undo.
FAIL_SEQ = [
    "CREATE TABLE t_obs_fail (k INT NOT NULL, err INT NOT NULL) ENGINE=MEMORY",
    "CREATE TRIGGER t_obs_fail BEFORE INSERT ON `opn$outbox` FOR EACH ROW "
    "BEGIN DECLARE k0 INT; DECLARE e INT; "
    "SELECT MIN(k) INTO k0 FROM t_obs_fail; "
    "IF k0 IS NOT NULL THEN "
    "SELECT err INTO e FROM t_obs_fail WHERE k = k0; "
    "DELETE FROM t_obs_fail WHERE k = k0; "
    "IF e = 1213 THEN SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, "
    "MESSAGE_TEXT = 'Deadlock found when trying to get lock'; "
    "ELSEIF e = 1205 THEN SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1205, "
    "MESSAGE_TEXT = 'Lock wait timeout exceeded'; "
    "ELSE SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1180, "
    "MESSAGE_TEXT = 'Got error 6 during COMMIT'; END IF; "
    "END IF; END",
    "INSERT INTO t_obs_fail VALUES (1, 1213), (2, 1205), (3, 1180)"]


def test_db_retries_by_reason(env):
    env.db.reset_demo()
    svc = None
    try:
        for sql in FAIL_SEQ:
            env.db.exec(sql)
        svc = harness.Service(env, name="obs-retry", workers=1)
        r = retry(svc.nginx.port)
        assert r.status == 200 and r.json["code"] == 0, r     # the fourth try
        assert env.db.scalar("SELECT COUNT(*) FROM t_obs_fail") == 0
        m = metrics(svc)
        assert (m['operate_node_db_retries_total{reason="deadlock"}'],
                m['operate_node_db_retries_total{reason="lock_wait"}'],
                m['operate_node_db_retries_total{reason="commit"}']) == (1, 1, 1), m
    finally:
        env.db.exec("DROP TRIGGER IF EXISTS t_obs_fail")
        env.db.exec("DROP TABLE IF EXISTS t_obs_fail")
        if svc:
            svc.stop()


class Proxy:
    """A TCP forwarder to the database; kill() closes it and every
    connection through it, as a host that goes away."""

    def __init__(self, port):
        self.to = port
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.conns = []
        self.dead = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.dead:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.to))
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def kill(self):
        self.dead = True
        self.ls.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_db_host_failover_counted(env):
    env.db.reset_demo()
    pw = os.path.join(env.top, "obs-failover.pw")
    env.db.add_user("obs_failover", "127.0.0.1", "ALL", pw)
    p1, p2 = Proxy(env.db.port), Proxy(env.db.port)
    svc = None
    try:
        svc = harness.Service(env, name="obs-failover", workers=1, db_socket="",
                              db_hosts="127.0.0.1:%d, 127.0.0.1:%d" % (p1.port, p2.port),
                              db_user="obs_failover", db_password_file=pw,
                              db_failback_interval=0)
        r = retry(svc.nginx.port, bk_app_secret="wrong")    # on the first host
        assert r.status == 200, r
        assert metrics(svc)['operate_node_db_host_changes_total{reason="failover"}'] == 0
        p1.kill()
        end = time.monotonic() + 20
        while True:
            r = retry(svc.nginx.port)
            if r.status == 200 or time.monotonic() > end:
                break
            time.sleep(0.3)
        assert r.status == 200 and r.json["code"] == 0, r
        m = metrics(svc)
        assert m['operate_node_db_host_changes_total{reason="failover"}'] == 1, m
        moved = [l for l in svc.pool.log_lines()
                 if l.get("msg", "").startswith("database host changed")]
        assert moved and re.search(r":%d -> 127\.0\.0\.1:%d" % (p1.port, p2.port),
                                   moved[0]["msg"]), moved
    finally:
        if svc:
            svc.stop()
        p1.kill()
        p2.kill()
        env.db.exec("DROP USER IF EXISTS obs_failover@'127.0.0.1'")


def test_readme_lists_every_metric(env):
    """Every series the program can write is in the README's metric table,
    and the example alert rules use only series that exist."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "app", "metrics.c")) as f:
        written = set(re.findall(r"# TYPE (operate_node_\w+) ", f.read()))
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    section = readme.split("## Monitoring: metrics, alerts, runbook", 1)[1]
    section = section.split("\n## ", 1)[0]
    table = set(re.findall(r"^\| `(operate_node_\w+)[{`]", section, re.M))
    assert written and written == table, (written - table, table - written)
    rules = section.split("```yaml", 1)[1].split("```", 1)[0]
    used = {re.sub(r"_(bucket|sum|count)$", "", n) if n.startswith(
        "operate_node_request_duration") else n
        for n in re.findall(r"(operate_node_\w+)", rules)}
    assert used and used <= written, used - written
    for alert in re.findall(r"alert: (\w+)", rules):
        assert "**%s**" % alert in section, alert      # each has a runbook entry
