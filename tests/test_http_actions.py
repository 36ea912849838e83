"""Every action's success end to end through nginx, both route forms, both
scopes, tokens; request and trace ids. Each test checks the reply and the
rows written (and that nothing else changed)."""
import json
import os
import re
import subprocess

import harness
import rows

SVC = None
CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}


def setup_module(env):
    global SVC
    env.db.reset_demo()
    SVC = harness.Service(env)


def teardown_module(env):
    SVC.stop()


def call(path="/operate_node/2/12/", headers=None, **body):
    b = dict(CRED)
    b.update(body)
    for k in [k for k, v in b.items() if v is None]:
        del b[k]
    return SVC.post(path, b, headers)


def ok(r):
    assert r.status == 200, r
    j = r.json
    assert j["result"] is True and j["code"] == 0, r
    assert j["data"] == "success" and j["message"] == "success", r
    assert r.headers["x-request-id"] == j["request_id"]
    assert r.headers["x-trace-id"] == j["trace_id"]
    return j


def changed(before, env):
    return sorted(harness.diff_snapshots(before, env.db.snapshot()))


def record(env, request_id):
    return rows.record(env.db, request_id)


def check_record(env, j, action, node, task=12, project=1, operator="admin"):
    rec = record(env, j["request_id"])
    assert rec["operator"] == operator
    assert rec["operate_type"] == action
    assert rec["operate_source"] == "api"
    assert rec["instance_id"] == task and rec["project_id"] == project
    assert rec["node_id"] == node
    # bk-sops writes "" for node actions; its task page shows each key of a
    # JSON object there as an unnamed row (issue 24 item 2)
    assert rec["extra_info"] == ""


def one_execute(env):
    """The only outbox row: a celery execute message; its kwargs."""
    ob = env.db.one("SELECT * FROM `opn$outbox`")
    assert (ob["kind"], ob["name"], ob["exchange"]) == (
        "celery", "pipeline.eri.celery.tasks.execute", "default"), ob
    assert ob["dispatched_time"] is None
    return ob, json.loads(ob["body"])


def test_retry_path_form(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    old = rows.state(env.db, "act_failed")
    j = ok(call(node_id="act_failed", action="retry"))
    st = rows.state(env.db, "act_failed")
    assert st["name"] == "READY" and st["retry"] == old["retry"] + 1
    assert st["version"] != old["version"]
    assert re.fullmatch(r"v[0-9a-f]{32}", st["version"]), st["version"]
    assert st["started_time"] is None and st["archived_time"] is None
    h = rows.history(env.db, "act_failed")
    assert h[0]["version"] == old["version"] and h[0]["retry"] == old["retry"]
    ob, kw = one_execute(env)
    assert ob["routing_key"] == "er_execute" and ob["priority"] == 100
    assert (kw["process_id"], kw["node_id"]) == (1, "act_failed")
    assert kw["root_pipeline_id"] == "pipe12" and kw["parent_pipeline_id"] == "pipe12"
    assert ob["request_id"] == j["request_id"]
    check_record(env, j, "retry", "act_failed")
    assert changed(before, env) == sorted([
        "eri_state", "eri_executionhistory", "opn$outbox",
        "operate_record_taskoperaterecord", "opn$replay"])


def test_retry_with_inputs(env):
    env.db.reset_demo()
    inputs = {"a": 0.1, "c": {"deep": [1, "二", None]}, "b": 1e2,
              "_escape_render_keys": ["c"]}
    ok(call(node_id="act_failed", action="retry", inputs=inputs))
    got = rows.inputs(env.db, "act_failed")
    assert got["a"] == {"need_render": True, "value": 0.1}
    assert got["c"] == {"need_render": False, "value": {"deep": [1, "二", None]}}
    assert got["b"]["need_render"] is False   # b was need_render false
    assert "_escape_render_keys" not in got
    assert "__executor_proxy" in got


def test_skip_legacy_form(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    j = ok(call("/api/c/compapi/v2/sops/operate_node/", bk_biz_id="2",
                task_id="12", node_id="act_failed", action="skip",
                scope="cmdb_biz"))
    st = rows.state(env.db, "act_failed")
    assert st["name"] == "FINISHED" and st["skip"] == 1
    assert st["archived_time"] is not None
    assert [(e[0], e[2], e[1]) for e in rows.executes(env.db)] == [
        ("execute", "act_not_reached", 1)]
    check_record(env, j, "skip", "act_failed")
    assert "eri_executionhistory" in changed(before, env)


def test_skip_exg(env):
    env.db.reset_demo()
    j = ok(call(node_id="exg_failed", action="skip_exg", flow_id="f_exg_b"))
    st = rows.state(env.db, "exg_failed")
    assert st["name"] == "FINISHED" and st["skip"] == 1
    assert [(e[0], e[2], e[1]) for e in rows.executes(env.db)] == [
        ("execute", "exg_b", 10)]
    check_record(env, j, "skip_exg", "exg_failed")


def test_callback(env):
    env.db.reset_demo()
    data = {"k": [1, 2.5, "x"], "u": "王", "n": None, "t": True, "e": {}}
    before = env.db.snapshot()
    j = ok(call(node_id="cb_wait", action="callback", data=data))
    cb = rows.callback_data(env.db, "cb_wait")
    assert json.loads(cb["data"]) == data and cb["version"] == harness.ver("v2-cb_wait")
    ob = env.db.one("SELECT * FROM `opn$outbox`")
    assert (ob["kind"], ob["name"], ob["routing_key"]) == (
        "celery", "pipeline.eri.celery.tasks.schedule", "er_schedule"), ob
    kw = json.loads(ob["body"])
    assert kw["schedule_id"] == 1 and kw["node_id"] == "cb_wait"
    assert kw["callback_data_id"] == cb["id"] and kw["process_id"] == 16
    check_record(env, j, "callback", "cb_wait")
    assert "eri_state" not in changed(before, env)


def test_callback_without_data_stores_empty_object(env):
    env.db.reset_demo()
    ok(call(node_id="cb_wait", action="callback"))
    assert json.loads(rows.callback_data(env.db, "cb_wait")["data"]) == {}


def test_pause_and_resume_subproc(env):
    env.db.reset_demo()
    j = ok(call(node_id="sub_running", action="pause_subproc"))
    assert rows.state_name(env.db, "sub_running") == "SUSPENDED"
    ob = rows.outbox(env.db)
    assert [(r["kind"], r["name"], r["routing_key"], r["kwargs"]) for r in ob] == [
        ("redis", "ZREM", "sops_executing_node_pool",
         ["sub_running_" + rows.state(env.db, "sub_running")["version"]])]
    check_record(env, j, "pause_subproc", "sub_running")
    env.db.exec("DELETE FROM `opn$outbox`")
    j = ok(call(node_id="sub_suspended", action="resume_subproc"))
    assert rows.state_name(env.db, "sub_suspended") == "RUNNING"
    ex = rows.executes(env.db)
    assert sorted((e[1], e[2]) for e in ex) == [(25, "ss_act1"), (26, "ss_act2")]
    assert all(e[4] == "sub_suspended" for e in ex)
    assert env.db.scalar("SELECT COUNT(*) FROM eri_process WHERE "
                         "suspended_by='sub_suspended'") == 0


def test_scope_project(env):
    env.db.reset_demo()
    j = ok(call("/operate_node/2/20/", scope="project", node_id="t20_act",
                action="retry"))
    check_record(env, j, "retry", "t20_act", task=20, project=2)


def test_other_cmdb_project(env):
    env.db.reset_demo()
    j = ok(call("/operate_node/5/40/", node_id="t40_act", action="skip"))
    check_record(env, j, "skip", "t40_act", task=40, project=4)


def test_token_names_the_operator(env):
    env.db.reset_demo()
    j = ok(call(bk_username=None, bk_token="demo-token-admin",
                node_id="act_failed", action="retry"))
    check_record(env, j, "retry", "act_failed", operator="admin")


def test_path_and_body_may_agree(env):
    env.db.reset_demo()
    ok(call("/prod/operate_node/2/12", bk_biz_id=2, task_id="12",
            node_id="act_failed", action="retry"))


def test_refusal_then_state_unchanged(env):
    env.db.reset_demo()
    ok(call(node_id="act_failed", action="retry"))
    before = env.db.snapshot()
    r = call(node_id="act_failed", action="retry")
    assert r.json["code"] == 3545000
    assert r.json["message"] == "node(act_failed) state is not FAILED, actual READY"
    assert changed(before, env) == []


# Request and trace ids ----------------------------------------------------

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def ids(headers):
    r = SVC.post("/operate_node/2/12/", dict(CRED, node_id="no_such_node",
                                            action="skip"), headers)
    assert r.json["request_id"] == r.headers["x-request-id"]
    assert r.json["trace_id"] == r.headers["x-trace-id"]
    return r.json["request_id"], r.json["trace_id"]


def test_request_id_order(env):
    assert ids({"X-Bkapi-Request-Id": "bk-1", "X-Request-Id": "xr-1"})[0] == "bk-1"
    assert ids({"X-Request-Id": "xr-2"})[0] == "xr-2"
    # invalid ones are skipped: space, quote, backslash, too long, empty
    for bad in ["has space", 'q"uote', "back\\slash", "x" * 65, ""]:
        assert ids({"X-Bkapi-Request-Id": bad, "X-Request-Id": "xr-3"})[0] == "xr-3"
    assert ids({"X-Request-Id": "y" * 64})[0] == "y" * 64


def test_request_id_from_nginx(env):
    """Without headers, nginx's $request_id arrives as REQUEST_ID."""
    a, _ = ids({})
    b, _ = ids({})
    assert re.fullmatch(r"[0-9a-f]{32}", a) and a != b
    log = open(SVC.nginx.dir + "/access.log").read()
    assert log  # nginx served them


def test_traceparent(env):
    assert ids({"traceparent": TP})[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    bad = [TP.upper(), "01" + TP[2:], TP[:3] + "0" * 32 + TP[35:],
           TP[:36] + "0" * 16 + TP[52:], TP + "-x", TP[:-1], "garbage"]
    for tp in bad:
        t = ids({"traceparent": tp})[1]
        assert re.fullmatch(r"[0-9a-f]{32}", t) and t != TP[3:35], tp


def cgi_fcgi(env, params, body=b""):
    """One request straight to the pool's socket, with exactly these
    params (no nginx): for what only the FastCGI params can show."""
    e = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
         "SCRIPT_NAME": "/operate_node/2/12/", "PATH": os.environ["PATH"]}
    e.update(params)
    p = subprocess.run(["cgi-fcgi", "-bind", "-connect", SVC.pool.sock],
                       input=body, env=e, capture_output=True, timeout=20)
    head, _, payload = p.stdout.partition(b"\r\n\r\n")
    return head.decode(), json.loads(payload)


def test_ids_generated_without_any(env):
    body = json.dumps(dict(CRED, node_id="no_such_node", action="skip")).encode()
    head, j = cgi_fcgi(env, {}, body)
    assert re.fullmatch(r"[0-9a-f]{32}", j["request_id"])
    assert re.fullmatch(r"[0-9a-f]{32}", j["trace_id"])
    assert "X-Request-Id: " + j["request_id"] in head
    head, j2 = cgi_fcgi(env, {"REQUEST_ID": "bad id"}, body)
    assert re.fullmatch(r"[0-9a-f]{32}", j2["request_id"])
    assert j2["request_id"] != j["request_id"]
    _, j3 = cgi_fcgi(env, {"REQUEST_ID": "from-param"}, body)
    assert j3["request_id"] == "from-param"
    # routing from SCRIPT_NAME + PATH_INFO when no URI params are sent
    _, j4 = cgi_fcgi(env, {"SCRIPT_NAME": "/mount", "PATH_INFO": "/operate_node/2/12/"}, body)
    assert j4["code"] == 3540400


def test_details_go_to_the_log_line(env):
    """What the action did (versions, the chosen flow) is in the request's
    log line, not in the operation record."""
    env.db.reset_demo()
    old = rows.state(env.db, "exg_failed")
    j = ok(call(node_id="exg_failed", action="skip_exg", flow_id="f_exg_b"))
    check_record(env, j, "skip_exg", "exg_failed")
    line = SVC.pool.request_line(j["request_id"])
    assert json.loads(line["details"]) == {
        "version": old["version"], "new_version": rows.state(env.db, "exg_failed")["version"],
        "flow_id": "f_exg_b"}
    r = call(node_id="exg_failed", action="skip_exg", flow_id="f_exg_b")
    assert r.json["code"] == 3545000
    assert "details" not in SVC.pool.request_line(r.json["request_id"])


def test_retry_of_a_child_task_revives_its_parent(env):
    """Issue 24 item 1 end to end: task 79 is an independent child task of
    task 12's node w12 (FAILED when the child failed); retrying the child's
    failed node brings w12 back to RUNNING at its version, waiting for the
    child again, in the same transaction."""
    env.db.reset_demo()
    v12 = rows.parent_node(env.db, "pipe12", "w12")
    rows.engine_task(env.db, project=8, biz=80, task=79, node="n79")
    rows.child_of(env.db, 79, 12, 12, "w12", v12)
    env.db.exec("INSERT INTO `opn$grant` (project_id, username, action) "
                "VALUES (8, 'admin', 'task_operate')")
    before = env.db.snapshot()
    j = ok(call(path="/operate_node/80/79/", node_id="n79", action="retry"))
    check_record(env, j, "retry", "n79", task=79, project=8)
    assert rows.state_name(env.db, "n79") == "READY"
    st = rows.state(env.db, "w12")
    assert (st["name"], st["version"], st["archived_time"]) == ("RUNNING", v12, None)
    assert env.db.scalar("SELECT expired FROM eri_schedule WHERE node_id = 'w12'") == 0
    out = json.loads(env.db.scalar("SELECT outputs FROM eri_executiondata WHERE node_id = 'w12'"))
    assert "ex_data" not in out
    assert changed(before, env) == sorted([
        "eri_state", "eri_executionhistory", "eri_schedule", "eri_executiondata",
        "opn$outbox", "operate_record_taskoperaterecord", "opn$replay"])
    line = SVC.pool.request_line(j["request_id"])
    assert json.loads(line["details"])["revived_parent_nodes"] == [
        {"task_id": 79, "node_id": "w12", "version": v12}]
    # its parent's node now waits for it: skipping it is refused
    r = call(node_id="w12", action="skip")
    assert (r.json["code"], r.json["message"]) == \
        (3545000, "node(w12) state is not FAILED, actual RUNNING")


def test_healthz_and_metrics(env):
    r = SVC.status("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}
    r = SVC.status("/metrics")
    assert r.status == 200
    text = r.raw.decode()
    assert re.search(r'^operate_node_requests_total\{action="retry",code="0"\} [1-9]', text, re.M), text
    assert "operate_node_request_duration_seconds_bucket" in text
    assert "operate_node_worker_restarts_total 0" in text


def test_status_page(env):
    r = SVC.status("/status")
    assert r.status == 200, r
    j = r.json
    assert j["workers"] == 2 and len(j["slots"]) == 2
    # the status socket has its own process: both workers are idle
    assert j["idle"] == 2 and j["busy"] == 0 and j["reading"] == 0, j
    assert sorted(s["pid"] for s in j["slots"]) == sorted(SVC.pool.workers())
    assert SVC.pool.status_process() not in SVC.pool.workers()
    assert all(s["state"] == "idle" for s in j["slots"])
    assert all("request_id" not in s for s in j["slots"])   # status_detail = basic
    assert j["requests"] > 0 and j["restarts"] == 0
    r = harness.http_request(SVC.nginx.status_port, "POST", "/status", b"{}")
    assert r.status == 405
