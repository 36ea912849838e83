"""The undocumented node commands bk-sops accepts (pause, resume,
forced_fail, retry_subprocess, skip_cpg) end to end through nginx: each
success with its reply and the rows written (and nothing else changed);
each refusal with its reply and every table unchanged (table-driven:
CASES), skip_cpg's field errors included."""
import json
import re

import harness
import rows

SVC = None
CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
PATH = "/operate_node/2/12/"        # business 2 = project 1, task 12
DROP = object()


def setup_module(env):
    global SVC
    env.db.reset_demo()
    SVC = harness.Service(env, name="more-pool")


def teardown_module(env):
    SVC.stop()


def call(path=PATH, headers=None, **body):
    b = dict(CRED)
    for k, v in body.items():
        if v is DROP:
            b.pop(k, None)
        else:
            b[k] = v
    return SVC.post(path, b, headers)


def ok(r):
    assert r.status == 200, r
    j = r.json
    assert (j["result"], j["code"], j["data"], j["message"]) == \
        (True, 0, "success", "success"), r
    assert r.headers["x-request-id"] == j["request_id"]
    assert r.headers["x-trace-id"] == j["trace_id"]
    return j


def refused(r, code, message):
    assert r.status == 200, r
    j = r.json
    assert (j["result"], j["data"], j["code"], j["message"]) == \
        (False, None, code, message), r
    assert r.headers["x-request-id"] == j["request_id"]


def changed(before, env):
    return sorted(harness.diff_snapshots(before, env.db.snapshot()))


def state(env, node):
    return rows.state(env.db, node)


def process(env, pid):
    return rows.process(env.db, pid)


def outbox(env):
    """Every opn$outbox row: celery ones as (task, process, node, root,
    parent, request id), redis ones as (command, key, args, request id)."""
    out = []
    for r in rows.outbox(env.db):
        k = r["kwargs"]
        if r["kind"] == "celery" and "process_id" in k:
            out.append((r["name"].rsplit(".", 1)[1], k["process_id"], k["node_id"],
                        k["root_pipeline_id"], k["parent_pipeline_id"], r["request_id"]))
        elif r["kind"] == "celery":
            out.append((r["name"].rsplit(".", 1)[1], k, r["request_id"]))
        else:
            out.append((r["name"], r["routing_key"], k, r["request_id"]))
    return out


class got:
    """got(x) == expected: an assertion that shows both sides on failure."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, expected):
        assert self.value == expected, "got %r\nexpected %r" % (self.value, expected)
        return True


def zrem(node, version, rid):
    return ("ZREM", "sops_executing_node_pool", ["%s_%s" % (node, version)], rid)


def check_record(env, j, action, node, operator="admin"):
    """The operation record (extra_info "", as bk-sops writes it for node
    actions) and the replay record of the reply's request; returns the
    details of the request's log line, parsed (None when it has none)."""
    rec = rows.record(env.db, j["request_id"])
    assert (rec["operator"], rec["operate_type"], rec["operate_source"],
            rec["instance_id"], rec["project_id"], rec["node_id"], rec["extra_info"]) == \
        (operator, action, "api", 12, 1, node, ""), rec
    rep = rows.replay(env.db, j["request_id"])
    assert (rep["action"], rep["task_id"], rep["node_id"]) == (action, 12, node)
    line = SVC.pool.request_line(j["request_id"])
    assert (line["action"], line["code"]) == (action, 0), line
    return json.loads(line["details"]) if "details" in line else None


def is_version(v):
    assert re.fullmatch(r"v[0-9a-f]{32}", v), v


# pause / resume --------------------------------------------------------------

def test_pause(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    old = state(env, "act_running")
    j = ok(call(node_id="act_running", action="pause"))
    new = state(env, "act_running")
    assert (old["name"], new["name"]) == ("RUNNING", "SUSPENDED")
    assert new["version"] == old["version"]
    assert check_record(env, j, "pause", "act_running") is None
    got(outbox(env)) == [zrem("act_running", old["version"], j["request_id"])]
    got(changed(before, env)) == sorted(["operate_record_taskoperaterecord", "eri_state",
                                         "opn$outbox", "opn$replay"])


def test_pause_by_appointment(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    j = ok(call(node_id="srn_end", action="pause"))
    st = state(env, "srn_end")
    # bamboo creates the row of a node paused by appointment with empty ids
    assert (st["root_id"], st["parent_id"], st["name"]) == ("", "", "SUSPENDED")
    is_version(st["version"])
    assert (st["retry"], st["skip"], st["started_time"], st["archived_time"]) == (0, 0, None, None)
    got(check_record(env, j, "pause", "srn_end")) == \
        {"appointment": True, "new_version": st["version"]}
    got(outbox(env)) == [zrem("srn_end", st["version"], j["request_id"])]
    got(changed(before, env)) == sorted(["operate_record_taskoperaterecord", "eri_state",
                                         "opn$outbox", "opn$replay"])


def test_resume(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    j = ok(call(node_id="sr_paused", action="resume"))
    assert state(env, "sr_paused")["name"] == "READY"
    p = process(env, 40)
    assert (p["suspended"], p["suspended_by"]) == (0, "")
    got(outbox(env)) == [("execute", 40, "sr_paused", "pipe12", "sub_running",
                            j["request_id"])]
    got(check_record(env, j, "resume", "sr_paused")) == {"resumed_processes": 1}
    got(changed(before, env)) == sorted(["opn$outbox", "operate_record_taskoperaterecord", "eri_process",
                                    "eri_state", "opn$replay"])


def test_pause_then_resume_by_appointment(env):
    env.db.reset_demo()
    p = ok(call(node_id="act_not_reached", action="pause"))
    paused = state(env, "act_not_reached")["version"]
    ok(call(node_id="act_not_reached", action="resume"))
    assert state(env, "act_not_reached")["name"] == "READY"
    # the pause left the timeout pool; the resume woke no process
    got(outbox(env)) == [zrem("act_not_reached", paused, p["request_id"])]


# forced_fail -----------------------------------------------------------------

def test_forced_fail(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    old = state(env, "ff_running")
    j = ok(call(node_id="ff_running", action="forced_fail"))
    new = state(env, "ff_running")
    assert (old["name"], new["name"]) == ("RUNNING", "FAILED")
    is_version(new["version"])
    assert new["archived_time"] is not None
    assert process(env, 41)["asleep"] == 1
    ex = env.db.one("SELECT * FROM eri_executiondata WHERE node_id = 'ff_running'")
    assert json.loads(ex["outputs"]) == {
        "progress": 50, "ex_data": "The node has been terminated by admin.",
        "_forced_failed": True}
    got(check_record(env, j, "forced_fail", "ff_running")) == \
        {"version": old["version"], "new_version": new["version"]}
    # out of the timeout pool, and bk-sops' failure notices: task 12 has a
    # callback record and is not a child task
    rid = j["request_id"]
    got(sorted(outbox(env), key=repr)) == sorted([
        zrem("ff_running", new["version"], rid),
        ("task_callback", {"task_id": 12, "task_success": False}, rid),
        ("send_taskflow_message", {"task_id": 12, "msg_type": "atom_failed",
                                   "node_name": "running, with execution data"}, rid)],
        key=repr)
    got(changed(before, env)) == sorted(["operate_record_taskoperaterecord", "eri_executiondata",
                                         "eri_process", "eri_state", "opn$replay", "opn$outbox"])


def test_forced_fail_names_the_token_user(env):
    env.db.reset_demo()
    j = ok(call(node_id="act_running", action="forced_fail", bk_username=DROP,
                bk_token="demo-token-admin"))
    ex = env.db.one("SELECT * FROM eri_executiondata WHERE node_id = 'act_running'")
    assert json.loads(ex["inputs"]) == {}
    assert json.loads(ex["outputs"]) == {
        "ex_data": "The node has been terminated by admin.", "_forced_failed": True}
    check_record(env, j, "forced_fail", "act_running")


def test_forced_fail_then_retry(env):
    env.db.reset_demo()
    ok(call(node_id="cb_wait", action="forced_fail"))
    refused(call(node_id="cb_wait", action="callback", data={"x": 1}), 3545000,
            "node(cb_wait) state is not RUNNING, actual FAILED")
    ok(call(node_id="cb_wait", action="retry"))
    assert state(env, "cb_wait")["name"] == "READY"
    got([o[:3] for o in outbox(env) if o[0] == "execute"]) == [("execute", 16, "cb_wait")]


# retry_subprocess ------------------------------------------------------------

def test_retry_subprocess(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    old = state(env, "sub_failed")
    j = ok(call(node_id="sub_failed", action="retry_subprocess"))
    new = state(env, "sub_failed")
    assert (new["name"], new["retry"]) == ("READY", old["retry"] + 1)
    is_version(new["version"])
    assert (new["started_time"], new["archived_time"]) == (None, None)
    assert json.loads(process(env, 45)["pipeline_stack"]) == ["pipe12"]
    h = env.db.one("SELECT * FROM eri_executionhistory WHERE node_id = 'sub_failed'")
    assert (h["version"], h["retry"]) == (old["version"], old["retry"])
    # parent: the stack's top before the pop, as bamboo's retry_subprocess sends it
    got(outbox(env)) == [("execute", 45, "sub_failed", "pipe12", "sub_failed", j["request_id"])]
    got(check_record(env, j, "retry_subprocess", "sub_failed")) == \
        {"version": old["version"], "new_version": new["version"]}
    got(changed(before, env)) == sorted(["opn$outbox", "operate_record_taskoperaterecord",
                                    "eri_executionhistory", "eri_process",
                                    "eri_state", "opn$replay"])


def test_retry_nested_subprocess(env):
    env.db.reset_demo()
    j = ok(call(node_id="srs_failed", action="retry_subprocess"))
    assert json.loads(process(env, 46)["pipeline_stack"]) == ["pipe12", "sub_running"]
    got(outbox(env)) == [("execute", 46, "srs_failed", "pipe12", "sub_running",
                            j["request_id"])]


# skip_cpg --------------------------------------------------------------------

def test_skip_cpg(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    old = state(env, "cpg_failed")
    j = ok(call(node_id="cpg_failed", action="skip_cpg", flow_ids=["f_cpg_a", "f_cpg_b"],
                converge_gateway_id="cg12"))
    new = state(env, "cpg_failed")
    assert (new["name"], new["skip"]) == ("FINISHED", 1)
    is_version(new["version"])
    parent = process(env, 15)
    assert (parent["need_ack"], parent["ack_num"], parent["asleep"]) == (2, 0, 1)
    kids = env.db.query("SELECT * FROM eri_process WHERE parent_id = 15 ORDER BY id")
    assert [(k["id"], k["current_node_id"], k["destination_id"], k["asleep"], k["dead"],
             json.loads(k["pipeline_stack"])) for k in kids] == [
        (64, "exg_a", "cg12", 1, 0, ["pipe12"]), (65, "exg_b", "cg12", 1, 0, ["pipe12"])]
    got(outbox(env)) == [("execute", 64, "exg_a", "pipe12", "pipe12", j["request_id"]),
                         ("execute", 65, "exg_b", "pipe12", "pipe12", j["request_id"]),
                         zrem("cpg_failed", new["version"], j["request_id"])]
    h = env.db.one("SELECT * FROM eri_executionhistory WHERE node_id = 'cpg_failed'")
    assert h["version"] == old["version"]
    got(check_record(env, j, "skip_cpg", "cpg_failed")) == {
        "version": old["version"], "new_version": new["version"],
        "flow_ids": ["f_cpg_a", "f_cpg_b"], "child_processes": [64, 65]}
    got(changed(before, env)) == sorted(["opn$outbox", "operate_record_taskoperaterecord",
                                    "eri_executionhistory", "eri_process",
                                    "eri_state", "opn$replay"])


def test_skip_cpg_legacy_form_in_subprocess(env):
    env.db.reset_demo()
    j = ok(call("/api/c/compapi/v2/sops/operate_node/", bk_biz_id="2", task_id="12",
                node_id="sr_cpg", action="skip_cpg", flow_ids=["f_srcpg_b"],
                converge_gateway_id="sr_cg"))
    kid = env.db.one("SELECT * FROM eri_process WHERE parent_id = 49")
    assert (kid["current_node_id"], kid["destination_id"], kid["priority"], kid["queue"]) == \
        ("srcpg_b", "sr_cg", 50, "q_demo")
    got(outbox(env)) == [("execute", kid["id"], "srcpg_b", "pipe12", "sub_running",
                          j["request_id"]),
                         zrem("sr_cpg", state(env, "sr_cpg")["version"], j["request_id"])]


# Fields ----------------------------------------------------------------------

def test_undeclared_fields_are_ignored(env):
    """flow_ids and converge_gateway_id are skip_cpg's: other actions ignore
    them, whatever they hold."""
    env.db.reset_demo()
    ok(call(node_id="act_ready", action="pause", flow_ids="garbage",
            converge_gateway_id=12))
    ok(call(node_id="ff_running", action="forced_fail", flow_ids=[1, 1]))


def test_replay_through_nginx(env):
    """The same X-Request-Id again: success, nothing applied twice; with
    another node: refused."""
    env.db.reset_demo()
    h = {"X-Request-Id": "more-replay-1"}
    body = dict(node_id="cpg_failed", action="skip_cpg", flow_ids=["f_cpg_a"],
                converge_gateway_id="cg12")
    ok(call(headers=h, **body))
    before = env.db.snapshot()
    assert ok(call(headers=h, **body))["request_id"] == "more-replay-1"
    refused(call(headers=h, node_id="sub_failed", action="retry_subprocess"), 3540000,
            "request_id(more-replay-1) was already used for another operation")
    got(changed(before, env)) == []


def test_metrics_count_the_new_actions(env):
    env.db.reset_demo()
    ok(call(node_id="act_ready", action="pause"))
    refused(call(node_id="act_failed", action="forced_fail"), 3545000,
            "node(act_failed) state is not RUNNING, actual FAILED")
    text = SVC.status("/metrics").raw.decode()
    assert re.search(r'^operate_node_requests_total\{action="pause",code="0"\} [1-9]',
                     text, re.M), text
    assert re.search(r'^operate_node_requests_total\{action="forced_fail",code="3545000"\} '
                     r'[1-9]', text, re.M), text


# Refusals: one row each; every table unchanged --------------------------------
# (name, body fields, code, message)

BAD_FLOWS = ("flow_ids must be a non-empty array of at most 64 flow id strings "
             "of 1 to 64 bytes")
BAD_CG = "converge_gateway_id must be a string of 1 to 64 bytes without control characters"
CPG = dict(node_id="cpg_failed", action="skip_cpg", flow_ids=["f_cpg_a"],
           converge_gateway_id="cg12")
NF = "state is not FAILED, actual"
NOGO = "is not an outgoing flow of gateway"

REFUSALS = [
    # the common checks, for the new actions too
    ("pause unknown node", dict(node_id="no_such_node", action="pause"),
     3540400, "node(no_such_node) does not exist in task(12)"),
    ("skip_cpg node of another task", dict(CPG, node_id="t17_act"),
     3540400, "node(t17_act) does not exist in task(12)"),
    ("forced_fail unknown action name", dict(node_id="ff_running", action="forced_fail_activity"),
     3540000, "action(forced_fail_activity) is not supported"),
    # pause
    ("pause subprocess", dict(node_id="sub_running", action="pause"),
     3545000, "node(sub_running) is a subprocess, use pause_subproc"),
    ("pause failed", dict(node_id="act_failed", action="pause"),
     3545000, "can not pause node(act_failed) in state FAILED"),
    ("pause finished", dict(node_id="act_finished", action="pause"),
     3545000, "can not pause node(act_finished) in state FINISHED"),
    ("pause paused", dict(node_id="act_paused", action="pause"),
     3545000, "can not pause node(act_paused) in state SUSPENDED"),
    # resume
    ("resume subprocess", dict(node_id="sub_suspended", action="resume"),
     3545000, "node(sub_suspended) is a subprocess, use resume_subproc"),
    ("resume running", dict(node_id="act_running", action="resume"),
     3545000, "node(act_running) is not paused, actual RUNNING"),
    ("resume not reached", dict(node_id="act_not_reached", action="resume"),
     3545000, "node(act_not_reached) is not paused, actual CREATED"),
    # forced_fail
    ("forced_fail gateway", dict(node_id="exg_running", action="forced_fail"),
     3545000, "node(exg_running) is not a service activity, actual ExclusiveGateway"),
    ("forced_fail subprocess", dict(node_id="sub_running", action="forced_fail"),
     3545000, "node(sub_running) is not a service activity, actual SubProcess"),
    ("forced_fail failed", dict(node_id="act_failed", action="forced_fail"),
     3545000, "node(act_failed) state is not RUNNING, actual FAILED"),
    ("forced_fail not reached", dict(node_id="act_not_reached", action="forced_fail"),
     3545000, "node(act_not_reached) state is not RUNNING, actual CREATED"),
    ("forced_fail no live process", dict(node_id="ff_no_proc", action="forced_fail"),
     3545000, "can not find process with current node id: ff_no_proc"),
    ("forced_fail two live processes", dict(node_id="ff_two_procs", action="forced_fail"),
     3545000, "found multiple processes at node(ff_two_procs)"),
    ("forced_fail pickled execution data", dict(node_id="ff_pickled", action="forced_fail"),
     3545000, "can not fail node(ff_pickled): its execution data is pickle, which SQL can "
              "not edit"),
    # retry_subprocess
    ("retry_subprocess activity", dict(node_id="act_failed", action="retry_subprocess"),
     3545000, "node(act_failed) is not a subprocess, actual ServiceActivity"),
    ("retry_subprocess running", dict(node_id="sub_running", action="retry_subprocess"),
     3545000, "node(sub_running) %s RUNNING" % NF),
    ("retry_subprocess not started", dict(node_id="sub_not_started", action="retry_subprocess"),
     3545000, "node(sub_not_started) %s CREATED" % NF),
    ("retry_subprocess no parked process",
     dict(node_id="sub_failed_no_proc", action="retry_subprocess"),
     3545000, "can not find sleep process with current node id: sub_failed_no_proc"),
    ("retry_subprocess two parked processes",
     dict(node_id="sub_failed_two_procs", action="retry_subprocess"),
     3545000, "found multiple sleep processes at node(sub_failed_two_procs)"),
    # skip_cpg: the fields (3540000, checked by the service before the database)
    ("skip_cpg flow_ids missing", dict(CPG, flow_ids=DROP),
     3540000, "flow_ids is required for skip_cpg"),
    ("skip_cpg flow_ids empty", dict(CPG, flow_ids=[]), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids a string", dict(CPG, flow_ids="f_cpg_a"), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids an object", dict(CPG, flow_ids={"f_cpg_a": True}), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids null", dict(CPG, flow_ids=None), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids a number", dict(CPG, flow_ids=1), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids with a number", dict(CPG, flow_ids=["f_cpg_a", 2]), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids with null", dict(CPG, flow_ids=[None]), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids with a list", dict(CPG, flow_ids=[["f_cpg_a"]]), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids with an empty id", dict(CPG, flow_ids=[""]), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids with a 65-byte id", dict(CPG, flow_ids=["f" * 65]), 3540000, BAD_FLOWS),
    ("skip_cpg flow_ids with a trailing space", dict(CPG, flow_ids=["f_cpg_a "]),
     3540000, BAD_FLOWS),
    ("skip_cpg 65 flow_ids", dict(CPG, flow_ids=["f%d" % i for i in range(65)]),
     3540000, BAD_FLOWS),
    ("skip_cpg flow_ids duplicate", dict(CPG, flow_ids=["f_cpg_a", "f_cpg_b", "f_cpg_a"]),
     3540000, "flow_ids lists flow(f_cpg_a) twice"),
    ("skip_cpg converge_gateway_id missing", dict(CPG, converge_gateway_id=DROP),
     3540000, "converge_gateway_id is required for skip_cpg"),
    ("skip_cpg converge_gateway_id null", dict(CPG, converge_gateway_id=None), 3540000, BAD_CG),
    ("skip_cpg converge_gateway_id a number", dict(CPG, converge_gateway_id=12),
     3540000, BAD_CG),
    ("skip_cpg converge_gateway_id empty", dict(CPG, converge_gateway_id=""), 3540000, BAD_CG),
    ("skip_cpg converge_gateway_id a list", dict(CPG, converge_gateway_id=["cg12"]),
     3540000, BAD_CG),
    ("skip_cpg converge_gateway_id with a trailing space", dict(CPG, converge_gateway_id="cg12 "),
     3540000, "converge_gateway_id must not end with a space"),
    ("skip_cpg flow_ids checked before converge_gateway_id",
     dict(CPG, flow_ids=[], converge_gateway_id=DROP), 3540000, BAD_FLOWS),
    ("skip_cpg fields checked before the node",
     dict(CPG, node_id="no_such_node", flow_ids=DROP),
     3540000, "flow_ids is required for skip_cpg"),
    # skip_cpg: the node (3545000)
    ("skip_cpg exclusive gateway", dict(CPG, node_id="exg_failed", flow_ids=["f_exg_a"]),
     3545000, "node(exg_failed) is not a conditional parallel gateway, actual ExclusiveGateway"),
    ("skip_cpg unknown flow", dict(CPG, flow_ids=["f_cpg_a", "no_such_flow"]),
     3545000, "flow(no_such_flow) %s(cpg_failed)" % NOGO),
    ("skip_cpg flow of another gateway", dict(CPG, flow_ids=["f_exg_b"]),
     3545000, "flow(f_exg_b) %s(cpg_failed)" % NOGO),
    ("skip_cpg flow id in the wrong case", dict(CPG, flow_ids=["F_CPG_A"]),
     3545000, "flow(F_CPG_A) %s(cpg_failed)" % NOGO),
    ("skip_cpg wrong converge gateway", dict(CPG, converge_gateway_id="end12"),
     3545000, "converge_gateway_id(end12) is not the converge gateway of gateway(cpg_failed)"),
    ("skip_cpg converge gateway of another gateway", dict(CPG, converge_gateway_id="sr_cg"),
     3545000, "converge_gateway_id(sr_cg) is not the converge gateway of gateway(cpg_failed)"),
    ("skip_cpg unknown converge gateway", dict(CPG, converge_gateway_id="no_such_node"),
     3545000, "converge_gateway_id(no_such_node) is not the converge gateway of "
              "gateway(cpg_failed)"),
    ("skip_cpg running", dict(CPG, node_id="cpg_running", flow_ids=["f_cpgr_a"]),
     3545000, "node(cpg_running) %s RUNNING" % NF),
    ("skip_cpg no parked process", dict(CPG, node_id="cpg_no_proc", flow_ids=["f_cpgnp_a"]),
     3545000, "can not find sleep process with current node id: cpg_no_proc"),
    ("skip_cpg two parked processes",
     dict(CPG, node_id="cpg_two_procs", flow_ids=["f_cpg2_a"]),
     3545000, "found multiple sleep processes at node(cpg_two_procs)"),
]


def _refusal(fields, code, message):
    def run(env):
        env.db.reset_demo()
        before = env.db.snapshot()
        refused(call(**fields), code, message)
        got(changed(before, env)) == []
    return run


CASES = [("refuse " + name, _refusal(fields, code, msg))
         for name, fields, code, msg in REFUSALS]
