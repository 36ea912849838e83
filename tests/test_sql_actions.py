"""SQL-level tests of sql/actions.sql (CALL operate_node) on the demo data of
sql/demo.sql: every action's success with every row it writes and proof that
nothing else changed; every refusal of pipeline-tables.md with its exact code
and message and proof that nothing at all was written (table-driven: CASES);
races on one node; and no full table scans.
"""
import datetime
import itertools
import json
import threading

import pymysql

import harness

TASK = dict(project_id=1, task_id=12)      # the main demo task (sql/demo.sql)
ACTIONS = ["retry", "skip", "skip_exg", "callback", "pause_subproc",
           "resume_subproc", "pause", "resume", "forced_fail",
           "retry_subprocess", "skip_cpg"]

# Tables' keys, to tell which rows an action changed.
KEYS = {"pipeline_state": "node_id", "pipeline_data": "node_id",
        "pipeline_process": "id", "engine_outbox": "id",
        "operate_record": "id", "pipeline_execution_history": "id",
        "pipeline_callback_data": "id", "request_replay": "request_id",
        "pipeline_execution_data": "node_id"}
REPLAY = "request_replay"   # every success claims its request_id there


# Helpers ---------------------------------------------------------------------

_RIDS = itertools.count(1)


def rid():
    """A request id no other call of this run uses."""
    return "req-%d" % next(_RIDS)


def act(env, conn=None, **kw):
    """CALL operate_node with a fresh request_id unless one is given (the
    same id twice is a replay); None on success, else (code, message)."""
    kw.setdefault("request_id", rid())
    return harness.call_operate_node(conn or env.db.conn(), **kw)


def connect(env, isolation=None):
    c = pymysql.connect(unix_socket=env.db.sock, user="root",
                        database=harness.DBNAME, autocommit=True,
                        charset="utf8mb4")
    if isolation:
        with c.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL " + isolation)
    return c


def changed_rows(before, after, table):
    """{key: (row before or None, row after or None)} for the rows of a table
    that differ between two snapshots."""
    key = KEYS[table]
    b = {r[key]: r for r in before[table]}
    a = {r[key]: r for r in after[table]}
    return {k: (b.get(k), a.get(k)) for k in set(b) | set(a)
            if b.get(k) != a.get(k)}


def added_rows(before, after, table):
    """The rows a table gained (none may have changed or gone), by key."""
    ch = changed_rows(before, after, table)
    for k, (old, _new) in ch.items():
        assert old is None, "%s row %r changed: %r" % (table, k, ch[k])
    return [new for _k, (_old, new) in sorted(ch.items())]


def apply(env, tables, **kw):
    """Resets the demo, applies one action that must succeed, checks that
    exactly `tables` changed; returns the snapshots before and after."""
    env.db.reset_demo()
    before = env.db.snapshot()
    r = act(env, **dict(TASK, **kw))
    assert r is None, "refused: %r" % (r,)
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == set(tables), \
        harness.diff_snapshots(before, after)
    return before, after


def is_new_version(v, old):
    assert isinstance(v, str) and v.startswith("v") and len(v) == 33, v
    assert v != old
    int(v[1:], 16)      # 32 hex digits, as bamboo's ids


def state_change(before, after, node):
    """The node's state row before and after; no other state row changed."""
    ch = changed_rows(before, after, "pipeline_state")
    assert set(ch) == {node}, set(ch)
    return ch[node]


def same_except(old, new, *cols):
    for c in old:
        if c not in cols:
            assert old[c] == new[c], "%s: %r -> %r" % (c, old[c], new[c])


def check_history(before, after, node, state, exe_inputs, exe_outputs):
    """One history row: the node's archived attempt."""
    rows = added_rows(before, after, "pipeline_execution_history")
    assert len(rows) == 1, rows
    h = rows[0]
    for c in ("node_id", "loop", "retry", "skip", "version", "started_time",
              "archived_time"):
        assert h[c] == state[c], (c, h[c], state[c])
    assert json.loads(h["inputs"]) == exe_inputs
    assert json.loads(h["outputs"]) == exe_outputs


def check_outbox(before, after, *events):
    """The outbox rows added, in id order: (event, process, node, root,
    parent, schedule_id, callback_data_id, request_id) each."""
    rows = added_rows(before, after, "engine_outbox")
    got = [(r["event"], r["process_id"], r["node_id"], r["root_pipeline_id"],
            r["parent_pipeline_id"], r["schedule_id"], r["callback_data_id"],
            r["request_id"]) for r in rows]
    assert got == list(events), got
    for r in rows:
        assert r["dispatched_time"] is None
        assert isinstance(r["created_time"], datetime.datetime)


def check_record(before, after, action, node, request_id, operator="admin",
                 project_id=1, task_id=12):
    rows = added_rows(before, after, "operate_record")
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["operator"], r["operate_type"], r["operate_source"],
            r["instance_id"], r["project_id"], r["node_id"],
            r["request_id"]) == (operator, action, "api", task_id,
                                 project_id, node, request_id), r
    assert isinstance(r["operate_date"], datetime.datetime)
    check_replay(before, after, request_id, action, node, task_id)
    return json.loads(r["extra_info"]) if r["extra_info"] else None


def check_replay(before, after, request_id, action, node, task_id=12):
    """One request_replay row: the request id claimed for this action."""
    rows = added_rows(before, after, REPLAY)
    assert [(r["request_id"], r["action"], r["task_id"], r["node_id"])
            for r in rows] == [(request_id, action, task_id, node)], rows
    assert isinstance(rows[0]["created_time"], datetime.datetime)


def execution_data(env, node):
    rows = env.db.query("SELECT inputs, outputs FROM pipeline_execution_data "
                        "WHERE node_id = %s", node)
    if not rows:
        return {}, {}
    return json.loads(rows[0]["inputs"]), json.loads(rows[0]["outputs"])


def data_inputs(snap, node):
    for r in snap["pipeline_data"]:
        if r["node_id"] == node:
            return json.loads(r["inputs"])
    return None


def setup_module(env):
    env.db.reset_demo()


# retry -----------------------------------------------------------------------

RETRY_TABLES = {"pipeline_state", "pipeline_execution_history",
                "engine_outbox", "operate_record", REPLAY}


def retry_ok(env, node, process, parent, task=None, inputs=None,
             inputs_changed=False, request_id="req-retry"):
    task = task or TASK
    tables = RETRY_TABLES | ({"pipeline_data"} if inputs_changed else set())
    env.db.reset_demo()
    exe_in, exe_out = execution_data(env, node)
    before = env.db.snapshot()
    kw = dict(task, node_id=node, action="retry", request_id=request_id)
    if inputs is not None:
        kw["inputs"] = inputs
    assert act(env, **kw) is None
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == tables, \
        harness.diff_snapshots(before, after)

    old, new = state_change(before, after, node)
    assert old["name"] == "FAILED" and new["name"] == "READY"
    assert new["retry"] == old["retry"] + 1
    is_new_version(new["version"], old["version"])
    assert new["started_time"] is None and new["archived_time"] is None
    same_except(old, new, "name", "retry", "version", "started_time",
                "archived_time")
    check_history(before, after, node, old, exe_in, exe_out)
    root = "pipe%d" % task["task_id"]
    check_outbox(before, after, ("execute", process, node, root, parent,
                                 None, None, request_id))
    extra = check_record(before, after, "retry", node, request_id,
                         project_id=task["project_id"],
                         task_id=task["task_id"])
    assert extra == {"version": old["version"], "new_version": new["version"]}
    if inputs_changed:
        assert set(changed_rows(before, after, "pipeline_data")) == {node}
    return before, after


def test_retry_failed_activity(env):
    before, after = retry_ok(env, "act_failed", 1, "pipe12")
    old = state_change(before, after, "act_failed")[0]
    assert old["retry"] == 2 and old["version"] == "v3-act_failed"


def test_retry_failed_activity_in_subprocess(env):
    retry_ok(env, "sr_act", 23, "sub_running")


def test_retry_failed_activity_in_nested_subprocess(env):
    retry_ok(env, "srn_act", 24, "sr_nested")


def test_retry_activity_with_two_outgoing_flows(env):
    retry_ok(env, "act_two_out", 8, "pipe12")


def test_retry_and_skip_in_every_other_live_task(env):
    for project, task in ((1, 17), (2, 20), (4, 40)):
        node, pid = "t%d_act" % task, {17: 32, 20: 33, 40: 35}[task]
        for action, target in (("retry", node), ("skip", "t%d_end" % task)):
            env.db.reset_demo()
            before = env.db.snapshot()
            assert act(env, project_id=project, task_id=task, node_id=node,
                                      action=action, request_id="r") is None
            after = env.db.snapshot()
            root = "pipe%d" % task
            check_outbox(before, after, ("execute", pid, target, root, root,
                                         None, None, "r"))
            check_record(before, after, action, node, "r", project_id=project,
                         task_id=task)


def test_retry_request_id_and_operator_are_recorded(env):
    env.db.reset_demo()
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                                     request_id="0123456789abcdef" * 4,
                                     operator="Alice")) is None
    after = env.db.snapshot()
    check_record(before, after, "retry", "act_failed", "0123456789abcdef" * 4,
                 operator="Alice")
    assert added_rows(before, after, "engine_outbox")[0]["request_id"] == \
        "0123456789abcdef" * 4


def test_retry_inputs_rules(env):
    """bk-sops' rules: given keys get need_render true, except keys listed in
    _escape_render_keys and keys whose current need_render is false; a
    current __executor_proxy stays whatever the request says; the
    _escape_render_keys entry is not stored; keys not given are dropped."""
    inputs = {"a": 5, "b": [1, 2], "new": {"x": 1}, "n": None, "t": True,
              "__executor_proxy": "evil", "_escape_render_keys": ["new", "zz"]}
    before, after = retry_ok(env, "act_failed", 1, "pipe12", inputs=inputs,
                             inputs_changed=True)
    assert data_inputs(before, "act_failed")["keep_me"]
    assert data_inputs(after, "act_failed") == {
        "a": {"need_render": True, "value": 5},
        "b": {"need_render": False, "value": [1, 2]},     # was false
        "new": {"need_render": False, "value": {"x": 1}},  # escaped
        "n": {"need_render": True, "value": None},
        "t": {"need_render": True, "value": True},
        "__executor_proxy": {"need_render": True, "value": "proxy_admin"},
    }
    outputs = [r["outputs"] for r in after["pipeline_data"]
               if r["node_id"] == "act_failed"]
    assert json.loads(outputs[0]) == {"result": "${result}"}


def test_retry_inputs_keep_executor_proxy_when_not_given(env):
    _b, after = retry_ok(env, "act_failed", 1, "pipe12",
                         inputs={"a": "x"}, inputs_changed=True)
    assert data_inputs(after, "act_failed") == {
        "a": {"need_render": True, "value": "x"},
        "__executor_proxy": {"need_render": True, "value": "proxy_admin"},
    }


def test_retry_inputs_new_executor_proxy_is_stored(env):
    """Only an existing __executor_proxy is protected."""
    _b, after = retry_ok(env, "sr_act", 23, "sub_running",
                         inputs={"__executor_proxy": "bob"}, inputs_changed=True)
    assert data_inputs(after, "sr_act") == {
        "__executor_proxy": {"need_render": True, "value": "bob"}}


def test_retry_inputs_odd_keys(env):
    keys = {'q"uote': 1, "dot.ted": 2, "": 3, "back\\slash": 4,
            "\u00fcn\u00ef \U0001F600": 5, "$[0]": 6, "sp ace": {"deep": [None]}}
    _b, after = retry_ok(env, "sr_act", 23, "sub_running",
                         inputs=dict(keys, _escape_render_keys=["dot.ted", ""]),
                         inputs_changed=True)
    got = data_inputs(after, "sr_act")
    assert got == {k: {"need_render": k not in ("dot.ted", ""), "value": v}
                   for k, v in keys.items()}, got


def test_retry_inputs_keys_compare_decoded(env):
    """A key matches however the JSON text escapes it ("\\u00fc" is "ü",
    "a\\/b" is "a/b"), in the request, in _escape_render_keys and in the
    current inputs alike."""
    env.db.reset_demo()
    env.db.exec("UPDATE pipeline_data SET inputs = %s WHERE node_id = 'sr_act'",
                r'{"\u00fcber": {"need_render": false, "value": 0},'
                r' "x\/y": {"need_render": true, "value": 0},'
                r' "\u005f_executor_proxy": {"need_render": true, "value": "p"}}')
    given = ('{"\u00fcber": 1, "x/y": 2, "a\\/b": 3, "\\ud83d\\ude00": 4,'
             ' "__executor_proxy": "evil", "_escape_render_keys": ["\\u0078/y"]}')
    assert act(env, **dict(TASK, node_id="sr_act", action="retry",
                                     inputs=given)) is None
    got = json.loads(env.db.scalar(
        "SELECT inputs FROM pipeline_data WHERE node_id = 'sr_act'"))
    assert got == {
        "\u00fcber": {"need_render": False, "value": 1},   # was false
        "x/y": {"need_render": False, "value": 2},         # escaped
        "a/b": {"need_render": True, "value": 3},
        "\U0001F600": {"need_render": True, "value": 4},
        "__executor_proxy": {"need_render": True, "value": "p"},  # kept
    }, got


def test_retry_empty_inputs_keep_current(env):
    for inputs in ({}, {"_escape_render_keys": ["a"]},
                   {"_escape_render_keys": []}):
        retry_ok(env, "act_failed", 1, "pipe12", inputs=inputs)


def test_retry_activity_without_execution_data(env):
    """History takes '{}' where the node has no execution data."""
    env.db.reset_demo()
    env.db.exec("DELETE FROM pipeline_execution_data WHERE node_id = 'sr_act'")
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="sr_act", action="retry")) is None
    after = env.db.snapshot()
    h = added_rows(before, after, "pipeline_execution_history")
    assert [(json.loads(r["inputs"]), json.loads(r["outputs"])) for r in h] == [({}, {})]


def test_retry_twice_after_failing_again(env):
    """Each retry archives the attempt it replaces."""
    env.db.reset_demo()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry")) is None
    v2 = env.db.scalar("SELECT version FROM pipeline_state WHERE node_id = 'act_failed'")
    # the engine runs it and it fails again
    env.db.exec("UPDATE pipeline_state SET name = 'FAILED', "
                "started_time = '2024-06-01 00:00:00', archived_time = '2024-06-01 00:01:00' "
                "WHERE node_id = 'act_failed'")
    assert act(env, **dict(TASK, node_id="act_failed", action="retry")) is None
    rows = env.db.query("SELECT retry, version FROM pipeline_execution_history "
                        "WHERE node_id = 'act_failed' ORDER BY id")
    assert [(r["retry"], r["version"]) for r in rows] == [
        (0, "v1-act_failed"), (1, "v2-act_failed"), (2, "v3-act_failed"), (3, v2)]
    st = env.db.one("SELECT retry, version FROM pipeline_state WHERE node_id = 'act_failed'")
    assert st["retry"] == 4
    is_new_version(st["version"], v2)
    assert env.db.scalar("SELECT COUNT(*) FROM engine_outbox") == 2
    assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 2


# skip ------------------------------------------------------------------------

SKIP_TABLES = {"pipeline_state", "pipeline_execution_history",
               "engine_outbox", "operate_record", REPLAY}


def skip_ok(env, node, process, target, parent, action="skip", **kw):
    env.db.reset_demo()
    exe_in, exe_out = execution_data(env, node)
    before = env.db.snapshot()
    t0 = env.db.scalar("SELECT NOW(6)")
    assert act(env, **dict(TASK, node_id=node, action=action,
                                     request_id="req-" + action, **kw)) is None
    t1 = env.db.scalar("SELECT NOW(6)")
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == SKIP_TABLES, \
        harness.diff_snapshots(before, after)

    old, new = state_change(before, after, node)
    assert old["name"] == "FAILED" and new["name"] == "FINISHED"
    assert new["skip"] == 1
    is_new_version(new["version"], old["version"])
    assert t0 <= new["archived_time"] <= t1
    same_except(old, new, "name", "skip", "version", "archived_time")
    check_history(before, after, node, old, exe_in, exe_out)
    check_outbox(before, after, ("execute", process, target, "pipe12", parent,
                                 None, None, "req-" + action))
    extra = check_record(before, after, action, node, "req-" + action)
    assert extra["version"] == old["version"]
    assert extra["new_version"] == new["version"]
    return extra


def test_skip_failed_activity(env):
    skip_ok(env, "act_failed", 1, "act_not_reached", "pipe12")


def test_skip_activity_without_data(env):
    skip_ok(env, "act_no_data", 3, "act_not_reached", "pipe12")


def test_skip_failed_start_event_in_subprocess(env):
    skip_ok(env, "sr_start", 22, "sr_act", "sub_running")


# skip_exg --------------------------------------------------------------------

def test_skip_exg_each_flow(env):
    for flow, target in (("f_exg_a", "exg_a"), ("f_exg_b", "exg_b")):
        extra = skip_ok(env, "exg_failed", 10, target, "pipe12",
                        action="skip_exg", flow_id=flow)
        assert extra["flow_id"] == flow


# callback --------------------------------------------------------------------

CALLBACK_TABLES = {"pipeline_callback_data", "engine_outbox", "operate_record",
                   REPLAY}


def callback_ok(env, node, process, schedule, data, stored, reset=True,
                request_id="req-cb"):
    if reset:
        env.db.reset_demo()
    before = env.db.snapshot()
    kw = dict(TASK, node_id=node, action="callback", request_id=request_id)
    if data is not None:
        kw["data"] = data
    assert act(env, **kw) is None
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == CALLBACK_TABLES, \
        harness.diff_snapshots(before, after)
    version = [r["version"] for r in before["pipeline_state"]
               if r["node_id"] == node][0]
    cb = added_rows(before, after, "pipeline_callback_data")
    assert len(cb) == 1
    assert (cb[0]["node_id"], cb[0]["version"]) == (node, version)
    assert json.loads(cb[0]["data"]) == stored
    assert isinstance(cb[0]["created_time"], datetime.datetime)
    check_outbox(before, after, ("schedule", process, node, "pipe12", "pipe12",
                                 schedule, cb[0]["id"], request_id))
    extra = check_record(before, after, "callback", node, request_id)
    assert extra == {"version": version, "schedule_id": schedule,
                     "callback_data_id": cb[0]["id"]}
    return cb[0]["id"]


def test_callback_type_1(env):
    data = {"k": [1, {"z": None}], "s": "\u00fc\U0001F600", "f": 1.5}
    assert callback_ok(env, "cb_wait", 16, 1, data, data) == 3


def test_callback_without_data_stores_empty_object(env):
    callback_ok(env, "cb_wait", 16, 1, None, {})


def test_callback_type_1_only_once(env):
    callback_ok(env, "cb_wait", 16, 1, {"n": 1}, {"n": 1})
    snap = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="cb_wait", action="callback",
                                     data={"n": 2})) == \
        (3545000, "node(cb_wait) has already been called back")
    assert harness.diff_snapshots(snap, env.db.snapshot()) == []


def test_callback_type_2_many_times(env):
    ids = [callback_ok(env, "cb_multi", 17, 3, {"n": n}, {"n": n}, reset=(n == 0),
                       request_id="req-cb-%d" % n)
           for n in range(3)]
    assert ids == [3, 4, 5]
    assert env.db.scalar("SELECT COUNT(*) FROM pipeline_callback_data "
                         "WHERE node_id = 'cb_multi'") == 4


# pause_subproc / resume_subproc ---------------------------------------------

def test_pause_subproc(env):
    for node, state in (("sub_running", "RUNNING"), ("sub_ready", "READY")):
        before, after = apply(env, {"pipeline_state", "operate_record", REPLAY},
                              node_id=node, action="pause_subproc",
                              request_id="req-pause")
        old, new = state_change(before, after, node)
        assert old["name"] == state and new["name"] == "SUSPENDED"
        same_except(old, new, "name")
        assert check_record(before, after, "pause_subproc", node,
                            "req-pause") is None


def test_resume_subproc(env):
    before, after = apply(env, {"pipeline_state", "pipeline_process",
                                "engine_outbox", "operate_record", REPLAY},
                          node_id="sub_suspended", action="resume_subproc",
                          request_id="req-resume")
    old, new = state_change(before, after, "sub_suspended")
    assert old["name"] == "SUSPENDED" and new["name"] == "RUNNING"
    same_except(old, new, "name")
    procs = changed_rows(before, after, "pipeline_process")
    assert set(procs) == {25, 26}
    for old_p, new_p in procs.values():
        assert (old_p["suspended"], old_p["suspended_by"]) == (1, "sub_suspended")
        assert (new_p["suspended"], new_p["suspended_by"]) == (0, "")
        same_except(old_p, new_p, "suspended", "suspended_by")
    check_outbox(before, after,
                 ("execute", 25, "ss_act1", "pipe12", "sub_suspended", None, None, "req-resume"),
                 ("execute", 26, "ss_act2", "pipe12", "sub_suspended", None, None, "req-resume"))
    assert check_record(before, after, "resume_subproc", "sub_suspended",
                        "req-resume") == {"resumed_processes": 2}


def test_pause_then_resume_subproc(env):
    """Paused before any process noticed: resuming wakes nobody."""
    env.db.reset_demo()
    kw = dict(TASK, node_id="sub_running")
    assert act(env, action="pause_subproc", **kw) is None
    before = env.db.snapshot()
    assert act(env, action="resume_subproc", **kw) is None
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == \
        {"pipeline_state", "operate_record", REPLAY}
    assert state_change(before, after, "sub_running")[1]["name"] == "RUNNING"
    assert act(env, action="resume_subproc", **kw) == \
        (3545000, "subprocess(sub_running) is not paused, actual RUNNING")


# pause / resume (pipeline-tables.md §4) ---------------------------------------

def test_pause(env):
    for node, state in (("act_running", "RUNNING"), ("act_ready", "READY")):
        r = rid()
        before, after = apply(env, {"pipeline_state", "operate_record", REPLAY},
                              node_id=node, action="pause", request_id=r)
        old, new = state_change(before, after, node)
        assert old["name"] == state and new["name"] == "SUSPENDED"
        same_except(old, new, "name")
        assert check_record(before, after, "pause", node, r) is None


def test_pause_by_appointment(env):
    """A node not reached yet gets a SUSPENDED state row: root and parent
    from pipeline_node, a new version, first loop, no times."""
    for node, parent in (("act_not_reached", "pipe12"), ("srn_end", "sr_nested"),
                         ("cg12", "pipe12")):
        r = rid()
        env.db.reset_demo()
        t0 = env.db.scalar("SELECT NOW(6)")
        before, after = apply(env, {"pipeline_state", "operate_record", REPLAY},
                              node_id=node, action="pause", request_id=r)
        t1 = env.db.scalar("SELECT NOW(6)")
        old, new = state_change(before, after, node)
        assert old is None
        is_new_version(new["version"], None)
        assert t0 <= new["created_time"] <= t1
        assert {k: v for k, v in new.items() if k not in ("version", "created_time")} == dict(
            node_id=node, root_id="pipe12", parent_id=parent, name="SUSPENDED",
            loop=1, inner_loop=1, retry=0, skip=0, error_ignored=0,
            started_time=None, archived_time=None)
        assert check_record(before, after, "pause", node, r) == \
            {"appointment": True, "new_version": new["version"]}


def test_pause_by_appointment_then_resume(env):
    env.db.reset_demo()
    kw = dict(TASK, node_id="act_not_reached")
    assert act(env, action="pause", **kw) is None
    v = env.db.scalar("SELECT version FROM pipeline_state WHERE node_id = 'act_not_reached'")
    assert act(env, action="pause", **kw) == \
        (3545000, "can not pause node(act_not_reached) in state SUSPENDED")
    assert act(env, action="resume", **kw) is None
    st = env.db.one("SELECT name, version FROM pipeline_state WHERE node_id = 'act_not_reached'")
    assert (st["name"], st["version"]) == ("READY", v)
    assert env.db.scalar("SELECT COUNT(*) FROM engine_outbox") == 0
    # READY may be paused again (bamboo's READY -> SUSPENDED)
    assert act(env, action="pause", **kw) is None


def test_resume_wakes_the_processes_it_suspended(env):
    r = rid()
    before, after = apply(env, {"pipeline_state", "pipeline_process",
                                "engine_outbox", "operate_record", REPLAY},
                          node_id="sr_paused", action="resume", request_id=r)
    old, new = state_change(before, after, "sr_paused")
    assert old["name"] == "SUSPENDED" and new["name"] == "READY"
    same_except(old, new, "name")
    procs = changed_rows(before, after, "pipeline_process")
    assert set(procs) == {40}
    old_p, new_p = procs[40]
    assert (old_p["suspended"], old_p["suspended_by"]) == (1, "sr_paused")
    assert (new_p["suspended"], new_p["suspended_by"]) == (0, "")
    same_except(old_p, new_p, "suspended", "suspended_by")
    check_outbox(before, after, ("execute", 40, "sr_paused", "pipe12", "sub_running",
                                 None, None, r))
    assert check_record(before, after, "resume", "sr_paused", r) == \
        {"resumed_processes": 1}


def test_resume_appointment_wakes_nobody(env):
    r = rid()
    before, after = apply(env, {"pipeline_state", "operate_record", REPLAY},
                          node_id="act_paused", action="resume", request_id=r)
    old, new = state_change(before, after, "act_paused")
    assert (old["name"], new["name"]) == ("SUSPENDED", "READY")
    same_except(old, new, "name")
    assert check_record(before, after, "resume", "act_paused", r) == \
        {"resumed_processes": 0}


def test_pause_then_resume(env):
    env.db.reset_demo()
    kw = dict(TASK, node_id="act_running")
    assert act(env, action="pause", **kw) is None
    before = env.db.snapshot()
    assert act(env, action="resume", **kw) is None
    after = env.db.snapshot()
    assert state_change(before, after, "act_running")[1]["name"] == "READY"
    assert set(harness.diff_snapshots(before, after)) == \
        {"pipeline_state", "operate_record", REPLAY}


# forced_fail -----------------------------------------------------------------

def forced_fail_ok(env, node, process, outputs, inputs, operator="admin"):
    """forced_fail succeeds: state FAILED with a new version and archived
    now; the process at the node asleep; the execution outputs as given
    (the row created with inputs {} where there was none); no history, no
    outbox."""
    env.db.reset_demo()
    r = rid()
    before = env.db.snapshot()
    t0 = env.db.scalar("SELECT NOW(6)")
    assert act(env, **dict(TASK, node_id=node, action="forced_fail", request_id=r,
                           operator=operator)) is None
    t1 = env.db.scalar("SELECT NOW(6)")
    after = env.db.snapshot()
    was_asleep = [p for p in before["pipeline_process"] if p["id"] == process][0]["asleep"]
    tables = {"pipeline_state", "pipeline_execution_data", "operate_record", REPLAY}
    if not was_asleep:
        tables.add("pipeline_process")
    assert set(harness.diff_snapshots(before, after)) == tables, \
        harness.diff_snapshots(before, after)

    old, new = state_change(before, after, node)
    assert old["name"] == "RUNNING" and new["name"] == "FAILED"
    is_new_version(new["version"], old["version"])
    assert t0 <= new["archived_time"] <= t1
    same_except(old, new, "name", "version", "archived_time")
    if not was_asleep:
        procs = changed_rows(before, after, "pipeline_process")
        assert set(procs) == {process}
        old_p, new_p = procs[process]
        assert (old_p["asleep"], new_p["asleep"]) == (0, 1)
        same_except(old_p, new_p, "asleep")
    assert env.db.scalar("SELECT asleep FROM pipeline_process WHERE id = %s", process) == 1
    ex = changed_rows(before, after, "pipeline_execution_data")
    assert set(ex) == {node}
    assert json.loads(ex[node][1]["inputs"]) == inputs
    assert json.loads(ex[node][1]["outputs"]) == outputs
    assert check_record(before, after, "forced_fail", node, r, operator=operator) == \
        {"version": old["version"], "new_version": new["version"], "process_id": process}


def test_forced_fail_creates_execution_data(env):
    forced_fail_ok(env, "act_running", 7, {
        "ex_data": "The node has been terminated by admin.", "_forced_failed": True}, {})


def test_forced_fail_keeps_other_outputs(env):
    forced_fail_ok(env, "ff_running", 41, {
        "progress": 50, "ex_data": "The node has been terminated by Alice \"A\".",
        "_forced_failed": True}, {"a": 1}, operator='Alice "A"')


def test_forced_fail_waiting_node(env):
    """A node parked for a callback (not called back yet) or whose
    schedule is finished: the process stays asleep."""
    out = {"ex_data": "The node has been terminated by admin.", "_forced_failed": True}
    forced_fail_ok(env, "cb_wait", 16, out, {})
    forced_fail_ok(env, "cb_finished", 19, out, {})


def test_forced_fail_then_retry_or_skip(env):
    """forced_fail parks the process at the node: retry and skip then work."""
    for action, state in (("retry", "READY"), ("skip", "FINISHED")):
        env.db.reset_demo()
        kw = dict(TASK, node_id="cb_wait")
        assert act(env, action="forced_fail", **kw) is None
        assert act(env, action="callback", **kw) == \
            (3545000, "node(cb_wait) state is not RUNNING, actual FAILED")
        assert act(env, action=action, **kw) is None
        assert env.db.scalar("SELECT name FROM pipeline_state WHERE node_id = 'cb_wait'") == state
        h = env.db.one("SELECT * FROM pipeline_execution_history WHERE node_id = 'cb_wait'")
        assert json.loads(h["outputs"])["_forced_failed"] is True


# retry_subprocess ------------------------------------------------------------

def retry_subprocess_ok(env, node, process, parent, stack_after):
    env.db.reset_demo()
    r = rid()
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id=node, action="retry_subprocess",
                           request_id=r)) is None
    after = env.db.snapshot()
    old_stack = [json.loads(p["pipeline_stack"]) for p in before["pipeline_process"]
                 if p["id"] == process][0]
    popped = old_stack != stack_after
    tables = RETRY_TABLES | ({"pipeline_process"} if popped else set())
    assert set(harness.diff_snapshots(before, after)) == tables, \
        harness.diff_snapshots(before, after)

    old, new = state_change(before, after, node)
    assert old["name"] == "FAILED" and new["name"] == "READY"
    assert new["retry"] == old["retry"] + 1
    is_new_version(new["version"], old["version"])
    assert new["started_time"] is None and new["archived_time"] is None
    same_except(old, new, "name", "retry", "version", "started_time", "archived_time")
    if popped:
        procs = changed_rows(before, after, "pipeline_process")
        assert set(procs) == {process}
        old_p, new_p = procs[process]
        assert json.loads(new_p["pipeline_stack"]) == stack_after
        same_except(old_p, new_p, "pipeline_stack")
    check_history(before, after, node, old, {}, {})
    check_outbox(before, after, ("execute", process, node, "pipe12", parent,
                                 None, None, r))
    assert check_record(before, after, "retry_subprocess", node, r) == \
        {"version": old["version"], "new_version": new["version"], "stack_popped": popped}
    return old, new


def test_retry_subprocess_pops_its_stack_entry(env):
    old, new = retry_subprocess_ok(env, "sub_failed", 45, "pipe12", ["pipe12"])
    assert (old["retry"], new["retry"]) == (1, 2)


def test_retry_subprocess_nested_not_on_the_stack(env):
    retry_subprocess_ok(env, "srs_failed", 46, "sub_running", ["pipe12", "sub_running"])


# skip_cpg --------------------------------------------------------------------

def skip_cpg_ok(env, node, process, flows, targets, converge, parent, stack,
                priority=100, queue=""):
    env.db.reset_demo()
    r = rid()
    exe_in, exe_out = execution_data(env, node)
    before = env.db.snapshot()
    t0 = env.db.scalar("SELECT NOW(6)")
    assert act(env, **dict(TASK, node_id=node, action="skip_cpg", request_id=r,
                           flow_ids=flows, converge_gateway_id=converge)) is None
    t1 = env.db.scalar("SELECT NOW(6)")
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == \
        SKIP_TABLES | {"pipeline_process"}, harness.diff_snapshots(before, after)

    old, new = state_change(before, after, node)
    assert old["name"] == "FAILED" and new["name"] == "FINISHED" and new["skip"] == 1
    is_new_version(new["version"], old["version"])
    assert t0 <= new["archived_time"] <= t1
    same_except(old, new, "name", "skip", "version", "archived_time")
    check_history(before, after, node, old, exe_in, exe_out)

    procs = changed_rows(before, after, "pipeline_process")
    old_p, new_p = procs.pop(process)
    assert (new_p["need_ack"], new_p["ack_num"]) == (len(flows), 0)
    same_except(old_p, new_p, "need_ack", "ack_num")
    children = [new for _k, (o, new) in sorted(procs.items())]
    assert all(o is None for o, _n in procs.values())
    assert [c["id"] for c in children] == list(range(53, 53 + len(flows)))
    for c, target in zip(children, targets):
        assert json.loads(c.pop("pipeline_stack")) == stack
        assert isinstance(c.pop("last_heartbeat"), datetime.datetime)
        c.pop("id")
        assert c == dict(parent_id=process, root_pipeline_id="pipe12",
                         current_node_id=target, destination_id=converge,
                         asleep=1, suspended=0, suspended_by="", dead=0,
                         ack_num=0, need_ack=-1, priority=priority, queue=queue), c
    check_outbox(before, after, *[("execute", 53 + i, t, "pipe12", parent, None, None, r)
                                  for i, t in enumerate(targets)])
    assert check_record(before, after, "skip_cpg", node, r) == {
        "version": old["version"], "new_version": new["version"],
        "flow_ids": flows, "child_processes": list(range(53, 53 + len(flows)))}


def test_skip_cpg_both_flows(env):
    skip_cpg_ok(env, "cpg_failed", 15, ["f_cpg_a", "f_cpg_b"], ["exg_a", "exg_b"],
                "cg12", "pipe12", ["pipe12"])


def test_skip_cpg_one_flow(env):
    skip_cpg_ok(env, "cpg_failed", 15, ["f_cpg_b"], ["exg_b"], "cg12", "pipe12",
                ["pipe12"])


def test_skip_cpg_in_subprocess_in_the_order_given(env):
    skip_cpg_ok(env, "sr_cpg", 49, ["f_srcpg_c", "f_srcpg_a"], ["srcpg_c", "srcpg_a"],
                "sr_cg", "sub_running", ["pipe12", "sub_running"], priority=50,
                queue="q_demo")


def test_skip_cpg_failed_statement_leaves_no_children(env):
    """Children are written before their outbox rows: when an outbox
    insert fails, the whole action rolls back, children included."""
    env.db.reset_demo()
    env.db.exec("ALTER TABLE engine_outbox MODIFY node_id varchar(3) "
                "COLLATE utf8mb4_bin NOT NULL")
    try:
        before = env.db.snapshot()
        try:
            act(env, **dict(TASK, node_id="cpg_failed", action="skip_cpg",
                            flow_ids=["f_cpg_a", "f_cpg_b"], converge_gateway_id="cg12"))
        except pymysql.err.MySQLError as e:
            assert e.args[0] == 1406, e      # data too long for column
        else:
            raise AssertionError("no error")
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
    finally:
        env.db.exec("ALTER TABLE engine_outbox MODIFY node_id varchar(33) "
                    "COLLATE utf8mb4_bin NOT NULL")


# Replays (operate-node-api.md §8) ------------------------------------------

USED = "request_id(%s) was already used for another operation"


def test_replay_same_request_applies_nothing(env):
    """The same request_id with the same action, task and node answers
    success again, and nothing at all changes (also where the action itself
    would now be refused: the node moved on)."""
    for kw in (dict(node_id="act_failed", action="retry", inputs={"a": 1}),
               dict(node_id="act_failed", action="skip"),
               dict(node_id="exg_failed", action="skip_exg", flow_id="f_exg_a"),
               dict(node_id="cb_multi", action="callback", data={"n": 1}),
               dict(node_id="sub_running", action="pause_subproc")):
        env.db.reset_demo()
        assert act(env, **dict(TASK, request_id="replay-1", **kw)) is None
        snap = env.db.snapshot()
        assert env.db.scalar("SELECT COUNT(*) FROM request_replay") == 1
        for _ in range(2):
            assert act(env, **dict(TASK, request_id="replay-1", **kw)) is None, kw
            assert harness.diff_snapshots(snap, env.db.snapshot()) == [], kw


def test_replay_ignores_the_other_fields(env):
    """Only action, task and node identify the operation: a repeat whose
    data differs is still the same request (its first outcome stands)."""
    env.db.reset_demo()
    kw = dict(TASK, node_id="cb_multi", action="callback", request_id="replay-2")
    assert act(env, data={"n": 1}, **kw) is None
    snap = env.db.snapshot()
    assert act(env, data={"n": 2}, **kw) is None
    assert harness.diff_snapshots(snap, env.db.snapshot()) == []


def test_replay_of_another_operation_is_refused(env):
    env.db.reset_demo()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                           request_id="replay-3")) is None
    snap = env.db.snapshot()
    for kw in (dict(TASK, node_id="act_two_out", action="retry"),       # node
               dict(TASK, node_id="act_failed", action="skip"),         # action
               dict(project_id=1, task_id=17, node_id="t17_act",        # task
                    action="retry"),
               dict(TASK, node_id="ACT_FAILED", action="retry"),        # exact ids
               dict(TASK, node_id="act_failed ", action="retry")):
        assert act(env, request_id="replay-3", **kw) == \
            (3540000, USED % "replay-3"), kw
        assert harness.diff_snapshots(snap, env.db.snapshot()) == [], kw
    # the task is checked first: a task that is not there is still 3540400
    assert act(env, request_id="replay-3", **dict(project_id=1, task_id=999999,
                                                  node_id="act_failed",
                                                  action="retry")) == \
        (3540400, "task[id=999999] of project[id=1] does not exist")
    assert harness.diff_snapshots(snap, env.db.snapshot()) == []


def test_refused_call_does_not_consume_its_request_id(env):
    env.db.reset_demo()
    snap = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_running", action="retry",
                           request_id="replay-4")) == \
        (3545000, "node(act_running) state is not FAILED, actual RUNNING")
    assert act(env, **dict(TASK, node_id="no_such_node", action="retry",
                           request_id="replay-4"))[0] == 3540400
    assert harness.diff_snapshots(snap, env.db.snapshot()) == []
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                           request_id="replay-4")) is None
    check_record(before, env.db.snapshot(), "retry", "act_failed", "replay-4")
    # and a replay refused as another operation leaves the first one standing
    snap = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_failed", action="skip",
                           request_id="replay-4")) == (3540000, USED % "replay-4")
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                           request_id="replay-4")) is None
    assert harness.diff_snapshots(snap, env.db.snapshot()) == []


def test_empty_request_id_is_not_recorded(env):
    """Without a request id (the service always sends one) nothing is
    claimed, so nothing is a replay."""
    env.db.reset_demo()
    for n in range(2):
        assert act(env, **dict(TASK, node_id="cb_multi", action="callback",
                               data={"n": n}, request_id="")) is None
    assert env.db.scalar("SELECT COUNT(*) FROM request_replay") == 0
    assert env.db.scalar("SELECT COUNT(*) FROM pipeline_callback_data "
                         "WHERE node_id = 'cb_multi'") == 1 + 2


def _purge(env, days, limit):
    with env.db.conn().cursor() as c:
        c.execute("CALL purge_request_replay(%s, %s)", (days, limit))
        n = c.fetchone()[0]
        while c.nextset():
            pass
    return n


def test_purge_request_replay(env):
    """purge_request_replay(days, limit) removes replay records older than
    `days`, oldest first, at most `limit` per call; newer ones stay."""
    env.db.reset_demo()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                           request_id="fresh")) is None
    with env.db.conn().cursor() as c:
        c.executemany(
            "INSERT INTO request_replay (request_id, action, task_id, node_id, created_time) "
            "VALUES (%s, 'retry', 12, 'act_failed', NOW(6) - INTERVAL %s DAY)",
            [("old-%d" % d, d) for d in (10, 11, 12, 13, 14)] +
            [("recent-%d" % d, d) for d in (3, 4)])
    ids = lambda: sorted(r["request_id"] for r in
                         env.db.query("SELECT request_id FROM request_replay"))
    assert _purge(env, 7, 3) == 3
    assert ids() == ["fresh", "old-10", "old-11", "recent-3", "recent-4"]
    assert _purge(env, 7, 3) == 2
    assert _purge(env, 7, 3) == 0
    assert ids() == ["fresh", "recent-3", "recent-4"]
    assert _purge(env, 2, 1000) == 2
    assert ids() == ["fresh"]
    # a purged id is free again: not a replay any more
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_two_out", action="retry",
                           request_id="old-10")) is None
    check_record(before, env.db.snapshot(), "retry", "act_two_out", "old-10")


# Refusals: one row per refusal ----------------------------------------------
# (name, call arguments, code, message). Every row: nothing at all changes.

def _common():
    """The common checks of pipeline-tables.md §2, for every action."""
    n = "act_failed"
    return [
        ("deleted task", dict(project_id=1, task_id=16, node_id="t16_act"),
         3540400, "task[id=16] of project[id=1] does not exist"),
        ("task of another project", dict(project_id=1, task_id=40, node_id="t40_act"),
         3540400, "task[id=40] of project[id=1] does not exist"),
        ("task in the wrong project", dict(project_id=4, task_id=12, node_id=n),
         3540400, "task[id=12] of project[id=4] does not exist"),
        ("unknown task", dict(project_id=1, task_id=999999, node_id=n),
         3540400, "task[id=999999] of project[id=1] does not exist"),
        ("task not started", dict(project_id=1, task_id=13, node_id="t13_act"),
         3545000, "task(13) has not started"),
        ("revoked task", dict(project_id=1, task_id=14, node_id="t14_act"),
         3545000, "task(14) is revoked"),
        ("finished task", dict(project_id=1, task_id=15, node_id="t15_act"),
         3545000, "task(15) is finished"),
        ("node of another task", dict(TASK, node_id="t17_act"),
         3540400, "node(t17_act) does not exist in task(12)"),
        ("node of another project's task", dict(TASK, node_id="t40_act"),
         3540400, "node(t40_act) does not exist in task(12)"),
        ("unknown node", dict(TASK, node_id="no_such_node"),
         3540400, "node(no_such_node) does not exist in task(12)"),
        ("node id in the wrong case", dict(TASK, node_id="ACT_FAILED"),
         3540400, "node(ACT_FAILED) does not exist in task(12)"),
        ("root pipeline as node", dict(TASK, node_id="pipe12"),
         3540400, "node(pipe12) does not exist in task(12)"),
        # utf8mb4_bin pads: 'act_failed ' = 'act_failed' unless checked
        ("node id with a trailing space", dict(TASK, node_id="act_failed "),
         3540400, "node(act_failed ) does not exist in task(12)"),
    ]


def _actions():
    t = TASK
    nf = "state is not FAILED, actual"
    rows = [
        # retry
        ("retry disabled", dict(t, action="retry", node_id="act_no_retry_skip"),
         3545000, "can not retry node(act_no_retry_skip): retry is disabled"),
        ("retry no data", dict(t, action="retry", node_id="act_no_data"),
         3545000, "node(act_no_data) has no inputs to retry with"),
        ("retry gateway", dict(t, action="retry", node_id="exg_failed"),
         3545000, "node(exg_failed) has no inputs to retry with"),
        ("retry running", dict(t, action="retry", node_id="act_running",
                               inputs={"a": 2}),
         3545000, "node(act_running) %s RUNNING" % nf),
        ("retry not reached", dict(t, action="retry", node_id="act_not_reached"),
         3545000, "node(act_not_reached) %s CREATED" % nf),
        ("retry finished", dict(t, action="retry", node_id="act_finished"),
         3545000, "node(act_finished) %s FINISHED" % nf),
        ("retry no parked process", dict(t, action="retry", node_id="act_no_proc",
                                         inputs={"a": 2}),
         3545000, "can not find sleep process with current node id: act_no_proc"),
        ("retry two parked processes", dict(t, action="retry", node_id="act_two_procs"),
         3545000, "found multiple sleep processes at node(act_two_procs)"),
        # skip
        ("skip disabled", dict(t, action="skip", node_id="act_no_retry_skip"),
         3545000, "can not skip node(act_no_retry_skip): skip is disabled"),
        ("skip parallel gateway", dict(t, action="skip", node_id="pg_failed"),
         3545000, "can not skip node(pg_failed) of type ParallelGateway"),
        ("skip exclusive gateway", dict(t, action="skip", node_id="exg_failed"),
         3545000, "can not skip node(exg_failed) of type ExclusiveGateway"),
        ("skip conditional gateway", dict(t, action="skip", node_id="cpg_failed"),
         3545000, "can not skip node(cpg_failed) of type ConditionalParallelGateway"),
        ("skip end event", dict(t, action="skip", node_id="end12"),
         3545000, "can not skip node(end12) of type EmptyEndEvent"),
        ("skip subprocess", dict(t, action="skip", node_id="sub_running"),
         3545000, "can not skip node(sub_running) of type SubProcess"),
        ("skip running", dict(t, action="skip", node_id="act_running"),
         3545000, "node(act_running) %s RUNNING" % nf),
        ("skip not reached", dict(t, action="skip", node_id="act_not_reached"),
         3545000, "node(act_not_reached) %s CREATED" % nf),
        ("skip finished", dict(t, action="skip", node_id="act_finished"),
         3545000, "node(act_finished) %s FINISHED" % nf),
        ("skip no parked process", dict(t, action="skip", node_id="act_no_proc"),
         3545000, "can not find sleep process with current node id: act_no_proc"),
        ("skip two parked processes", dict(t, action="skip", node_id="act_two_procs"),
         3545000, "found multiple sleep processes at node(act_two_procs)"),
        ("skip two outgoing flows", dict(t, action="skip", node_id="act_two_out"),
         3545000, "node(act_two_out) has no single outgoing flow"),
        ("skip no outgoing flow", dict(t, action="skip", node_id="act_no_out"),
         3545000, "node(act_no_out) has no single outgoing flow"),
        # skip_exg
        ("skip_exg without flow_id", dict(t, action="skip_exg", node_id="exg_failed"),
         3540000, "flow_id is required for skip_exg"),
        ("skip_exg empty flow_id", dict(t, action="skip_exg", node_id="exg_failed",
                                        flow_id=""),
         3540000, "flow_id is required for skip_exg"),
        ("skip_exg without flow_id on an activity",
         dict(t, action="skip_exg", node_id="act_running"),
         3540000, "flow_id is required for skip_exg"),
        ("skip_exg activity", dict(t, action="skip_exg", node_id="act_failed",
                                   flow_id="f_act_failed"),
         3545000, "node(act_failed) is not an exclusive gateway, actual ServiceActivity"),
        ("skip_exg parallel gateway", dict(t, action="skip_exg", node_id="pg_failed",
                                           flow_id="f_pg_a"),
         3545000, "node(pg_failed) is not an exclusive gateway, actual ParallelGateway"),
        ("skip_exg flow of another node", dict(t, action="skip_exg", node_id="exg_failed",
                                               flow_id="f_act_failed"),
         3545000, "flow(f_act_failed) is not an outgoing flow of gateway(exg_failed)"),
        ("skip_exg unknown flow", dict(t, action="skip_exg", node_id="exg_failed",
                                       flow_id="no_such_flow"),
         3545000, "flow(no_such_flow) is not an outgoing flow of gateway(exg_failed)"),
        ("skip_exg flow id in the wrong case",
         dict(t, action="skip_exg", node_id="exg_failed", flow_id="F_EXG_A"),
         3545000, "flow(F_EXG_A) is not an outgoing flow of gateway(exg_failed)"),
        ("skip_exg flow id with a trailing space",
         dict(t, action="skip_exg", node_id="exg_failed", flow_id="f_exg_a "),
         3545000, "flow(f_exg_a ) is not an outgoing flow of gateway(exg_failed)"),
        ("skip_exg flow of another gateway",
         dict(t, action="skip_exg", node_id="exg_running", flow_id="f_exg_a"),
         3545000, "flow(f_exg_a) is not an outgoing flow of gateway(exg_running)"),
        ("skip_exg running", dict(t, action="skip_exg", node_id="exg_running",
                                  flow_id="f_exgr_a"),
         3545000, "node(exg_running) %s RUNNING" % nf),
        ("skip_exg no parked process", dict(t, action="skip_exg", node_id="exg_no_proc",
                                            flow_id="f_exgnp_a"),
         3545000, "can not find sleep process with current node id: exg_no_proc"),
        ("skip_exg two parked processes",
         dict(t, action="skip_exg", node_id="exg_two_procs", flow_id="f_exg2_a"),
         3545000, "found multiple sleep processes at node(exg_two_procs)"),
        # callback
        ("callback not parked", dict(t, action="callback", node_id="act_running",
                                     data={"x": 1}),
         3545000, "can not find sleep process with current node id: act_running"),
        ("callback not reached", dict(t, action="callback", node_id="act_not_reached"),
         3545000, "can not find sleep process with current node id: act_not_reached"),
        ("callback subprocess", dict(t, action="callback", node_id="sub_running"),
         3545000, "can not find sleep process with current node id: sub_running"),
        ("callback two parked processes",
         dict(t, action="callback", node_id="act_two_procs"),
         3545000, "found multiple sleep processes at node(act_two_procs)"),
        ("callback failed node", dict(t, action="callback", node_id="act_failed"),
         3545000, "node(act_failed) state is not RUNNING, actual FAILED"),
        ("callback no schedule for the version",
         dict(t, action="callback", node_id="cb_no_sched"),
         3545000, "node(cb_no_sched) is not waiting for a callback"),
        ("callback schedule finished", dict(t, action="callback", node_id="cb_finished"),
         3545000, "schedule of node(cb_finished) is already finished"),
        ("callback schedule expired", dict(t, action="callback", node_id="cb_expired"),
         3545000, "schedule of node(cb_expired) is already expired"),
        ("callback already called back", dict(t, action="callback", node_id="cb_called",
                                              data={"again": True}),
         3545000, "node(cb_called) has already been called back"),
        # pause_subproc
        ("pause_subproc activity", dict(t, action="pause_subproc", node_id="act_failed"),
         3545000, "node(act_failed) is not a subprocess, actual ServiceActivity"),
        ("pause_subproc gateway", dict(t, action="pause_subproc", node_id="exg_failed"),
         3545000, "node(exg_failed) is not a subprocess, actual ExclusiveGateway"),
        ("pause_subproc not started",
         dict(t, action="pause_subproc", node_id="sub_not_started"),
         3545000, "subprocess(sub_not_started) has not started"),
        ("pause_subproc suspended", dict(t, action="pause_subproc", node_id="sub_suspended"),
         3545000, "can not pause subprocess(sub_suspended) in state SUSPENDED"),
        ("pause_subproc finished", dict(t, action="pause_subproc", node_id="sub_finished"),
         3545000, "can not pause subprocess(sub_finished) in state FINISHED"),
        # resume_subproc
        ("resume_subproc activity", dict(t, action="resume_subproc", node_id="act_failed"),
         3545000, "node(act_failed) is not a subprocess, actual ServiceActivity"),
        ("resume_subproc running", dict(t, action="resume_subproc", node_id="sub_running"),
         3545000, "subprocess(sub_running) is not paused, actual RUNNING"),
        ("resume_subproc ready", dict(t, action="resume_subproc", node_id="sub_ready"),
         3545000, "subprocess(sub_ready) is not paused, actual READY"),
        ("resume_subproc not started",
         dict(t, action="resume_subproc", node_id="sub_not_started"),
         3545000, "subprocess(sub_not_started) is not paused, actual CREATED"),
        ("resume_subproc finished", dict(t, action="resume_subproc", node_id="sub_finished"),
         3545000, "subprocess(sub_finished) is not paused, actual FINISHED"),
        # pause
        ("pause subprocess", dict(t, action="pause", node_id="sub_running"),
         3545000, "node(sub_running) is a subprocess, use pause_subproc"),
        ("pause nested subprocess", dict(t, action="pause", node_id="sr_nested"),
         3545000, "node(sr_nested) is a subprocess, use pause_subproc"),
        ("pause subprocess not started", dict(t, action="pause", node_id="sub_not_started"),
         3545000, "node(sub_not_started) is a subprocess, use pause_subproc"),
        ("pause failed", dict(t, action="pause", node_id="act_failed"),
         3545000, "can not pause node(act_failed) in state FAILED"),
        ("pause finished", dict(t, action="pause", node_id="act_finished"),
         3545000, "can not pause node(act_finished) in state FINISHED"),
        ("pause paused", dict(t, action="pause", node_id="act_paused"),
         3545000, "can not pause node(act_paused) in state SUSPENDED"),
        ("pause failed gateway", dict(t, action="pause", node_id="cpg_failed"),
         3545000, "can not pause node(cpg_failed) in state FAILED"),
        # resume
        ("resume subprocess", dict(t, action="resume", node_id="sub_suspended"),
         3545000, "node(sub_suspended) is a subprocess, use resume_subproc"),
        ("resume running", dict(t, action="resume", node_id="act_running"),
         3545000, "node(act_running) is not paused, actual RUNNING"),
        ("resume ready", dict(t, action="resume", node_id="act_ready"),
         3545000, "node(act_ready) is not paused, actual READY"),
        ("resume not reached", dict(t, action="resume", node_id="act_not_reached"),
         3545000, "node(act_not_reached) is not paused, actual CREATED"),
        ("resume failed", dict(t, action="resume", node_id="act_failed"),
         3545000, "node(act_failed) is not paused, actual FAILED"),
        # forced_fail
        ("forced_fail gateway", dict(t, action="forced_fail", node_id="exg_running"),
         3545000, "node(exg_running) is not a service activity, actual ExclusiveGateway"),
        ("forced_fail subprocess", dict(t, action="forced_fail", node_id="sub_running"),
         3545000, "node(sub_running) is not a service activity, actual SubProcess"),
        ("forced_fail start event", dict(t, action="forced_fail", node_id="start12"),
         3545000, "node(start12) is not a service activity, actual EmptyStartEvent"),
        ("forced_fail failed", dict(t, action="forced_fail", node_id="act_failed"),
         3545000, "node(act_failed) state is not RUNNING, actual FAILED"),
        ("forced_fail not reached", dict(t, action="forced_fail", node_id="act_not_reached"),
         3545000, "node(act_not_reached) state is not RUNNING, actual CREATED"),
        ("forced_fail paused", dict(t, action="forced_fail", node_id="act_paused"),
         3545000, "node(act_paused) state is not RUNNING, actual SUSPENDED"),
        ("forced_fail finished", dict(t, action="forced_fail", node_id="act_finished"),
         3545000, "node(act_finished) state is not RUNNING, actual FINISHED"),
        ("forced_fail no live process", dict(t, action="forced_fail", node_id="ff_no_proc"),
         3545000, "can not find process with current node id: ff_no_proc"),
        ("forced_fail two live processes",
         dict(t, action="forced_fail", node_id="ff_two_procs"),
         3545000, "found multiple processes at node(ff_two_procs)"),
        ("forced_fail called back", dict(t, action="forced_fail", node_id="cb_called"),
         3545000, "can not fail node(cb_called): it has already been called back"),
        # retry_subprocess
        ("retry_subprocess activity", dict(t, action="retry_subprocess", node_id="act_failed"),
         3545000, "node(act_failed) is not a subprocess, actual ServiceActivity"),
        ("retry_subprocess gateway", dict(t, action="retry_subprocess", node_id="cpg_failed"),
         3545000, "node(cpg_failed) is not a subprocess, actual ConditionalParallelGateway"),
        ("retry_subprocess running", dict(t, action="retry_subprocess", node_id="sub_running"),
         3545000, "node(sub_running) %s RUNNING" % nf),
        ("retry_subprocess not started",
         dict(t, action="retry_subprocess", node_id="sub_not_started"),
         3545000, "node(sub_not_started) %s CREATED" % nf),
        ("retry_subprocess finished", dict(t, action="retry_subprocess", node_id="sub_finished"),
         3545000, "node(sub_finished) %s FINISHED" % nf),
        ("retry_subprocess paused", dict(t, action="retry_subprocess", node_id="sub_suspended"),
         3545000, "node(sub_suspended) %s SUSPENDED" % nf),
        ("retry_subprocess no parked process",
         dict(t, action="retry_subprocess", node_id="sub_failed_no_proc"),
         3545000, "can not find sleep process with current node id: sub_failed_no_proc"),
        ("retry_subprocess two parked processes",
         dict(t, action="retry_subprocess", node_id="sub_failed_two_procs"),
         3545000, "found multiple sleep processes at node(sub_failed_two_procs)"),
    ]
    rows += _skip_cpg_refusals()
    rows += [
        # actions
        ("unknown action", dict(t, action="fly", node_id="act_failed"),
         3540000, "action(fly) is not supported"),
        ("action in the wrong case", dict(t, action="Retry", node_id="act_failed"),
         3540000, "action(Retry) is not supported"),
        ("bamboo's name for an action", dict(t, action="pause_node_appoint",
                                              node_id="act_running"),
         3540000, "action(pause_node_appoint) is not supported"),
        ("empty action", dict(t, action="", node_id="act_failed"),
         3540000, "action() is not supported"),
        ("unknown action on a deleted task",
         dict(project_id=1, task_id=16, action="fly", node_id="t16_act"),
         3540400, "task[id=16] of project[id=1] does not exist"),
    ]
    for action in ACTIONS:
        for name, kw, code, msg in _common():
            kw = dict(kw, action=action)
            if action == "skip_exg":
                kw["flow_id"] = "f_exg_a"
            if action == "skip_cpg":
                kw.update(flow_ids=["f_cpg_a"], converge_gateway_id="cg12")
            rows.append(("%s: %s" % (action, name), kw, code, msg))
    return rows


def _skip_cpg_refusals():
    bad = (3540000, "flow_ids must be a non-empty array of at most 64 flow id "
                    "strings of 1 to 64 bytes")
    cpg = dict(TASK, action="skip_cpg", node_id="cpg_failed")
    nogo = "is not an outgoing flow of gateway"
    rows = [
        # the fields (the service checks them first, with the same messages)
        ("no flow_ids", dict(cpg, converge_gateway_id="cg12"),
         3540000, "flow_ids is required for skip_cpg"),
        ("flow_ids empty", dict(cpg, flow_ids=[], converge_gateway_id="cg12")) + bad,
        ("flow_ids a string", dict(cpg, flow_ids='"f_cpg_a"', converge_gateway_id="cg12")) + bad,
        ("flow_ids an object", dict(cpg, flow_ids={"f_cpg_a": 1},
                                    converge_gateway_id="cg12")) + bad,
        ("flow_ids not JSON", dict(cpg, flow_ids="f_cpg_a", converge_gateway_id="cg12")) + bad,
        ("flow_ids with a number", dict(cpg, flow_ids=["f_cpg_a", 1],
                                        converge_gateway_id="cg12")) + bad,
        ("flow_ids with null", dict(cpg, flow_ids=[None], converge_gateway_id="cg12")) + bad,
        ("flow_ids with an empty id", dict(cpg, flow_ids=[""],
                                           converge_gateway_id="cg12")) + bad,
        ("flow_ids with a 65-byte id", dict(cpg, flow_ids=["f" * 65],
                                            converge_gateway_id="cg12")) + bad,
        ("65 flow_ids", dict(cpg, flow_ids=["f%d" % i for i in range(65)],
                             converge_gateway_id="cg12")) + bad,
        ("flow_ids twice", dict(cpg, flow_ids=["f_cpg_a", "f_cpg_b", "f_cpg_a"],
                                converge_gateway_id="cg12"),
         3540000, "flow_ids lists flow(f_cpg_a) twice"),
        ("no converge_gateway_id", dict(cpg, flow_ids=["f_cpg_a"]),
         3540000, "converge_gateway_id is required for skip_cpg"),
        ("empty converge_gateway_id", dict(cpg, flow_ids=["f_cpg_a"], converge_gateway_id=""),
         3540000, "converge_gateway_id is required for skip_cpg"),
        ("fields before the node's type",
         dict(cpg, node_id="act_failed", flow_ids=[], converge_gateway_id="cg12")) + bad,
        # the node
        ("exclusive gateway", dict(cpg, node_id="exg_failed", flow_ids=["f_exg_a"],
                                   converge_gateway_id="cg12"),
         3545000, "node(exg_failed) is not a conditional parallel gateway, "
                  "actual ExclusiveGateway"),
        ("activity", dict(cpg, node_id="act_failed", flow_ids=["f_act_failed"],
                          converge_gateway_id="cg12"),
         3545000, "node(act_failed) is not a conditional parallel gateway, "
                  "actual ServiceActivity"),
        ("unknown flow", dict(cpg, flow_ids=["f_cpg_a", "no_such_flow"],
                              converge_gateway_id="cg12"),
         3545000, "flow(no_such_flow) %s(cpg_failed)" % nogo),
        ("flow of another gateway", dict(cpg, flow_ids=["f_exg_a"], converge_gateway_id="cg12"),
         3545000, "flow(f_exg_a) %s(cpg_failed)" % nogo),
        ("flow of the gateway in the subprocess",
         dict(cpg, node_id="sr_cpg", flow_ids=["f_cpg_a"], converge_gateway_id="sr_cg"),
         3545000, "flow(f_cpg_a) %s(sr_cpg)" % nogo),
        ("flow id in the wrong case", dict(cpg, flow_ids=["F_CPG_A"], converge_gateway_id="cg12"),
         3545000, "flow(F_CPG_A) %s(cpg_failed)" % nogo),
        ("flow id with a trailing space",
         dict(cpg, flow_ids=["f_cpg_a", "f_cpg_a "], converge_gateway_id="cg12"),
         3545000, "flow(f_cpg_a ) %s(cpg_failed)" % nogo),
        ("flows before the converge gateway",
         dict(cpg, flow_ids=["no_such_flow"], converge_gateway_id="end12"),
         3545000, "flow(no_such_flow) %s(cpg_failed)" % nogo),
    ]
    for cg in ("end12", "sr_cg", "CG12", "cg12 ", "no_such_node"):
        rows.append(("converge gateway %r" % cg,
                     dict(cpg, flow_ids=["f_cpg_a"], converge_gateway_id=cg),
                     3545000, "converge_gateway_id(%s) is not the converge gateway of "
                              "gateway(cpg_failed)" % cg))
    rows += [
        ("converge gateway of another gateway",
         dict(cpg, node_id="sr_cpg", flow_ids=["f_srcpg_a"], converge_gateway_id="cg12"),
         3545000, "converge_gateway_id(cg12) is not the converge gateway of gateway(sr_cpg)"),
        ("running", dict(cpg, node_id="cpg_running", flow_ids=["f_cpgr_a"],
                         converge_gateway_id="cg12"),
         3545000, "node(cpg_running) state is not FAILED, actual RUNNING"),
        ("no parked process", dict(cpg, node_id="cpg_no_proc", flow_ids=["f_cpgnp_a"],
                                   converge_gateway_id="cg12"),
         3545000, "can not find sleep process with current node id: cpg_no_proc"),
        ("two parked processes", dict(cpg, node_id="cpg_two_procs", flow_ids=["f_cpg2_a"],
                                      converge_gateway_id="cg12"),
         3545000, "found multiple sleep processes at node(cpg_two_procs)"),
    ]
    return [("skip_cpg " + r[0],) + tuple(r[1:]) for r in rows]


REFUSALS = _actions()


def _refusal(kw, code, msg):
    def run(env):
        env.db.reset_demo()
        before = env.db.snapshot()
        got = act(env, **kw)
        assert got == (code, msg), "got %r, want %r" % (got, (code, msg))
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
    return run


CASES = [("refuse " + name, _refusal(kw, code, msg))
         for name, kw, code, msg in REFUSALS]


def test_refusal_message_is_cut_to_128_characters(env):
    """MESSAGE_TEXT holds at most 128 characters: a 64-character flow id on a
    33-character gateway makes a 147-character text."""
    env.db.reset_demo()
    gw = "g" * 33
    env.db.exec("INSERT INTO pipeline_node (node_id, root_pipeline_id, parent_pipeline_id, type) "
                "VALUES (%s, 'pipe12', 'pipe12', 'ExclusiveGateway')", gw)
    before = env.db.snapshot()
    flow = "f" * 64
    code, msg = act(env, **dict(TASK, node_id=gw, action="skip_exg",
                                          flow_id=flow))
    full = "3545000 flow(%s) is not an outgoing flow of gateway(%s)" % (flow, gw)
    assert len(full) > 128
    assert (code, "%d %s" % (code, msg)) == (3545000, full[:128])
    assert harness.diff_snapshots(before, env.db.snapshot()) == []


def test_works_with_autocommit_off(env):
    """operate_node commits its own transaction: with the session's
    autocommit off, a success is visible to other sessions at once and a
    refusal leaves nothing behind."""
    env.db.reset_demo()
    before = env.db.snapshot()
    c = connect(env)
    try:
        with c.cursor() as cur:
            cur.execute("SET autocommit = 0")
        assert act(env, c, **dict(TASK, node_id="act_running",
                                                   action="retry"))[0] == 3545000
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
        assert act(env, c, **dict(TASK, node_id="act_failed",
                                                   action="retry")) is None
        assert env.db.scalar("SELECT name FROM pipeline_state "
                             "WHERE node_id = 'act_failed'") == "READY"
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 1
    finally:
        c.close()


def test_sql_error_rolls_back(env):
    """Any other SQL error inside also rolls back everything and reaches the
    client unchanged: here the outbox insert, which comes after the history
    and state writes, fails (column made too short for the node id)."""
    env.db.reset_demo()
    env.db.exec("ALTER TABLE engine_outbox MODIFY node_id varchar(3) "
                "COLLATE utf8mb4_bin NOT NULL")
    try:
        before = env.db.snapshot()
        try:
            act(env, **dict(TASK, node_id="act_failed", action="retry"))
        except pymysql.err.MySQLError as e:
            assert e.args[0] == 1406, e      # data too long for column
        else:
            raise AssertionError("no error")
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
    finally:
        env.db.exec("ALTER TABLE engine_outbox MODIFY node_id varchar(33) "
                    "COLLATE utf8mb4_bin NOT NULL")


def test_actions_sql_reloads_and_drops_what_it_creates(env):
    """sql/load.sh loads actions.sql again on every run: it must drop every
    procedure it creates, and still work afterwards."""
    import os
    import re
    with open(os.path.join(harness.ROOT, "sql", "actions.sql"), "rb") as f:
        text = f.read()
    made = set(re.findall(rb"^CREATE PROCEDURE (\w+)", text, re.M))
    dropped = set(re.findall(rb"^DROP PROCEDURE IF EXISTS (\w+);", text, re.M))
    assert made == dropped, (made ^ dropped)
    env.db.client(stdin=text)
    have = {r["ROUTINE_NAME"].encode() for r in env.db.query(
        "SELECT ROUTINE_NAME FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = DATABASE()")}
    assert made <= have, made - have
    retry_ok(env, "act_failed", 1, "pipe12")


# Races -----------------------------------------------------------------------

def race(env, calls, isolation):
    """Runs the calls at once, each on its own connection; returns the
    outcomes (None for success, else (code, message)) in call order."""
    n = len(calls)
    conns = [connect(env, isolation) for _ in range(n)]
    barrier = threading.Barrier(n)
    out = [None] * n
    errors = []

    def worker(i):
        try:
            barrier.wait()
            out[i] = act(env, conns[i], **calls[i])
        except Exception as e:      # reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for c in conns:
            c.close()
    assert not errors, errors
    return out


def _race_retry(isolation):
    def run(env):
        env.db.reset_demo()
        calls = [dict(TASK, node_id="act_failed", action="retry",
                      request_id="race-%d" % i) for i in range(20)]
        out = race(env, calls, isolation)
        assert out.count(None) == 1, out
        refused = [o for o in out if o is not None]
        assert refused == [(3545000, "node(act_failed) state is not FAILED, actual READY")] * 19
        assert env.db.scalar("SELECT COUNT(*) FROM pipeline_execution_history "
                             "WHERE node_id = 'act_failed'") == 2 + 1   # demo's 2
        assert env.db.scalar("SELECT COUNT(*) FROM engine_outbox") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 1
        st = env.db.one("SELECT retry, name FROM pipeline_state WHERE node_id = 'act_failed'")
        assert (st["retry"], st["name"]) == (3, "READY")
        winner = "race-%d" % out.index(None)
        assert env.db.scalar("SELECT request_id FROM operate_record") == winner
        assert env.db.scalar("SELECT request_id FROM engine_outbox") == winner
    return run


def _race_callback(isolation):
    def run(env):
        env.db.reset_demo()
        calls = [dict(TASK, node_id="cb_wait", action="callback", data={"i": i},
                      request_id="race-%d" % i) for i in range(20)]
        out = race(env, calls, isolation)
        assert out.count(None) == 1, out
        refused = [o for o in out if o is not None]
        assert refused == [(3545000, "node(cb_wait) has already been called back")] * 19
        rows = env.db.query("SELECT data FROM pipeline_callback_data "
                            "WHERE node_id = 'cb_wait' AND version = 'v2-cb_wait'")
        assert [json.loads(r["data"]) for r in rows] == [{"i": out.index(None)}]
        assert env.db.scalar("SELECT COUNT(*) FROM engine_outbox") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 1
    return run


def _race_retry_and_skip(isolation):
    def run(env):
        env.db.reset_demo()
        calls = [dict(TASK, node_id="act_failed", action=("retry", "skip")[i % 2])
                 for i in range(20)]
        out = race(env, calls, isolation)
        assert out.count(None) == 1, out
        won = calls[out.index(None)]["action"]
        state = {"retry": "READY", "skip": "FINISHED"}[won]
        assert [o for o in out if o is not None] == \
            [(3545000, "node(act_failed) state is not FAILED, actual %s" % state)] * 19
        assert env.db.scalar("SELECT COUNT(*) FROM engine_outbox") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM pipeline_execution_history "
                             "WHERE node_id = 'act_failed'") == 2 + 1   # demo's 2
    return run


def _race_same_request_id(isolation):
    """A client retrying one request on 20 connections at once: all 20
    answer success, it is applied once (19 replays)."""
    def run(env):
        env.db.reset_demo()
        calls = [dict(TASK, node_id="act_failed", action="retry",
                      request_id="same-id") for _ in range(20)]
        assert race(env, calls, isolation) == [None] * 20
        assert env.db.scalar("SELECT COUNT(*) FROM pipeline_execution_history "
                             "WHERE node_id = 'act_failed'") == 2 + 1   # demo's 2
        assert env.db.scalar("SELECT COUNT(*) FROM engine_outbox") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM request_replay") == 1
        st = env.db.one("SELECT retry, name FROM pipeline_state WHERE node_id = 'act_failed'")
        assert (st["retry"], st["name"]) == (3, "READY")
    return run


RACE_ROUNDS = 20


def _race_forced_fail_and_callback(isolation):
    """forced_fail and a callback at once on cb_wait (RUNNING, its process
    live and asleep, a type 1 schedule): in every round exactly one wins,
    the other is refused with 3545000, and the rows are the winner's."""
    def run(env):
        wins = {"forced_fail": 0, "callback": 0}
        for rnd in range(RACE_ROUNDS):
            env.db.reset_demo()
            calls = [dict(TASK, node_id="cb_wait", action="forced_fail"),
                     dict(TASK, node_id="cb_wait", action="callback", data={"r": rnd})]
            if rnd % 2:
                calls.reverse()     # neither always starts first
            out = race(env, calls, isolation)
            assert out.count(None) == 1, (rnd, out)
            won = calls[out.index(None)]["action"]
            wins[won] += 1
            lost = [o for o in out if o is not None][0]
            st = env.db.one("SELECT name, version FROM pipeline_state WHERE node_id = 'cb_wait'")
            cbs = env.db.query("SELECT data FROM pipeline_callback_data WHERE node_id = 'cb_wait'")
            ex = env.db.query("SELECT outputs FROM pipeline_execution_data "
                              "WHERE node_id = 'cb_wait'")
            outbox = env.db.query("SELECT event, process_id FROM engine_outbox")
            records = env.db.query("SELECT operate_type FROM operate_record")
            assert env.db.scalar("SELECT asleep FROM pipeline_process WHERE id = 16") == 1
            if won == "forced_fail":
                assert lost == (3545000, "node(cb_wait) state is not RUNNING, actual FAILED")
                assert st["name"] == "FAILED" and st["version"] != "v2-cb_wait"
                assert cbs == [] and outbox == []
                assert json.loads(ex[0]["outputs"])["_forced_failed"] is True
            else:
                assert lost == (3545000, "can not fail node(cb_wait): "
                                         "it has already been called back")
                assert (st["name"], st["version"]) == ("RUNNING", "v2-cb_wait")
                assert [json.loads(c["data"]) for c in cbs] == [{"r": rnd}]
                assert [(o["event"], o["process_id"]) for o in outbox] == [("schedule", 16)]
                assert ex == []
            assert [r["operate_type"] for r in records] == [won]
            assert env.db.scalar("SELECT COUNT(*) FROM request_replay") == 1
        print("     forced_fail/callback wins (%s): %r" % (isolation, wins))
    return run


for _iso in ("REPEATABLE READ", "READ COMMITTED"):
    _tag = _iso.lower().replace(" ", "_")
    CASES.append(("race 20 retries, one wins (%s)" % _iso, _race_retry(_iso)))
    CASES.append(("race 20 type-1 callbacks, one wins (%s)" % _iso, _race_callback(_iso)))
    CASES.append(("race retries and skips, one wins (%s)" % _iso,
                  _race_retry_and_skip(_iso)))
    CASES.append(("race 20 retries of one request_id, applied once (%s)" % _iso,
                  _race_same_request_id(_iso)))
    CASES.append(("race forced_fail against callback, %d rounds (%s)" % (RACE_ROUNDS, _iso),
                  _race_forced_fail_and_callback(_iso)))


def test_actions_on_different_tasks_do_not_block(env):
    """Actions on different tasks run side by side (under REPEATABLE READ
    too): all succeed."""
    env.db.reset_demo()
    calls = [dict(project_id=1, task_id=12, node_id="act_failed", action="retry"),
             dict(project_id=1, task_id=17, node_id="t17_act", action="retry"),
             dict(project_id=2, task_id=20, node_id="t20_act", action="skip"),
             dict(project_id=4, task_id=40, node_id="t40_act", action="retry"),
             dict(project_id=1, task_id=12, node_id="cb_wait", action="callback")]
    for iso in ("REPEATABLE READ", "READ COMMITTED"):
        env.db.reset_demo()
        assert race(env, calls, iso) == [None] * len(calls)


# No full table scans ---------------------------------------------------------

BULK = 2000     # unrelated rows per table: a scan would cost at least this

# Handler_read_rnd_next counts rows read by table scans (also of internal
# temporary tables). Measured on MariaDB 10.11 with BULK extra rows in every
# table an action reads: 0 for every action, success or refusal, and SHOW
# SESSION STATUS itself adds 0 (it added ~the number of status variables on
# MySQL 5.x, hence the subtraction of its own cost below). The bound leaves
# room for an engine that scans a small internal table, and is 200 times
# below what a scan of any of the bulked tables would cost.
RND_NEXT_BOUND = 10
# Handler_read_next counts index-order reads: range reads of the matching
# rows, or a full index scan. Measured: at most 6 (resume_subproc reads its
# two suspended processes by index, twice).
READ_NEXT_BOUND = 20


def bulk_load(env):
    """BULK unrelated running tasks, each with a failed, parked activity and
    its data, a waiting callback node, a schedule, history and outbox rows."""
    c = env.db.conn()
    base = 100000
    ids = range(base, base + BULK)
    with c.cursor() as cur:
        cur.executemany(
            "INSERT INTO taskflow_instance (id, project_id, pipeline_id) VALUES (%s, 1, %s)",
            [(i, "bp%d" % i) for i in ids])
        cur.executemany(
            "INSERT INTO pipeline_node (node_id, root_pipeline_id, parent_pipeline_id, type) "
            "VALUES (%s, %s, %s, %s)",
            [(n, "bp%d" % i, "bp%d" % i, t) for i in ids
             for n, t in (("ba%d" % i, "ServiceActivity"), ("bs%d" % i, "SubProcess"),
                          ("bx%d" % i, "ExclusiveGateway"))])
        cur.executemany(
            "INSERT INTO pipeline_flow (flow_id, source_id, target_id) VALUES (%s, %s, %s)",
            [("bf%d" % i, "ba%d" % i, "bx%d" % i) for i in ids])
        cur.executemany(
            "INSERT INTO pipeline_state (node_id, root_id, parent_id, name, version) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(n, "bp%d" % i, "bp%d" % i, s, "v-" + n) for i in ids
             for n, s in (("bp%d" % i, "RUNNING"), ("ba%d" % i, "FAILED"),
                          ("bs%d" % i, "SUSPENDED"))])
        cur.executemany(
            "INSERT INTO pipeline_process (root_pipeline_id, current_node_id, pipeline_stack, "
            "asleep, suspended, suspended_by) VALUES (%s, %s, %s, %s, %s, %s)",
            [(r, n, '["%s"]' % r, a, s, sb) for i in ids
             for r, n, a, s, sb in (("bp%d" % i, "ba%d" % i, 1, 0, ""),
                                    ("bp%d" % i, "bz%d" % i, 0, 1, "bs%d" % i))])
        cur.executemany(
            "INSERT INTO pipeline_schedule (type, process_id, node_id, version) "
            "VALUES (1, 1, %s, %s)", [("ba%d" % i, "v-ba%d" % i) for i in ids])
        for t in ("pipeline_data", "pipeline_execution_data"):
            cur.executemany("INSERT INTO %s (node_id, inputs, outputs) "
                            "VALUES (%%s, '{}', '{}')" % t,
                            [("ba%d" % i,) for i in ids])
        cur.executemany(
            "INSERT INTO pipeline_execution_history (node_id, `loop`, retry, skip, version, "
            "inputs, outputs) VALUES (%s, 1, 0, 0, %s, '{}', '{}')",
            [("ba%d" % i, "v0-ba%d" % i) for i in ids])
        cur.executemany(
            "INSERT INTO pipeline_callback_data (node_id, version, data) VALUES (%s, %s, '{}')",
            [("ba%d" % i, "v0-ba%d" % i) for i in ids])
        cur.executemany(
            "INSERT INTO engine_outbox (event, process_id, node_id, root_pipeline_id, "
            "parent_pipeline_id) VALUES ('execute', 1, %s, %s, %s)",
            [("ba%d" % i, "bp%d" % i, "bp%d" % i) for i in ids])
        cur.executemany(
            "INSERT INTO operate_record (operator, operate_type, instance_id, project_id, "
            "node_id, request_id) VALUES ('admin', 'retry', %s, 1, %s, %s)",
            [(i, "ba%d" % i, "bulk-%d" % i) for i in ids])
    for t in harness.TABLES:
        env.db.exec("ANALYZE TABLE `%s`" % t)


def handler_status(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
        return {k: int(v) for k, v in cur.fetchall()}


SCAN_CALLS = [
    ("retry", dict(node_id="act_failed", action="retry",
                   inputs={"a": 1, "_escape_render_keys": ["a"]}), None),
    ("skip", dict(node_id="act_no_data", action="skip"), None),
    ("skip_exg", dict(node_id="exg_failed", action="skip_exg", flow_id="f_exg_b"), None),
    ("callback", dict(node_id="cb_wait", action="callback", data={"x": 1}), None),
    ("callback again", dict(node_id="cb_wait", action="callback"), 3545000),
    ("pause_subproc", dict(node_id="sub_running", action="pause_subproc"), None),
    ("resume_subproc", dict(node_id="sub_suspended", action="resume_subproc"), None),
    ("skip refused (flows)", dict(node_id="act_two_out", action="skip"), 3545000),
    ("callback refused (schedule)", dict(node_id="cb_no_sched", action="callback"), 3545000),
    ("unknown node", dict(node_id="nope", action="retry"), 3540400),
    ("pause", dict(node_id="act_ready", action="pause"), None),
    ("pause by appointment", dict(node_id="act_not_reached", action="pause"), None),
    ("resume", dict(node_id="sr_paused", action="resume"), None),
    ("forced_fail", dict(node_id="ff_running", action="forced_fail"), None),
    ("forced_fail refused (called back)", dict(node_id="cb_called", action="forced_fail"),
     3545000),
    ("retry_subprocess", dict(node_id="sub_failed", action="retry_subprocess"), None),
    ("skip_cpg", dict(node_id="cpg_failed", action="skip_cpg",
                      flow_ids=["f_cpg_a", "f_cpg_b"], converge_gateway_id="cg12"), None),
    ("skip_cpg refused (flow)", dict(node_id="sr_cpg", action="skip_cpg",
                                     flow_ids=["f_srcpg_a", "f_cpg_a"],
                                     converge_gateway_id="sr_cg"), 3545000),
]


def test_no_full_table_scans(env):
    env.db.reset_demo()
    bulk_load(env)
    c = connect(env)
    try:
        # load the procedures into this session's cache first
        act(env, c, **dict(TASK, node_id="nope", action="retry"))
        a, b = handler_status(c), handler_status(c)
        show = {k: b[k] - a[k] for k in a}       # SHOW's own cost
        report = []
        for name, kw, code in SCAN_CALLS:
            a = handler_status(c)
            r = act(env, c, **dict(TASK, **kw))
            b = handler_status(c)
            assert (r is None) if code is None else (r[0] == code), (name, r)
            d = {k: b[k] - a[k] - show[k] for k in a}
            report.append((name, d["Handler_read_rnd_next"], d["Handler_read_next"],
                           d["Handler_read_first"]))
        for name, rnd_next, read_next, read_first in report:
            assert rnd_next <= RND_NEXT_BOUND, report
            assert read_next <= READ_NEXT_BOUND, report
            assert read_first == 0, report      # no full index scan
    finally:
        c.close()
    env.db.reset_demo()
