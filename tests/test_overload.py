"""Overload (issue 22, item 3): when the pool's listen queue is full the
web server's connect fails, and the reply says what is true: nothing was
applied, send it again after Retry-After. Only a reply cut off after the
request reached the pool says the outcome is unknown. The queue's length,
limit and maximum and the all-workers-busy count are in /metrics and
/status. Traffic goes only to loopback."""
import os
import re
import signal
import threading
import time

import harness
import rows

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
PATH = "/api/c/compapi/v2/sops/operate_node/2/12/"


def metric(svc, name):
    text = svc.status("/metrics").raw.decode()
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, (name, text[-2000:])
    return int(m.group(1))


def retry(port, node, results, timeout=90):
    try:
        r = harness.http_request(port, "POST", PATH,
                                 dict(CRED, node_id=node, action="retry"),
                                 timeout=timeout)
        results.append((node, r))
    except Exception as e:  # noqa: BLE001
        results.append((node, e))


def kind(r):
    """applied, not_applied (with Retry-After) or unknown."""
    if r.status == 200 and r.json and r.json["code"] == 0:
        return "applied"
    assert r.json and r.json["result"] is False, r
    msg = r.json["message"]
    if "nothing was applied" in msg:
        assert r.headers.get("retry-after") == "1", (r, r.headers)
        return "not_applied"
    assert "outcome is unknown" in msg, r
    return "unknown"


def check_truthful(env, results):
    """Each reply against the rows afterwards."""
    kinds = {}
    for node, r in results:
        assert not isinstance(r, Exception), (node, r)
        k = kind(r)
        kinds[k] = kinds.get(k, 0) + 1
        state = rows.state_name(env.db, node)
        if k == "applied":
            assert state == "READY", (node, state, r)
        elif k == "not_applied":
            assert state == "FAILED", (node, state, r)
            assert not env.db.query("SELECT 1 FROM `opn$replay` WHERE node_id = %s",
                                    node), (node, r)
    return kinds


def test_full_queue_says_nothing_was_applied(env):
    """One worker, stopped; listen_backlog 2. Of 12 requests, those that
    found the queue full are answered at once: 502, nothing was applied,
    Retry-After. The queued ones are served when the worker goes on."""
    env.db.reset_demo()
    nodes = rows.seed(env.db, "failed", 12, "fullq_")
    svc = harness.Service(env, name="fullq-pool", workers=1, listen_backlog=2)
    w = svc.pool.workers()[0]
    results = []
    threads = [threading.Thread(target=retry, args=(svc.nginx.port, n, results))
               for n in nodes]
    os.kill(w, signal.SIGSTOP)
    try:
        for t in threads:
            t.start()
            time.sleep(0.05)
        harness.wait_for(lambda: len(results) >= 8, 10, "the refused replies")
        st = svc.status("/status").json
        assert st["listen_queue_limit"] == 2, st
        assert st["listen_queue"] >= 2, st
        assert metric(svc, "operate_node_listen_queue") >= 2
        assert metric(svc, "operate_node_listen_queue_limit") == 2
        refused = [(n, r) for n, r in results]
        for n, r in refused:
            assert r.status == 502, r
            assert kind(r) == "not_applied", r
            assert r.headers["x-request-id"] == r.json["request_id"]
    finally:
        os.kill(w, signal.SIGCONT)
    for t in threads:
        t.join()
    try:
        kinds = check_truthful(env, results)
        assert kinds.get("applied", 0) >= 2 and kinds.get("not_applied", 0) >= 8, kinds
        assert metric(svc, "operate_node_listen_queue_max") >= 2
        assert metric(svc, "operate_node_all_workers_busy_total") >= 1
    finally:
        svc.stop()


def test_replies_stay_truthful_under_overload(env):
    """64 clients against 2 workers with a queue of 4, each request a
    retry of a node of its own: every reply is a success that was applied
    once, a "nothing was applied" whose node is untouched, or an "outcome
    unknown"; the pool keeps serving."""
    env.db.reset_demo()
    n = 64 * 12
    nodes = rows.seed(env.db, "failed", n, "ovl_")
    svc = harness.Service(env, name="ovl-pool", workers=2, listen_backlog=4)
    results = []
    pending = list(nodes)
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                if not pending:
                    return
                node = pending.pop()
            retry(svc.nginx.port, node, results)

    threads = [threading.Thread(target=client) for _ in range(64)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        kinds = check_truthful(env, results)
        print("     overload: %s" % kinds)
        assert len(results) == n
        assert kinds.get("applied", 0) > 0 and kinds.get("not_applied", 0) > 0, kinds
        assert metric(svc, "operate_node_all_workers_busy_total") > 0
    finally:
        svc.stop()
