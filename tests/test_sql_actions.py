"""SQL-level tests of sql/actions.sql (CALL opn_operate_node) on bk-sops' and
bamboo's real tables, with the demo data of sql/demo.sql: every action's
success with every row it writes in the real tables and proof that nothing
else changed; every refusal (README "The API") with its exact code and
full message and proof that nothing at all was written (table-driven: CASES);
replays per app; races on one node and isolation across nodes; and no full
table or index scans.
"""
import hashlib
import json
import os
import re
import threading
import time

import pymysql

import harness
import rows

ver = harness.ver
TASK = dict(project_id=1, task_id=12)      # the main demo task (sql/demo.sql)
ACTIONS = ["retry", "skip", "skip_exg", "callback", "pause_subproc",
           "resume_subproc", "pause", "resume", "forced_fail",
           "retry_subprocess", "skip_cpg"]

# The real tables the actions write (harness.TABLES lists every one the
# snapshots compare).
STATE = "eri_state"
DATA = "eri_data"
EXE = "eri_executiondata"
HIST = "eri_executionhistory"
PROC = "eri_process"
CB = "eri_callbackdata"
LOG = "eri_logentry"
RECORD = "operate_record_taskoperaterecord"
OUTBOX = "opn$outbox"
REPLAY = "opn$replay"      # every success claims its (app, request_id) there

# Tables' keys, to tell which rows an action changed.
KEYS = {STATE: ("node_id",), DATA: ("node_id",), EXE: ("node_id",),
        PROC: ("id",), OUTBOX: ("id",), RECORD: ("id",), HIST: ("id",),
        CB: ("id",), LOG: ("id",), REPLAY: ("app_code", "request_id"),
        "eri_schedule": ("id",), "eri_node": ("id",)}

EXECUTE = "pipeline.eri.celery.tasks.execute"
SCHEDULE = "pipeline.eri.celery.tasks.schedule"
VERSION_RE = re.compile(r"^v[0-9a-f]{32}$")


# Helpers ---------------------------------------------------------------------

_RIDS = iter(range(1, 1 << 30))


def rid():
    """A request id no other call of this run uses."""
    return "req-%d" % next(_RIDS)


def act(env, conn=None, **kw):
    """CALL opn_operate_node with a fresh request_id unless one is given (the
    same (app, id) twice is a replay); None on success, else (code, message)."""
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


def utc_now(env):
    return env.db.scalar("SELECT UTC_TIMESTAMP(6)")


def _key(table, row):
    cols = KEYS[table]
    return row[cols[0]] if len(cols) == 1 else tuple(row[c] for c in cols)


def changed_rows(before, after, table):
    """{key: (row before or None, row after or None)} for the rows of a table
    that differ between two snapshots."""
    b = {_key(table, r): r for r in before[table]}
    a = {_key(table, r): r for r in after[table]}
    return {k: (b.get(k), a.get(k)) for k in set(b) | set(a)
            if b.get(k) != a.get(k)}


def added_rows(before, after, table):
    """The rows a table gained (none may have changed or gone), in key order."""
    ch = changed_rows(before, after, table)
    for k, (old, _new) in ch.items():
        assert old is None, "%s row %r changed: %r" % (table, k, ch[k])
    return [new for _k, (_old, new) in sorted(ch.items())]


class Applied:
    """One applied call: the snapshots around it and the UTC times that
    bracket it (every time the procedure writes lies between them)."""

    def __init__(self, before, after, t0, t1, kw):
        self.before, self.after, self.t0, self.t1, self.kw = before, after, t0, t1, kw
        self.details = harness.last_details

    def within(self, t):
        assert self.t0 <= t <= self.t1, (self.t0, t, self.t1)


def apply(env, tables, reset=True, **kw):
    """(Resets the demo,) applies one action that must succeed, checks that
    exactly `tables` changed; returns the Applied call."""
    if reset:
        env.db.reset_demo()
    kw.setdefault("request_id", rid())
    before = env.db.snapshot()
    t0 = utc_now(env)
    r = act(env, **kw)
    t1 = utc_now(env)
    assert r is None, "refused: %r" % (r,)
    after = env.db.snapshot()
    assert set(harness.diff_snapshots(before, after)) == set(tables), \
        harness.diff_snapshots(before, after)
    return Applied(before, after, t0, t1, kw)


def is_new_version(v, old):
    assert isinstance(v, str) and VERSION_RE.match(v), v
    assert v != old


def state_change(res, node):
    """The node's state row before and after; no other state row changed."""
    ch = changed_rows(res.before, res.after, STATE)
    assert set(ch) == {node}, set(ch)
    return ch[node]


def same_except(old, new, *cols):
    for c in old:
        if c not in cols:
            assert old[c] == new[c], "%s: %r -> %r" % (c, old[c], new[c])


def execution_data(env, node):
    """The node's execution data as stored: (inputs_serializer,
    outputs_serializer, inputs, outputs), or what history takes without one."""
    rows = env.db.query("SELECT inputs_serializer, outputs_serializer, inputs, outputs "
                        "FROM eri_executiondata WHERE node_id = %s AND BINARY node_id = %s",
                        node, node)
    if not rows:
        return ("json", "json", "{}", "{}")
    r = rows[0]
    return (r["inputs_serializer"], r["outputs_serializer"], r["inputs"], r["outputs"])


def check_history(res, node, state, exe):
    """One history row: the node's archived attempt, execution data copied
    as stored (text and serializers)."""
    rows = added_rows(res.before, res.after, HIST)
    assert len(rows) == 1, rows
    h = rows[0]
    for c in ("node_id", "loop", "retry", "skip", "version"):
        assert h[c] == state[c], (c, h[c], state[c])
    assert h["started_time"] == (state["started_time"] or state["created_time"])
    if state["archived_time"] is not None:
        assert h["archived_time"] == state["archived_time"]
    else:
        res.within(h["archived_time"])
    assert (h["inputs_serializer"], h["outputs_serializer"], h["inputs"],
            h["outputs"]) == exe, h
    return h


# Outbox rows (the dispatcher's contract, README "Waking the engine") as
# comparable tuples: (kind, name, exchange, routing_key, priority, body,
# countdown, request_id), body parsed and the celery headers' timestamp
# checked and removed.

def execute(pid, node, root, parent, request_id, queue="", priority=100):
    return ("celery", EXECUTE, "default", "er_execute_" + queue if queue else "er_execute",
            priority, {"process_id": pid, "node_id": node, "root_pipeline_id": root,
                       "parent_pipeline_id": parent, "recover_point": "{}",
                       "headers": {"route_info": {"queue": queue, "priority": priority}}},
            None, request_id)


def schedule(pid, node, schedule_id, callback_data_id, request_id, queue="", priority=100):
    return ("celery", SCHEDULE, "default", "er_schedule_" + queue if queue else "er_schedule",
            priority, {"process_id": pid, "node_id": node, "schedule_id": schedule_id,
                       "callback_data_id": callback_data_id, "recover_point": "{}",
                       "headers": {"route_info": {"queue": queue, "priority": priority}}},
            None, request_id)


def zrem(node, version, request_id):
    return ("redis", "ZREM", "", "sops_executing_node_pool", None,
            ["%s_%s" % (node, version)], None, request_id)


def zadd(node, version, timeout, request_id):
    """bk-sops' timeout pool: ZADD NX, score now + the node's timeout
    (compared to the nearest minute)."""
    return ("redis", "ZADD", "", "sops_executing_node_pool", None,
            ["NX", "now+%d" % timeout, "%s_%s" % (node, version)], None, request_id)


def failed_notices(node_name, request_id, task_id=12, callback=True):
    """bk-sops' post_set_state handler on FAILED without an auto retry:
    task_callback when the task has a callback record (task 12 has one),
    then send_taskflow_message (not a child task)."""
    out = []
    if callback:
        out.append(("celery", "gcloud.taskflow3.celery.tasks.task_callback", "default",
                    "task_callback", None, {"task_id": task_id, "task_success": False},
                    None, request_id))
    out.append(("celery", "gcloud.taskflow3.celery.tasks.send_taskflow_message", "default",
                "default", None, {"task_id": task_id, "msg_type": "atom_failed",
                                  "node_name": node_name}, None, request_id))
    return out


def outbox_event(r):
    body = json.loads(r["body"])
    if r["kind"] == "celery" and r["name"].startswith("pipeline.eri."):
        ts = body["headers"].pop("timestamp")
        assert isinstance(ts, (int, float)) and abs(ts - time.time()) < 120, ts
    if r["name"] == "ZADD":
        body[1] = "now+%d" % (round((body[1] - time.time()) / 60.0) * 60)
    return (r["kind"], r["name"], r["exchange"], r["routing_key"], r["priority"],
            body, r["countdown"], r["request_id"])


def check_outbox(res, *events):
    """The outbox rows added, in id order, are exactly `events`; each not
    dispatched yet and created (UTC) during the call."""
    rows = added_rows(res.before, res.after, OUTBOX)
    got = [outbox_event(r) for r in rows]
    assert got == list(events), got
    for r in rows:
        assert r["dispatched_time"] is None
        res.within(r["created_time"])
    return rows


def check_record(res, action, node, operator="admin", project_id=1, task_id=12,
                 app="demo_app"):
    """One operate record, as bk-sops writes it for a node action
    (extra_info ""), and one replay row; returns the answer's details
    parsed (None when there are none)."""
    rows = added_rows(res.before, res.after, RECORD)
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["operator"], r["operate_type"], r["operate_source"],
            r["instance_id"], r["project_id"], r["node_id"]) == \
        (operator, action, "api", task_id, project_id, node), r
    res.within(r["operate_date"])
    assert r["extra_info"] == "", r
    check_replay(res, action, node, task_id, app)
    return json.loads(res.details) if res.details else None


def check_replay(res, action, node, task_id=12, app="demo_app"):
    """One opn$replay row: the (app, request id) claimed for this action."""
    rows = added_rows(res.before, res.after, REPLAY)
    assert [(r["app_code"], r["request_id"], r["action"], r["task_id"], r["node_id"])
            for r in rows] == [(app, res.kw["request_id"], action, task_id, node)], rows
    res.within(rows[0]["created_time"])


def data_inputs(snap, node):
    for r in snap[DATA]:
        if r["node_id"] == node:
            return json.loads(r["inputs"])
    return None


def bamboo_id(prefix, label):
    """A bamboo-style id: one letter + 32 hex digits."""
    return prefix + hashlib.md5(label.encode()).hexdigest()


def add_node(env, node_id, task, type_, targets=None, parent=None, state=None,
             version=None, process=None, **extra):
    """A node written as bamboo writes it: eri_node.detail is json.dumps of
    the node dict; optionally its state row and one process at it
    (process: dict of eri_process columns to override)."""
    root = "pipe%d" % task
    detail = {"id": node_id, "type": type_, "targets": targets or {},
              "root_pipeline_id": root, "parent_pipeline_id": parent or root,
              "can_skip": type_ in ("ServiceActivity", "ExclusiveGateway", "EmptyStartEvent"),
              "can_retry": True}
    if type_ == "ServiceActivity":
        detail.update(code="bk_display", version="legacy", name=node_id, error_ignorable=False)
    detail.update(extra)
    env.db.exec("INSERT INTO eri_node (node_id, detail) VALUES (%s, %s)",
                node_id, json.dumps(detail))
    if state:
        env.db.exec(
            "INSERT INTO eri_state (node_id, root_id, parent_id, name, version, `loop`, retry, "
            "skip, error_ignored, created_time, started_time, archived_time, inner_loop) "
            "VALUES (%s, %s, %s, %s, %s, 1, 0, 0, 0, '2024-05-01 10:00:01', "
            "'2024-05-01 10:00:02', %s, 1)",
            node_id, root, parent or root, state, version or ver("v1-" + node_id),
            None if state in ("RUNNING", "READY") else "2024-05-01 10:05:00")
    if process is not None:
        p = dict(parent_id=-1, ack_num=0, need_ack=-1, asleep=1, suspended=0, frozen=0,
                 dead=0, last_heartbeat="2024-05-01 10:05:00", destination_id="",
                 current_node_id=node_id, root_pipeline_id=root, suspended_by="",
                 priority=100, queue="", pipeline_stack=json.dumps([root]))
        p.update(process)
        cols = list(p)
        env.db.exec("INSERT INTO eri_process (%s) VALUES (%s)"
                    % (", ".join(cols), ", ".join(["%s"] * len(cols))),
                    *[p[c] for c in cols])


def setup_module(env):
    env.db.reset_demo()


# retry -----------------------------------------------------------------------

RETRY_TABLES = {STATE, HIST, OUTBOX, RECORD, REPLAY}


def retry_ok(env, node, process, parent, task=None, inputs=None,
             inputs_changed=False, request_id=None, reset=True):
    task = task or TASK
    tables = RETRY_TABLES | ({DATA} if inputs_changed else set())
    if reset:
        env.db.reset_demo()
    exe = execution_data(env, node)
    kw = dict(task, node_id=node, action="retry", request_id=request_id or rid())
    if inputs is not None:
        kw["inputs"] = inputs
    res = apply(env, tables, reset=False, **kw)

    old, new = state_change(res, node)
    assert old["name"] == "FAILED" and new["name"] == "READY"
    assert new["retry"] == old["retry"] + 1
    is_new_version(new["version"], old["version"])
    assert new["started_time"] is None and new["archived_time"] is None
    same_except(old, new, "name", "retry", "version", "started_time", "archived_time")
    check_history(res, node, old, exe)
    root = "pipe%d" % task["task_id"]
    check_outbox(res, execute(process, node, root, parent, kw["request_id"]))
    extra = check_record(res, "retry", node, project_id=task["project_id"],
                         task_id=task["task_id"])
    assert extra == {"version": old["version"], "new_version": new["version"]}
    if inputs_changed:
        assert set(changed_rows(res.before, res.after, DATA)) == {node}
    return res


def test_retry_failed_activity(env):
    res = retry_ok(env, "act_failed", 1, "pipe12")
    old = state_change(res, "act_failed")[0]
    assert old["retry"] == 2 and old["version"] == ver("v3-act_failed")


def test_retry_failed_activity_in_subprocess(env):
    retry_ok(env, "sr_act", 23, "sub_running")


def test_retry_failed_activity_in_nested_subprocess(env):
    retry_ok(env, "srn_act", 24, "sr_nested")


def test_retry_activity_with_two_outgoing_flows(env):
    retry_ok(env, "act_two_out", 8, "pipe12")


def test_retry_and_skip_in_every_other_live_task(env):
    for project, task in ((1, 17), (2, 20), (4, 40)):
        node, pid = "t%d_act" % task, {17: 32, 20: 33, 40: 35}[task]
        root = "pipe%d" % task
        for action, target in (("retry", node), ("skip", "t%d_end" % task)):
            res = apply(env, RETRY_TABLES, project_id=project, task_id=task,
                        node_id=node, action=action)
            new = state_change(res, node)[1]
            events = [execute(pid, target, root, root, res.kw["request_id"])]
            if action == "skip":
                events.append(zrem(node, new["version"], res.kw["request_id"]))
            check_outbox(res, *events)
            check_record(res, action, node, project_id=project, task_id=task)


def test_retry_request_id_and_operator_are_recorded(env):
    res = apply(env, RETRY_TABLES, **dict(TASK, node_id="act_failed", action="retry",
                                          request_id="0123456789abcdef" * 4,
                                          operator="Alice"))
    check_record(res, "retry", "act_failed", operator="Alice")
    assert added_rows(res.before, res.after, OUTBOX)[0]["request_id"] == \
        "0123456789abcdef" * 4


def test_retry_inputs_rules(env):
    """bk-sops' rules: given keys get need_render true, except keys listed in
    _escape_render_keys and keys whose current need_render is false; a
    current __executor_proxy stays whatever the request says; the
    _escape_render_keys entry is not stored; keys not given are dropped."""
    inputs = {"a": 5, "b": [1, 2], "new": {"x": 1}, "n": None, "t": True,
              "__executor_proxy": "evil", "_escape_render_keys": ["new", "zz"]}
    res = retry_ok(env, "act_failed", 1, "pipe12", inputs=inputs, inputs_changed=True)
    assert data_inputs(res.before, "act_failed")["keep_me"]
    assert data_inputs(res.after, "act_failed") == {
        "a": {"need_render": True, "value": 5},
        "b": {"need_render": False, "value": [1, 2]},     # was false
        "new": {"need_render": False, "value": {"x": 1}},  # escaped
        "n": {"need_render": True, "value": None},
        "t": {"need_render": True, "value": True},
        "__executor_proxy": {"need_render": True, "value": "proxy_admin"},
    }
    old, new = changed_rows(res.before, res.after, DATA)["act_failed"]
    same_except(old, new, "inputs")        # outputs and id unchanged


def test_retry_inputs_keep_executor_proxy_when_not_given(env):
    res = retry_ok(env, "act_failed", 1, "pipe12", inputs={"a": "x"}, inputs_changed=True)
    assert data_inputs(res.after, "act_failed") == {
        "a": {"need_render": True, "value": "x"},
        "__executor_proxy": {"need_render": True, "value": "proxy_admin"},
    }


def test_retry_inputs_new_executor_proxy_is_stored(env):
    """Only an existing __executor_proxy is protected."""
    res = retry_ok(env, "sr_act", 23, "sub_running",
                   inputs={"__executor_proxy": "bob"}, inputs_changed=True)
    assert data_inputs(res.after, "sr_act") == {
        "__executor_proxy": {"need_render": True, "value": "bob"}}


def test_retry_inputs_odd_keys(env):
    keys = {'q"uote': 1, "dot.ted": 2, "": 3, "back\\slash": 4,
            "\u00fcn\u00ef \U0001F600": 5, "$[0]": 6, "sp ace": {"deep": [None]}}
    res = retry_ok(env, "sr_act", 23, "sub_running",
                   inputs=dict(keys, _escape_render_keys=["dot.ted", ""]),
                   inputs_changed=True)
    got = data_inputs(res.after, "sr_act")
    assert got == {k: {"need_render": k not in ("dot.ted", ""), "value": v}
                   for k, v in keys.items()}, got


def test_retry_inputs_keys_compare_decoded(env):
    """A key matches however the JSON text escapes it ("\\u00fc" is "ü",
    "a\\/b" is "a/b"), in the request, in _escape_render_keys and in the
    current inputs alike."""
    env.db.reset_demo()
    env.db.exec("UPDATE eri_data SET inputs = %s WHERE node_id = 'sr_act'",
                r'{"\u00fcber": {"need_render": false, "value": 0},'
                r' "x\/y": {"need_render": true, "value": 0},'
                r' "\u005f_executor_proxy": {"need_render": true, "value": "p"}}')
    given = ('{"\u00fcber": 1, "x/y": 2, "a\\/b": 3, "\\ud83d\\ude00": 4,'
             ' "__executor_proxy": "evil", "_escape_render_keys": ["\\u0078/y"]}')
    res = retry_ok(env, "sr_act", 23, "sub_running", inputs=given,
                   inputs_changed=True, reset=False)
    assert data_inputs(res.after, "sr_act") == {
        "\u00fcber": {"need_render": False, "value": 1},   # was false
        "x/y": {"need_render": False, "value": 2},         # escaped
        "a/b": {"need_render": True, "value": 3},
        "\U0001F600": {"need_render": True, "value": 4},
        "__executor_proxy": {"need_render": True, "value": "p"},  # kept
    }


def test_retry_inputs_executor_proxy_as_bk_sops_rewrites_it(env):
    """Issue 24 item 7: bk-sops' retry_v2 writes the current proxy's value
    into the given inputs, so bamboo's rule for need_render applies to it:
    false when _escape_render_keys lists it or its current entry has
    need_render false. It keeps its place when given, else comes last."""
    res = retry_ok(env, "act_failed", 1, "pipe12", inputs_changed=True, inputs={
        "__executor_proxy": "evil", "a": 1, "_escape_render_keys": ["__executor_proxy"]})
    after = json.loads(next(r["inputs"] for r in res.after[DATA] if r["node_id"] == "act_failed"),
                       object_pairs_hook=lambda kv: kv)
    assert after == [("__executor_proxy", [("need_render", False), ("value", "proxy_admin")]),
                     ("a", [("need_render", True), ("value", 1)])], after
    env.db.reset_demo()
    env.db.exec("UPDATE eri_data SET inputs = JSON_SET(inputs, '$.__executor_proxy.need_render', "
                "JSON_EXTRACT('false', '$')) WHERE node_id = 'act_failed'")
    res = retry_ok(env, "act_failed", 1, "pipe12", inputs={"a": 1}, inputs_changed=True,
                   reset=False)
    assert data_inputs(res.after, "act_failed") == {
        "a": {"need_render": True, "value": 1},
        "__executor_proxy": {"need_render": False, "value": "proxy_admin"}}


def test_retry_inputs_keep_unrendered_only_for_json_false(env):
    """Issue 24 item 4, the keep-unrendered path run on MariaDB: a key whose
    current need_render is the JSON boolean false stays unrendered (bk-sops:
    `v.get("need_render") is False`); the string "false", 0 and null do not."""
    env.db.reset_demo()
    env.db.exec("UPDATE eri_data SET inputs = %s WHERE node_id = 'act_failed'", json.dumps({
        "b": {"need_render": False, "value": "${raw}"},
        "s": {"need_render": "false", "value": 0}, "z": {"need_render": 0, "value": 0},
        "n": {"need_render": None, "value": 0}, "o": {"value": 0}}))
    res = retry_ok(env, "act_failed", 1, "pipe12", inputs_changed=True, reset=False,
                   inputs={"b": "echo ${x}", "s": 1, "z": 2, "n": 3, "o": 4})
    assert data_inputs(res.after, "act_failed") == {
        "b": {"need_render": False, "value": "echo ${x}"},
        "s": {"need_render": True, "value": 1}, "z": {"need_render": True, "value": 2},
        "n": {"need_render": True, "value": 3}, "o": {"need_render": True, "value": 4}}


_SQL_COMPARISON_AFTER = re.compile(r"\s*(<=>|<>|!=|>=|<=|=|<|>|\bLIKE\b|\bIN\b|\bWHEN\b)"
                                   r"\s*\(?\s*'", re.I)
_SQL_COMPARISON_BEFORE = re.compile(r"'\s*(<=>|<>|!=|>=|<=|=|<|>|\bLIKE\b|\bCASE\b)\s*$", re.I)


def json_text_comparisons(sql):
    """(line, text) of every JSON_EXTRACT(...) result compared with a string
    literal: on MySQL 8 that compares a JSON value with an SQL string (the
    JSON boolean false never equals 'false'), on MariaDB text with text."""
    sql = re.sub(r"--[^\n]*", lambda m: " " * len(m.group(0)), sql)
    out = []
    for m in re.finditer(r"\bJSON_EXTRACT\s*\(", sql, re.I):
        depth, i, quote = 1, m.end(), None
        while depth and i < len(sql):
            ch = sql[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            i += 1
        if _SQL_COMPARISON_AFTER.match(sql, i) or \
                _SQL_COMPARISON_BEFORE.search(sql[max(0, m.start() - 40):m.start()]):
            line = sql.count("\n", 0, m.start()) + 1
            out.append((line, sql[m.start():i + 20].split("\n")[0]))
    return out


def test_sql_compares_no_json_with_a_string(env):
    """Issue 24 item 4: every JSON comparison in sql/ is type-safe on
    MariaDB and MySQL 8 (JSON_UNQUOTE, JSON_TYPE, JSON_VALUE, JSON_CONTAINS)."""
    # the detector finds what it must
    assert len(json_text_comparisons(
        "IF JSON_EXTRACT(v, CONCAT('$.', k, '.need_render')) = 'false' THEN\n"
        "WHERE 'x' = JSON_EXTRACT(d, '$.a') OR JSON_EXTRACT(d, '$.b') IN ('y')\n"
        "-- JSON_EXTRACT(d, '$.c') = 'in a comment'\n"
        "AND JSON_UNQUOTE(JSON_EXTRACT(d, '$.t')) = 'ok' AND JSON_EXTRACT(d, '$.n') IS NULL")) == 3
    sql_dir = os.path.join(harness.ROOT, "sql")
    found = []
    for name in sorted(os.listdir(sql_dir)):
        if name.endswith(".sql"):
            with open(os.path.join(sql_dir, name), encoding="utf-8") as f:
                found += [(name,) + hit for hit in json_text_comparisons(f.read())]
    assert found == [], found


def test_retry_empty_inputs_keep_current(env):
    """Empty or absent inputs keep the current ones (eri_data unchanged)."""
    for inputs in ({}, None):
        retry_ok(env, "act_failed", 1, "pipe12", inputs=inputs)


def test_retry_escape_render_keys_only_replaces_inputs(env):
    """Issue 12 item 3: inputs holding only _escape_render_keys replace the
    current inputs (bamboo's set_data_inputs): nothing is left but the kept
    __executor_proxy."""
    for inputs in ({"_escape_render_keys": []}, {"_escape_render_keys": ["a"]}):
        res = retry_ok(env, "act_failed", 1, "pipe12", inputs=inputs, inputs_changed=True)
        assert len(data_inputs(res.before, "act_failed")) == 4
        assert data_inputs(res.after, "act_failed") == {
            "__executor_proxy": {"need_render": True, "value": "proxy_admin"}}, inputs


def test_retry_activity_without_execution_data(env):
    """History takes '{}' (json) where the node has no execution data."""
    env.db.reset_demo()
    env.db.exec("DELETE FROM eri_executiondata WHERE node_id = 'sr_act'")
    res = retry_ok(env, "sr_act", 23, "sub_running", reset=False)
    h = added_rows(res.before, res.after, HIST)
    assert [(r["inputs_serializer"], r["outputs_serializer"], r["inputs"], r["outputs"])
            for r in h] == [("json", "json", "{}", "{}")]


def test_retry_and_skip_copy_pickled_execution_data(env):
    """act_pickled's execution data is pickled: retry and skip archive it
    as it stands, serializer 'pickle', and leave it untouched."""
    exe = ("pickle", "pickle", "gASVCgAAAAAAAAB9lIwBYZRLAXMu",
           "gASVKQAAAAAAAAB9lCiMB2V4X2RhdGGUjAxkZW1vIGZhaWx1cmWUjAdfcmVzdWx0lIl1Lg==")
    env.db.reset_demo()
    assert execution_data(env, "act_pickled") == exe
    res = retry_ok(env, "act_pickled", 60, "pipe12")
    assert [(h["inputs_serializer"], h["outputs_serializer"], h["inputs"], h["outputs"])
            for h in added_rows(res.before, res.after, HIST)] == [exe]
    res = skip_ok(env, "act_pickled", 60, "end12", "pipe12")
    assert [(h["inputs_serializer"], h["outputs_serializer"], h["inputs"], h["outputs"])
            for h in added_rows(res.before, res.after, HIST)] == [exe]
    assert execution_data(env, "act_pickled") == exe


def test_retry_twice_after_failing_again(env):
    """Each retry archives the attempt it replaces."""
    env.db.reset_demo()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry")) is None
    v2 = env.db.scalar("SELECT version FROM eri_state WHERE node_id = 'act_failed'")
    # the engine runs it and it fails again
    env.db.exec("UPDATE eri_state SET name = 'FAILED', "
                "started_time = '2024-06-01 00:00:00', archived_time = '2024-06-01 00:01:00' "
                "WHERE node_id = 'act_failed'")
    assert act(env, **dict(TASK, node_id="act_failed", action="retry")) is None
    rows = env.db.query("SELECT retry, version FROM eri_executionhistory "
                        "WHERE node_id = 'act_failed' ORDER BY id")
    assert [(r["retry"], r["version"]) for r in rows] == [
        (0, ver("v1-act_failed")), (1, ver("v2-act_failed")), (2, ver("v3-act_failed")),
        (3, v2)]
    st = env.db.one("SELECT retry, version FROM eri_state WHERE node_id = 'act_failed'")
    assert st["retry"] == 4
    is_new_version(st["version"], v2)
    assert env.db.scalar("SELECT COUNT(*) FROM `opn$outbox`") == 2
    assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 2


# skip ------------------------------------------------------------------------

SKIP_TABLES = {STATE, HIST, OUTBOX, RECORD, REPLAY}


def skip_ok(env, node, process, target, parent, action="skip", **kw):
    env.db.reset_demo()
    exe = execution_data(env, node)
    res = apply(env, SKIP_TABLES, reset=False,
                **dict(TASK, node_id=node, action=action, **kw))

    old, new = state_change(res, node)
    assert old["name"] == "FAILED" and new["name"] == "FINISHED"
    assert new["skip"] == 1
    is_new_version(new["version"], old["version"])
    res.within(new["archived_time"])
    same_except(old, new, "name", "skip", "version", "archived_time")
    check_history(res, node, old, exe)
    r = res.kw["request_id"]
    check_outbox(res, execute(process, target, "pipe12", parent, r),
                 zrem(node, new["version"], r))
    extra = check_record(res, action, node)
    assert extra["version"] == old["version"]
    assert extra["new_version"] == new["version"]
    res.extra = extra
    return res


def test_skip_failed_activity(env):
    assert skip_ok(env, "act_failed", 1, "act_not_reached", "pipe12").extra == {
        "version": ver("v3-act_failed"),
        "new_version": env.db.scalar("SELECT version FROM eri_state WHERE node_id = 'act_failed'")}


def test_skip_activity_without_data(env):
    skip_ok(env, "act_no_data", 3, "act_not_reached", "pipe12")


def test_skip_failed_start_event_in_subprocess(env):
    skip_ok(env, "sr_start", 22, "sr_act", "sub_running")


# skip_exg --------------------------------------------------------------------

def test_skip_exg_each_flow(env):
    for flow, target in (("f_exg_a", "exg_a"), ("f_exg_b", "exg_b")):
        extra = skip_ok(env, "exg_failed", 10, target, "pipe12",
                        action="skip_exg", flow_id=flow).extra
        assert set(extra) == {"version", "new_version", "flow_id"}
        assert extra["flow_id"] == flow


def test_skip_exg_bamboo_ids(env):
    """A gateway and flows with bamboo's 33-character ids."""
    skip_ok(env, "ndc0cf34ffd2649fe6864f6310651cb79", 62, "exg_b", "pipe12",
            action="skip_exg", flow_id="la2bf443747b40149f0931987bc1985e1")


# callback --------------------------------------------------------------------

CALLBACK_TABLES = {CB, OUTBOX, RECORD, REPLAY}


def callback_ok(env, node, process, schedule_id, data, stored, reset=True):
    kw = dict(TASK, node_id=node, action="callback")
    if data is not None:
        kw["data"] = data
    res = apply(env, CALLBACK_TABLES, reset=reset, **kw)
    version = [r["version"] for r in res.before[STATE] if r["node_id"] == node][0]
    cb = added_rows(res.before, res.after, CB)
    assert len(cb) == 1
    assert (cb[0]["node_id"], cb[0]["version"]) == (node, version)
    assert json.loads(cb[0]["data"]) == stored
    check_outbox(res, schedule(process, node, schedule_id, cb[0]["id"], res.kw["request_id"]))
    extra = check_record(res, "callback", node)
    assert extra == {"version": version, "schedule_id": schedule_id,
                     "callback_data_id": cb[0]["id"]}
    return cb[0]["id"]


def test_callback_type_1(env):
    data = {"k": [1, {"z": None}], "s": "\u00fc\U0001F600", "f": 1.5}
    assert callback_ok(env, "cb_wait", 16, 1, data, data) == 3


def test_callback_without_data_stores_empty_object(env):
    callback_ok(env, "cb_wait", 16, 1, None, {})


def test_callback_type_1_second_callback_is_accepted(env):
    """Issue 12 item 2: a second callback on a waiting node is accepted and
    stored (two eri_callbackdata rows, two schedule messages); the engine
    drops what comes too late."""
    assert callback_ok(env, "cb_wait", 16, 1, {"n": 1}, {"n": 1}) == 3
    assert callback_ok(env, "cb_wait", 16, 1, {"n": 2}, {"n": 2}, reset=False) == 4
    rows = env.db.query("SELECT id, version, data FROM eri_callbackdata "
                        "WHERE node_id = 'cb_wait' ORDER BY id")
    assert [(r["id"], r["version"], json.loads(r["data"])) for r in rows] == \
        [(3, ver("v2-cb_wait"), {"n": 1}), (4, ver("v2-cb_wait"), {"n": 2})]
    out = [outbox_event(r) for r in env.db.query("SELECT * FROM `opn$outbox` ORDER BY id")]
    assert [(o[1], o[5]["schedule_id"], o[5]["callback_data_id"]) for o in out] == \
        [(SCHEDULE, 1, 3), (SCHEDULE, 1, 4)]


def test_callback_on_node_already_called_back(env):
    """cb_called has a pending callback: one more is accepted."""
    assert callback_ok(env, "cb_called", 18, 4, {"again": True}, {"again": True}) == 3


def test_callback_type_2_many_times(env):
    ids = [callback_ok(env, "cb_multi", 17, 3, {"n": n}, {"n": n}, reset=(n == 0))
           for n in range(3)]
    assert ids == [3, 4, 5]
    assert env.db.scalar("SELECT COUNT(*) FROM eri_callbackdata "
                         "WHERE node_id = 'cb_multi'") == 4


# pause_subproc / resume_subproc ---------------------------------------------

PAUSE_TABLES = {STATE, OUTBOX, RECORD, REPLAY}


def test_pause_subproc(env):
    for node, state in (("sub_running", "RUNNING"), ("sub_ready", "READY")):
        res = apply(env, PAUSE_TABLES, **dict(TASK, node_id=node, action="pause_subproc"))
        old, new = state_change(res, node)
        assert old["name"] == state and new["name"] == "SUSPENDED"
        same_except(old, new, "name")
        check_outbox(res, zrem(node, old["version"], res.kw["request_id"]))
        assert check_record(res, "pause_subproc", node) is None


def test_resume_subproc(env):
    res = apply(env, {STATE, PROC, OUTBOX, RECORD, REPLAY},
                **dict(TASK, node_id="sub_suspended", action="resume_subproc"))
    old, new = state_change(res, "sub_suspended")
    assert old["name"] == "SUSPENDED" and new["name"] == "RUNNING"
    same_except(old, new, "name")
    procs = changed_rows(res.before, res.after, PROC)
    assert set(procs) == {25, 26}
    for old_p, new_p in procs.values():
        assert (old_p["suspended"], old_p["suspended_by"]) == (1, "sub_suspended")
        assert (new_p["suspended"], new_p["suspended_by"]) == (0, "")
        same_except(old_p, new_p, "suspended", "suspended_by")
    r = res.kw["request_id"]
    # sub_suspended has a 600 s timeout: back into bk-sops' timeout pool
    check_outbox(res, execute(25, "ss_act1", "pipe12", "sub_suspended", r),
                 execute(26, "ss_act2", "pipe12", "sub_suspended", r),
                 zadd("sub_suspended", old["version"], 600, r))
    assert check_record(res, "resume_subproc", "sub_suspended") == {"resumed_processes": 2}


def test_pause_then_resume_subproc(env):
    """Paused before any process noticed: resuming wakes nobody."""
    env.db.reset_demo()
    kw = dict(TASK, node_id="sub_running")
    assert act(env, action="pause_subproc", **kw) is None
    res = apply(env, {STATE, RECORD, REPLAY}, reset=False, action="resume_subproc", **kw)
    assert state_change(res, "sub_running")[1]["name"] == "RUNNING"
    assert act(env, action="resume_subproc", **kw) == \
        (3545000, "subprocess(sub_running) is not paused, actual RUNNING")


# pause / resume (bk-sops' undocumented commands) ------------------------------

def test_pause(env):
    for node, state in (("act_running", "RUNNING"), ("act_ready", "READY")):
        res = apply(env, PAUSE_TABLES, **dict(TASK, node_id=node, action="pause"))
        old, new = state_change(res, node)
        assert old["name"] == state and new["name"] == "SUSPENDED"
        same_except(old, new, "name")
        check_outbox(res, zrem(node, old["version"], res.kw["request_id"]))
        assert check_record(res, "pause", node) is None


def test_pause_by_appointment(env):
    """A node not reached yet gets a SUSPENDED state row as bamboo's
    pause_node_appoint writes it: root and parent '' (filled when the node
    runs), a new version, first loop, no times."""
    for node in ("act_not_reached", "srn_end", "cg12"):
        res = apply(env, PAUSE_TABLES, **dict(TASK, node_id=node, action="pause"))
        old, new = state_change(res, node)
        assert old is None
        is_new_version(new["version"], None)
        res.within(new["created_time"])
        assert new["id"] > max(r["id"] for r in res.before[STATE])
        assert {k: v for k, v in new.items() if k not in ("id", "version", "created_time")} == \
            dict(node_id=node, root_id="", parent_id="", name="SUSPENDED",
                 loop=1, inner_loop=1, retry=0, skip=0, error_ignored=0,
                 started_time=None, archived_time=None)
        check_outbox(res, zrem(node, new["version"], res.kw["request_id"]))
        assert check_record(res, "pause", node) == \
            {"appointment": True, "new_version": new["version"]}


def test_pause_by_appointment_then_resume(env):
    env.db.reset_demo()
    kw = dict(TASK, node_id="act_not_reached")
    assert act(env, action="pause", **kw) is None
    v = env.db.scalar("SELECT version FROM eri_state WHERE node_id = 'act_not_reached'")
    assert act(env, action="pause", **kw) == \
        (3545000, "can not pause node(act_not_reached) in state SUSPENDED")
    res = apply(env, {STATE, RECORD, REPLAY}, reset=False, action="resume", **kw)
    old, new = state_change(res, "act_not_reached")
    assert (new["name"], new["version"]) == ("READY", v)
    same_except(old, new, "name")
    assert check_record(res, "resume", "act_not_reached") == {"resumed_processes": 0}
    # READY may be paused again (bamboo's READY -> SUSPENDED)
    assert act(env, action="pause", **kw) is None


def test_resume_wakes_the_processes_it_suspended(env):
    res = apply(env, {STATE, PROC, OUTBOX, RECORD, REPLAY},
                **dict(TASK, node_id="sr_paused", action="resume"))
    old, new = state_change(res, "sr_paused")
    assert old["name"] == "SUSPENDED" and new["name"] == "READY"
    same_except(old, new, "name")
    procs = changed_rows(res.before, res.after, PROC)
    assert set(procs) == {40}
    old_p, new_p = procs[40]
    assert (old_p["suspended"], old_p["suspended_by"]) == (1, "sr_paused")
    assert (new_p["suspended"], new_p["suspended_by"]) == (0, "")
    same_except(old_p, new_p, "suspended", "suspended_by")
    check_outbox(res, execute(40, "sr_paused", "pipe12", "sub_running", res.kw["request_id"]))
    assert check_record(res, "resume", "sr_paused") == {"resumed_processes": 1}


def test_resume_appointment_wakes_nobody(env):
    res = apply(env, {STATE, RECORD, REPLAY}, **dict(TASK, node_id="act_paused",
                                                     action="resume"))
    old, new = state_change(res, "act_paused")
    assert (old["name"], new["name"]) == ("SUSPENDED", "READY")
    same_except(old, new, "name")
    assert check_record(res, "resume", "act_paused") == {"resumed_processes": 0}


def test_pause_then_resume(env):
    env.db.reset_demo()
    kw = dict(TASK, node_id="act_running")
    assert act(env, action="pause", **kw) is None
    res = apply(env, {STATE, RECORD, REPLAY}, reset=False, action="resume", **kw)
    assert state_change(res, "act_running")[1]["name"] == "READY"


# forced_fail -----------------------------------------------------------------

FF_OUT = {"ex_data": "The node has been terminated by admin.", "_forced_failed": True}


def forced_fail_ok(env, node, process, outputs, name, operator="admin", reset=True,
                   logs=False):
    """forced_fail succeeds: state FAILED with a new version and archived
    now; the one process at the node asleep; the execution outputs as given
    (the row created, json, inputs {} where there was none); the node's log
    lines of the attempt follow it to the new version; a ZREM and bk-sops'
    failure notices; no history."""
    if reset:
        env.db.reset_demo()
    exe_before = env.db.query("SELECT * FROM eri_executiondata WHERE node_id = %s", node)
    was_asleep = env.db.scalar("SELECT asleep FROM eri_process WHERE id = %s", process)
    tables = {STATE, EXE, OUTBOX, RECORD, REPLAY}
    if not was_asleep:
        tables.add(PROC)
    if logs:
        tables.add(LOG)
    res = apply(env, tables, reset=False,
                **dict(TASK, node_id=node, action="forced_fail", operator=operator))

    old, new = state_change(res, node)
    assert old["name"] == "RUNNING" and new["name"] == "FAILED"
    is_new_version(new["version"], old["version"])
    res.within(new["archived_time"])
    same_except(old, new, "name", "version", "archived_time")
    if not was_asleep:
        procs = changed_rows(res.before, res.after, PROC)
        assert set(procs) == {process}
        old_p, new_p = procs[process]
        assert (old_p["asleep"], new_p["asleep"]) == (0, 1)
        same_except(old_p, new_p, "asleep")
    assert env.db.scalar("SELECT asleep FROM eri_process WHERE id = %s", process) == 1
    ex = changed_rows(res.before, res.after, EXE)
    assert set(ex) == {node}
    ex_old, ex_new = ex[node]
    if exe_before:
        same_except(ex_old, ex_new, "outputs")
    else:
        assert ex_old is None
        assert (ex_new["inputs_serializer"], ex_new["outputs_serializer"],
                ex_new["inputs"]) == ("json", "json", "{}")
    assert json.loads(ex_new["outputs"]) == outputs
    r = res.kw["request_id"]
    check_outbox(res, zrem(node, new["version"], r), *failed_notices(name, r))
    assert check_record(res, "forced_fail", node, operator=operator) == \
        {"version": old["version"], "new_version": new["version"]}
    return res


def test_forced_fail_creates_execution_data(env):
    forced_fail_ok(env, "act_running", 7, FF_OUT, "running")


def test_forced_fail_keeps_other_outputs_and_relabels_logs(env):
    env.db.reset_demo()
    v = ver("v1-ff_running")
    assert env.db.scalar("SELECT version FROM eri_state WHERE node_id = 'ff_running'") == v
    with env.db.conn().cursor() as c:
        c.executemany(
            "INSERT INTO eri_logentry (node_id, `loop`, logger_name, level_name, message, "
            "logged_at, version) VALUES (%s, 1, 'component', 'INFO', %s, "
            "'2024-05-01 10:00:03', %s)",
            [("ff_running", "this attempt 1", v), ("ff_running", "this attempt 2", v),
             ("ff_running", "an older attempt", ver("v0-ff_running")),
             ("act_running", "another node", env.db.scalar(
                 "SELECT version FROM eri_state WHERE node_id = 'act_running'"))])
    res = forced_fail_ok(env, "ff_running", 41, {
        "progress": 50, "ex_data": "The node has been terminated by Alice \"A\".",
        "_forced_failed": True}, "running, with execution data", operator='Alice "A"',
        reset=False, logs=True)
    new = state_change(res, "ff_running")[1]
    logs = changed_rows(res.before, res.after, LOG)
    assert sorted(n["message"] for _o, n in logs.values()) == \
        ["this attempt 1", "this attempt 2"]
    for o, n in logs.values():
        assert (o["version"], n["version"]) == (v, new["version"])
        same_except(o, n, "version")


def test_forced_fail_waiting_node(env):
    """A node parked for a callback (not called back yet, or called back and
    pending: forced_fail wins, issue 12 item 1) or whose schedule is
    finished: the process stays asleep."""
    forced_fail_ok(env, "cb_wait", 16, FF_OUT, "waits for one callback")
    forced_fail_ok(env, "cb_called", 18, FF_OUT, "already called back")
    forced_fail_ok(env, "cb_finished", 19, FF_OUT, "schedule finished")


def test_forced_fail_with_auto_retry_queues_the_retry(env):
    """ff_autoretry has an auto-retry strategy with retries left (1 of 3,
    interval 5 s): bk-sops queues auto_retry_node with that countdown
    instead of the failure notices."""
    env.db.reset_demo()
    res = apply(env, {STATE, EXE, PROC, OUTBOX, RECORD, REPLAY}, reset=False,
                **dict(TASK, node_id="ff_autoretry", action="forced_fail"))
    old, new = state_change(res, "ff_autoretry")
    assert (old["name"], new["name"]) == ("RUNNING", "FAILED")
    r = res.kw["request_id"]
    check_outbox(res, zrem("ff_autoretry", new["version"], r),
                 ("celery", "gcloud.taskflow3.celery.tasks.auto_retry_node", "default",
                  "node_auto_retry", None,
                  {"taskflow_id": 12, "root_pipeline_id": "pipe12", "node_id": "ff_autoretry",
                   "retry_times": 1, "engine_ver": 2}, 5, r))
    assert check_record(res, "forced_fail", "ff_autoretry") == \
        {"version": old["version"], "new_version": new["version"]}


def test_forced_fail_then_retry_or_skip(env):
    """forced_fail parks the process at the node: retry and skip then work,
    and archive the forced failure."""
    for action, state in (("retry", "READY"), ("skip", "FINISHED")):
        env.db.reset_demo()
        kw = dict(TASK, node_id="cb_wait")
        assert act(env, action="forced_fail", **kw) is None
        assert act(env, action="callback", **kw) == \
            (3545000, "node(cb_wait) state is not RUNNING, actual FAILED")
        assert act(env, action=action, **kw) is None
        assert env.db.scalar("SELECT name FROM eri_state WHERE node_id = 'cb_wait'") == state
        h = env.db.one("SELECT * FROM eri_executionhistory WHERE node_id = 'cb_wait'")
        assert json.loads(h["outputs"]) == FF_OUT
        assert (h["inputs_serializer"], h["outputs_serializer"]) == ("json", "json")


# retry_subprocess ------------------------------------------------------------

def retry_subprocess_ok(env, node, process, parent, stack_after):
    env.db.reset_demo()
    old_stack = json.loads(env.db.scalar(
        "SELECT pipeline_stack FROM eri_process WHERE id = %s", process))
    popped = old_stack != stack_after
    res = apply(env, RETRY_TABLES | ({PROC} if popped else set()), reset=False,
                **dict(TASK, node_id=node, action="retry_subprocess"))

    old, new = state_change(res, node)
    assert old["name"] == "FAILED" and new["name"] == "READY"
    assert new["retry"] == old["retry"] + 1
    is_new_version(new["version"], old["version"])
    assert new["started_time"] is None and new["archived_time"] is None
    same_except(old, new, "name", "retry", "version", "started_time", "archived_time")
    if popped:
        procs = changed_rows(res.before, res.after, PROC)
        assert set(procs) == {process}
        old_p, new_p = procs[process]
        assert json.loads(new_p["pipeline_stack"]) == stack_after
        same_except(old_p, new_p, "pipeline_stack")
    check_history(res, node, old, ("json", "json", "{}", "{}"))
    check_outbox(res, execute(process, node, "pipe12", parent, res.kw["request_id"]))
    assert check_record(res, "retry_subprocess", node) == \
        {"version": old["version"], "new_version": new["version"]}
    return old, new


def test_retry_subprocess_pops_its_stack_entry(env):
    """The message names the stack's top read before the pop
    (bamboo-engine engine.py retry_subprocess): sub_failed itself."""
    old, new = retry_subprocess_ok(env, "sub_failed", 45, "sub_failed", ["pipe12"])
    assert (old["retry"], new["retry"]) == (1, 2)
    assert old["version"] == ver("v2-sub_failed")


def test_retry_subprocess_nested_not_on_the_stack(env):
    retry_subprocess_ok(env, "srs_failed", 46, "sub_running", ["pipe12", "sub_running"])


# skip_cpg --------------------------------------------------------------------

FIRST_CHILD = 64        # sql/demo.sql: eri_process ids run to 63


def skip_cpg_ok(env, node, process, flows, targets, converge, parent, priority=100,
                queue=""):
    env.db.reset_demo()
    exe = execution_data(env, node)
    res = apply(env, SKIP_TABLES | {PROC}, reset=False,
                **dict(TASK, node_id=node, action="skip_cpg", flow_ids=flows,
                       converge_gateway_id=converge))

    old, new = state_change(res, node)
    assert old["name"] == "FAILED" and new["name"] == "FINISHED" and new["skip"] == 1
    is_new_version(new["version"], old["version"])
    res.within(new["archived_time"])
    same_except(old, new, "name", "skip", "version", "archived_time")
    check_history(res, node, old, exe)

    procs = changed_rows(res.before, res.after, PROC)
    old_p, new_p = procs.pop(process)
    assert (new_p["need_ack"], new_p["ack_num"]) == (len(flows), 0)
    same_except(old_p, new_p, "need_ack", "ack_num")
    children = [n for _k, (_o, n) in sorted(procs.items())]
    assert all(o is None for o, _n in procs.values())
    ids = list(range(FIRST_CHILD, FIRST_CHILD + len(flows)))
    assert [c["id"] for c in children] == ids
    for c, target in zip(children, targets):
        res.within(c.pop("last_heartbeat"))
        assert c.pop("pipeline_stack") == old_p["pipeline_stack"]
        c.pop("id")
        assert c == dict(parent_id=process, root_pipeline_id="pipe12",
                         current_node_id=target, destination_id=converge,
                         asleep=1, suspended=0, suspended_by="", dead=0, frozen=0,
                         ack_num=0, need_ack=-1, priority=priority, queue=queue), c
    r = res.kw["request_id"]
    check_outbox(res, *([execute(i, t, "pipe12", parent, r, queue, priority)
                         for i, t in zip(ids, targets)] + [zrem(node, new["version"], r)]))
    assert check_record(res, "skip_cpg", node) == {
        "version": old["version"], "new_version": new["version"],
        "flow_ids": flows, "child_processes": ids}


def test_skip_cpg_both_flows(env):
    skip_cpg_ok(env, "cpg_failed", 15, ["f_cpg_a", "f_cpg_b"], ["exg_a", "exg_b"],
                "cg12", "pipe12")


def test_skip_cpg_one_flow(env):
    skip_cpg_ok(env, "cpg_failed", 15, ["f_cpg_b"], ["exg_b"], "cg12", "pipe12")


def test_skip_cpg_in_subprocess_in_the_order_given(env):
    skip_cpg_ok(env, "sr_cpg", 49, ["f_srcpg_c", "f_srcpg_a"], ["srcpg_c", "srcpg_a"],
                "sr_cg", "sub_running", priority=50, queue="q_demo")


def test_skip_cpg_bamboo_ids(env):
    skip_cpg_ok(env, "nccf129d23f01d9082f0efa4d2ee1ba2e", 63,
                ["ld93477bbdbd45657f5ffc59d93081b7e", "l08eb15e8717c88e7330c5b8749f6cf1f"],
                ["exg_b", "exg_a"], "n485b61ffc1242515ce38b37354acf9ad", "pipe12")


def _shorten_routing_key(env, n):
    env.db.exec("ALTER TABLE `opn$outbox` MODIFY routing_key varchar(%d) NOT NULL" % n)


def test_skip_cpg_failed_statement_leaves_no_children(env):
    """Children are written before their outbox rows: when an outbox
    insert fails, the whole action rolls back, children included."""
    env.db.reset_demo()
    _shorten_routing_key(env, 3)
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
        _shorten_routing_key(env, 255)


def test_skip_cpg_two_flows_to_one_target_make_one_process(env):
    """Issue 24 item 3: bamboo's from_to is a dict keyed by target, so two
    chosen flows to one node make one process there (and the parent waits
    for the distinct targets only)."""
    env.db.reset_demo()
    add_node(env, "cpg_dup", 12, "ConditionalParallelGateway",
             targets={"f_dup_1": "exg_a", "f_dup_2": "exg_b", "f_dup_3": "exg_a"},
             state="FAILED", process={}, converge_gateway_id="cg12", can_skip=False)
    pid = env.db.scalar("SELECT id FROM eri_process WHERE current_node_id = 'cpg_dup'")
    res = apply(env, SKIP_TABLES | {PROC}, reset=False,
                **dict(TASK, node_id="cpg_dup", action="skip_cpg",
                       flow_ids=["f_dup_3", "f_dup_2", "f_dup_1"], converge_gateway_id="cg12"))
    procs = changed_rows(res.before, res.after, PROC)
    old_p, new_p = procs.pop(pid)
    assert (new_p["need_ack"], new_p["ack_num"]) == (2, 0)
    children = [n for _k, (_o, n) in sorted(procs.items())]
    assert [(c["id"], c["current_node_id"], c["parent_id"]) for c in children] == \
        [(pid + 1, "exg_a", pid), (pid + 2, "exg_b", pid)]
    new = state_change(res, "cpg_dup")[1]
    r = res.kw["request_id"]
    check_outbox(res, execute(pid + 1, "exg_a", "pipe12", "pipe12", r),
                 execute(pid + 2, "exg_b", "pipe12", "pipe12", r),
                 zrem("cpg_dup", new["version"], r))
    assert check_record(res, "skip_cpg", "cpg_dup")["child_processes"] == [pid + 1, pid + 2]


# Child tasks (issue 24 item 1) -------------------------------------------------
# Task 12 (the demo's) started the independent child task 78 from its node
# w12, which started task 79 from its node w78; n79 failed, so w78 and w12
# failed. bk-sops' nodes_action revives w78 and w12 before retry or skip of
# n79 (change_parent_task_node_state_to_running).

CHILD = dict(project_id=8, task_id=79, node_id="n79")


def child_chain(env, reset=True):
    """The chain (on a fresh demo); returns (w12's version, w78's version,
    the pid parked at n79)."""
    if reset:
        env.db.reset_demo()
    v12 = rows.parent_node(env.db, "pipe12", "w12", timeout=600)
    rows.engine_task(env.db, project=7, biz=70, task=78, node="n78")
    v78 = rows.parent_node(env.db, "root78", "w78")
    rows.engine_task(env.db, project=8, biz=80, task=79, node="n79")
    rows.child_of(env.db, 78, 12, 12, "w12", v12)
    rows.child_of(env.db, 79, 78, 12, "w78", v78)
    pid = env.db.scalar("SELECT id FROM eri_process WHERE current_node_id = 'n79'")
    return v12, v78, pid


def check_revived(res, nodes):
    """nodes (node: version) went FAILED -> RUNNING at the same version,
    archived_time cleared; their schedule at that version is un-expired;
    ex_data left their execution outputs; nothing else of theirs changed."""
    states = changed_rows(res.before, res.after, STATE)
    scheds = changed_rows(res.before, res.after, "eri_schedule")
    exes = changed_rows(res.before, res.after, EXE)
    assert set(scheds) == {r["id"] for r in res.before["eri_schedule"]
                           if r["node_id"] in nodes}, scheds
    for node, version in nodes.items():
        old, new = states[node]
        assert (old["name"], new["name"]) == ("FAILED", "RUNNING")
        assert old["version"] == new["version"] == version
        assert new["archived_time"] is None
        same_except(old, new, "name", "archived_time")
        old_e, new_e = exes[node]
        assert json.loads(old_e["outputs"])["ex_data"] == "child task failed"
        assert json.loads(new_e["outputs"]) == {"task_id": 1, "_result": False}
        same_except(old_e, new_e, "outputs")
    for _k, (old, new) in scheds.items():
        assert (old["expired"], new["expired"]) == (1, 0)
        assert old["version"] == nodes[old["node_id"]]
        same_except(old, new, "expired")
    return states, exes


def test_child_task_retry_revives_its_parents_up_to_the_root(env):
    v12, v78, pid = child_chain(env)
    res = apply(env, RETRY_TABLES | {"eri_schedule", EXE}, reset=False,
                **dict(CHILD, action="retry"))
    states, exes = check_revived(res, {"w78": v78, "w12": v12})
    assert set(states) == {"n79", "w78", "w12"} and set(exes) == {"w78", "w12"}
    assert (states["n79"][0]["name"], states["n79"][1]["name"]) == ("FAILED", "READY")
    r = res.kw["request_id"]
    # bk-sops' handler on RUNNING: w12 (timeout 600) back into the pool
    check_outbox(res, zadd("w12", v12, 600, r), execute(pid, "n79", "root79", "root79", r))
    details = check_record(res, "retry", "n79", project_id=8, task_id=79)
    assert details["revived_parent_nodes"] == [
        {"task_id": 79, "node_id": "w78", "version": v78},
        {"task_id": 78, "node_id": "w12", "version": v12}]


def test_child_task_skip_revives_its_parent(env):
    v12, v78, pid = child_chain(env)
    env.db.exec("UPDATE taskflow3_taskflowinstance SET is_child_taskflow = 0 WHERE id = 78")
    res = apply(env, SKIP_TABLES | {"eri_schedule", EXE}, reset=False,
                **dict(CHILD, action="skip"))
    states, _exes = check_revived(res, {"w78": v78})
    assert set(states) == {"n79", "w78"}       # 78 is no child task: the walk ends
    new = states["n79"][1]
    r = res.kw["request_id"]
    check_outbox(res, execute(pid, "endn79", "root79", "root79", r), zrem("n79", new["version"], r))


def test_child_task_revives_by_its_newest_callback_record(env):
    """TaskCallBackRecord.Meta.ordering is -id: an older record naming a
    node that does not exist is not read (issue 24 item 7)."""
    v12, v78, pid = child_chain(env)
    env.db.exec("UPDATE taskflow3_taskcallbackrecord SET id = id + 100 WHERE task_id = 79")
    env.db.exec("INSERT INTO taskflow3_taskcallbackrecord (id, task_id, url, create_time, "
                "status, extra_info) VALUES (50, 79, '', UTC_TIMESTAMP(6), 'ready', "
                "'{\"node_id\": \"gone\", \"node_version\": \"v1\"}')")
    res = apply(env, RETRY_TABLES | {"eri_schedule", EXE}, reset=False,
                **dict(CHILD, action="retry"))
    check_revived(res, {"w78": v78, "w12": v12})


def test_child_task_walk_ends_where_bk_sops_returns_false(env):
    """No callback record, a parent node not FAILED, or FAILED at another
    version: nothing is revived from there up, and the action applies."""
    for setup, revived in (
            ("DELETE FROM taskflow3_taskcallbackrecord WHERE task_id = 79", {}),
            ("UPDATE eri_state SET name = 'RUNNING', archived_time = NULL "
             "WHERE node_id = 'w78'", {}),
            ("UPDATE eri_state SET version = 'v0' WHERE node_id = 'w78'", {}),
            ("DELETE FROM taskflow3_taskcallbackrecord WHERE task_id = 78", {"w78"})):
        v12, v78, pid = child_chain(env)
        env.db.exec(setup)
        tables = RETRY_TABLES | ({"eri_schedule", EXE} if revived else set())
        res = apply(env, tables, reset=False, **dict(CHILD, action="retry"))
        assert set(changed_rows(res.before, res.after, STATE)) == {"n79"} | set(revived), setup
        if revived:
            check_revived(res, {"w78": v78})


def test_child_task_forced_fail_revives_nothing(env):
    """bk-sops revives before retry and skip only."""
    child_chain(env)
    env.db.exec("UPDATE eri_state SET name = 'RUNNING', archived_time = NULL "
                "WHERE node_id = 'n79'")
    before = env.db.snapshot()
    assert act(env, **dict(CHILD, action="forced_fail")) is None
    after = env.db.snapshot()
    assert not changed_rows(before, after, "eri_schedule")
    assert set(changed_rows(before, after, STATE)) == {"n79"}


def test_child_task_refusals(env):
    """Where bk-sops' revival raises (its action then fails with 3599999),
    the action is refused with 3545000 and writes nothing."""
    rev = "can not revive node(%s), the parent node of child task(%d): "
    for setup, msg in (
            ("UPDATE taskflow3_taskcallbackrecord SET extra_info = '{}' WHERE task_id = 79",
             "the callback record of child task(79) does not name the parent's node "
             "(extra_info node_id, node_version)"),
            ("UPDATE taskflow3_taskcallbackrecord SET extra_info = 'not json' WHERE task_id = 78",
             "the callback record of child task(78) does not name the parent's node "
             "(extra_info node_id, node_version)"),
            ("UPDATE taskflow3_taskcallbackrecord SET extra_info = "
             "'{\"node_id\": \"gone\", \"node_version\": \"v1\"}' WHERE task_id = 79",
             rev % ("gone", 79) + "it has no state"),
            ("UPDATE taskflow3_taskcallbackrecord SET extra_info = "
             "'{\"node_id\": \"%s\", \"node_version\": \"v1\"}' WHERE task_id = 79" % ("x" * 300),
             rev % ("x" * 64 + "...", 79) + "it has no state"),
            ("DELETE FROM eri_schedule WHERE node_id = 'w12'",
             rev % ("w12", 78) + "it has no schedule at version %s" % rows.node_version("w12")),
            ("UPDATE eri_executiondata SET outputs_serializer = 'pickle' WHERE node_id = 'w78'",
             rev % ("w78", 79) + "its execution data is pickle, which SQL can not edit"),
            ("DELETE FROM taskflow3_taskflowrelation WHERE task_id = 78",
             "child task(78) has no parent task (taskflow3_taskflowrelation)"),
            ("UPDATE taskflow3_taskflowrelation SET parent_task_id = 99 WHERE task_id = 79",
             "parent task(99) of child task(79) does not exist")):
        for action in ("retry", "skip"):
            child_chain(env)
            env.db.exec(setup)
            before = env.db.snapshot()
            got = act(env, **dict(CHILD, action=action))
            assert got == (3545000, msg), (setup, got)
            assert harness.diff_snapshots(before, env.db.snapshot()) == [], setup


def test_child_task_revival_without_execution_data_creates_it(env):
    """bamboo's set_execution_data_outputs creates the row where there is
    none: inputs {} and outputs {}, json."""
    v12, v78, pid = child_chain(env)
    env.db.exec("DELETE FROM eri_executiondata WHERE node_id = 'w78'")
    env.db.exec("DELETE FROM taskflow3_taskcallbackrecord WHERE task_id = 78")
    res = apply(env, RETRY_TABLES | {"eri_schedule", EXE}, reset=False,
                **dict(CHILD, action="retry"))
    exes = changed_rows(res.before, res.after, EXE)
    assert set(exes) == {"w78"} and exes["w78"][0] is None
    new = exes["w78"][1]
    assert (new["inputs_serializer"], new["outputs_serializer"], new["inputs"],
            new["outputs"]) == ("json", "json", "{}", "{}")


# Replays (README "Replays"), per app ------------------------------------------

USED = "request_id(%s) was already used for another operation"


def replay_count(env):
    return env.db.scalar("SELECT COUNT(*) FROM `opn$replay`")


def test_replay_same_request_applies_nothing(env):
    """The same request_id with the same action, task and node answers
    success again, and nothing at all changes (also where the action itself
    would now be refused: the node moved on)."""
    for kw in (dict(node_id="act_failed", action="retry", inputs={"a": 1}),
               dict(node_id="act_failed", action="skip"),
               dict(node_id="exg_failed", action="skip_exg", flow_id="f_exg_a"),
               dict(node_id="cb_multi", action="callback", data={"n": 1}),
               dict(node_id="sub_running", action="pause_subproc"),
               dict(node_id="act_running", action="forced_fail")):
        env.db.reset_demo()
        assert act(env, **dict(TASK, request_id="replay-1", **kw)) is None
        snap = env.db.snapshot()
        assert replay_count(env) == 1
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
               dict(TASK, node_id="act_failed ", action="retry"),
               # the request id is checked right after the task row is
               # locked, before the task's own checks (PORT.md): also for a
               # task that is not there
               dict(project_id=1, task_id=999999, node_id="act_failed", action="retry")):
        assert act(env, request_id="replay-3", **kw) == \
            (3540000, USED % "replay-3"), kw
        assert harness.diff_snapshots(snap, env.db.snapshot()) == [], kw


def test_replay_is_per_app(env):
    """Replays are keyed by (app, request_id): two apps may use one request
    id on different nodes and both apply; each (app, id) again answers
    success and applies nothing."""
    env.db.reset_demo()
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                           app="demo_app", request_id="shared-id")) is None
    assert act(env, **dict(TASK, node_id="act_two_out", action="retry",
                           app="trusted_app", request_id="shared-id")) is None
    after = env.db.snapshot()
    rows = added_rows(before, after, REPLAY)
    assert [(r["app_code"], r["request_id"], r["action"], r["task_id"], r["node_id"])
            for r in rows] == [("demo_app", "shared-id", "retry", 12, "act_failed"),
                               ("trusted_app", "shared-id", "retry", 12, "act_two_out")]
    assert set(changed_rows(before, after, STATE)) == {"act_failed", "act_two_out"}
    assert [n["name"] for _o, n in changed_rows(before, after, STATE).values()] == \
        ["READY", "READY"]
    assert len(added_rows(before, after, RECORD)) == 2
    assert len(added_rows(before, after, OUTBOX)) == 2
    for app, node in (("demo_app", "act_failed"), ("trusted_app", "act_two_out")):
        assert act(env, **dict(TASK, node_id=node, action="retry", app=app,
                               request_id="shared-id")) is None
        assert harness.diff_snapshots(after, env.db.snapshot()) == [], app
    # each app's id names its own operation
    assert act(env, **dict(TASK, node_id="act_two_out", action="retry", app="demo_app",
                           request_id="shared-id")) == (3540000, USED % "shared-id")
    assert harness.diff_snapshots(after, env.db.snapshot()) == []


def test_replay_after_the_task_was_deleted_or_finished(env):
    """A repeat of an applied request is answered with its first outcome
    after the task was deleted (is_deleted = 1) or finished; a new request
    on that task is refused."""
    for change, refusal in (
            ("UPDATE taskflow3_taskflowinstance SET is_deleted = 1 WHERE id = 12",
             (3540400, "task[id=12] of project[id=1] does not exist")),
            ("UPDATE eri_state SET name = 'FINISHED' WHERE node_id = 'pipe12'",
             (3545000, "task(12) is finished"))):
        env.db.reset_demo()
        kw = dict(TASK, node_id="act_failed", action="retry", request_id="before-delete")
        assert act(env, **kw) is None
        env.db.exec(change)
        snap = env.db.snapshot()
        assert act(env, **kw) is None, change
        assert harness.diff_snapshots(snap, env.db.snapshot()) == [], change
        assert act(env, **dict(kw, node_id="act_two_out", request_id=rid())) == refusal
        assert harness.diff_snapshots(snap, env.db.snapshot()) == [], change


def test_refused_call_does_not_consume_its_request_id(env):
    env.db.reset_demo()
    snap = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="act_running", action="retry",
                           request_id="replay-4")) == \
        (3545000, "node(act_running) state is not FAILED, actual RUNNING")
    assert act(env, **dict(TASK, node_id="no_such_node", action="retry",
                           request_id="replay-4"))[0] == 3540400
    assert harness.diff_snapshots(snap, env.db.snapshot()) == []
    res = apply(env, RETRY_TABLES, reset=False,
                **dict(TASK, node_id="act_failed", action="retry", request_id="replay-4"))
    check_record(res, "retry", "act_failed")
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
    assert replay_count(env) == 0
    assert env.db.scalar("SELECT COUNT(*) FROM eri_callbackdata "
                         "WHERE node_id = 'cb_multi'") == 1 + 2


def _purge(env, days, limit):
    with env.db.conn().cursor() as c:
        c.execute("CALL %s(%%s, %%s)" % harness.routine("opn_purge_replay"),
                  (days, limit))
        n = c.fetchone()[0]
        while c.nextset():
            pass
    return n


def test_purge_replay(env):
    """opn_purge_replay(days, limit) removes replay records older than
    `days` (UTC), oldest first, at most `limit` per call; newer ones stay."""
    env.db.reset_demo()
    assert act(env, **dict(TASK, node_id="act_failed", action="retry",
                           request_id="fresh")) is None
    with env.db.conn().cursor() as c:
        c.executemany(
            "INSERT INTO `opn$replay` (app_code, request_id, action, task_id, node_id, "
            "created_time) VALUES (%s, %s, 'retry', 12, 'act_failed', "
            "UTC_TIMESTAMP(6) - INTERVAL %s DAY)",
            [("demo_app", "old-%d" % d, d) for d in (10, 11, 12, 13)] +
            [("trusted_app", "old-14", 14)] +
            [("demo_app", "recent-%d" % d, d) for d in (3, 4)])
    ids = lambda: sorted(r["request_id"] for r in
                         env.db.query("SELECT request_id FROM `opn$replay`"))
    assert _purge(env, 7, 3) == 3
    assert ids() == ["fresh", "old-10", "old-11", "recent-3", "recent-4"]
    assert _purge(env, 7, 3) == 2
    assert _purge(env, 7, 3) == 0
    assert ids() == ["fresh", "recent-3", "recent-4"]
    assert _purge(env, 2, 1000) == 2
    assert ids() == ["fresh"]
    # a purged id is free again: not a replay any more
    res = apply(env, RETRY_TABLES, reset=False,
                **dict(TASK, node_id="act_two_out", action="retry", request_id="old-10"))
    check_record(res, "retry", "act_two_out")


# Refusals: one row per refusal ----------------------------------------------
# (name, call arguments, code, message). Every row: nothing at all changes.

def _common():
    """The checks every action makes first (the procedure's prologue)."""
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
        ("legacy engine task", dict(project_id=1, task_id=18, node_id=n),
         3545000, "task(18) runs on the legacy engine (engine_ver 1), which this "
                  "service does not operate"),
        ("expired task", dict(project_id=1, task_id=19, node_id=n),
         3545000, "task(19) has expired"),
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
        # bk-sops' columns compare case-insensitively and ignore trailing
        # spaces: ids must still match exactly
        ("node id in the wrong case", dict(TASK, node_id="ACT_FAILED"),
         3540400, "node(ACT_FAILED) does not exist in task(12)"),
        ("node id with a trailing space", dict(TASK, node_id="act_failed "),
         3540400, "node(act_failed ) does not exist in task(12)"),
        ("root pipeline as node", dict(TASK, node_id="pipe12"),
         3540400, "node(pipe12) does not exist in task(12)"),
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
        # skip (bamboo writes can_skip false for gateways but the exclusive
        # one, subprocesses and end events)
        ("skip disabled", dict(t, action="skip", node_id="act_no_retry_skip"),
         3545000, "can not skip node(act_no_retry_skip): skip is disabled"),
        ("skip parallel gateway", dict(t, action="skip", node_id="pg_failed"),
         3545000, "can not skip node(pg_failed): skip is disabled"),
        ("skip exclusive gateway", dict(t, action="skip", node_id="exg_failed"),
         3545000, "can not skip node(exg_failed) of type ExclusiveGateway"),
        ("skip conditional gateway", dict(t, action="skip", node_id="cpg_failed"),
         3545000, "can not skip node(cpg_failed): skip is disabled"),
        ("skip end event", dict(t, action="skip", node_id="end12"),
         3545000, "can not skip node(end12): skip is disabled"),
        ("skip subprocess", dict(t, action="skip", node_id="sub_running"),
         3545000, "can not skip node(sub_running): skip is disabled"),
        ("skip failed subprocess", dict(t, action="skip", node_id="sub_failed"),
         3545000, "can not skip node(sub_failed): skip is disabled"),
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
        ("skip_exg flow id that is a JSON path",
         dict(t, action="skip_exg", node_id="exg_failed", flow_id='f_exg_a"."x'),
         3545000, 'flow(f_exg_a"."x) is not an outgoing flow of gateway(exg_failed)'),
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
        ("forced_fail pickled execution data",
         dict(t, action="forced_fail", node_id="ff_pickled"),
         3545000, "can not fail node(ff_pickled): its execution data is pickle, "
                  "which SQL can not edit"),
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


_PRISTINE = {}


def fresh_demo(env):
    """The demo data as loaded, and its snapshot: reloaded only when the
    tables differ from the last load (a reload truncates two dozen tables,
    about a second). For refusals only: ids of new rows are not checked."""
    snap = env.db.snapshot()
    if snap == _PRISTINE.get("snap"):
        return snap
    env.db.reset_demo()
    _PRISTINE["snap"] = env.db.snapshot()
    return _PRISTINE["snap"]


def _refusal(kw, code, msg):
    def run(env):
        before = fresh_demo(env)
        got = act(env, **kw)
        assert got == (code, msg), "got %r, want %r" % (got, (code, msg))
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
    return run


CASES = [("refuse " + name, _refusal(kw, code, msg))
         for name, kw, code, msg in REFUSALS]


# Messages name every object in full (issue 12 item 4) -------------------------

def refused(env, kw):
    before = fresh_demo(env)
    got = act(env, **kw)
    assert harness.diff_snapshots(before, env.db.snapshot()) == []
    return got


def test_message_names_a_wrong_converge_gateway_in_full(env):
    gw = "nccf129d23f01d9082f0efa4d2ee1ba2e"
    wrong = bamboo_id("n", "not the converge gateway")
    assert len(gw) == len(wrong) == 33
    msg = "converge_gateway_id(%s) is not the converge gateway of gateway(%s)" % (wrong, gw)
    # 128 characters; with the code in front, as SIGNAL's MESSAGE_TEXT used
    # to carry it, 136: over the 128 it could hold
    assert len("3545000 " + msg) == 136
    assert refused(env, dict(TASK, node_id=gw, action="skip_cpg",
                             flow_ids=["l08eb15e8717c88e7330c5b8749f6cf1f"],
                             converge_gateway_id=wrong)) == (3545000, msg)


def test_message_names_a_64_byte_flow_id_in_full(env):
    gw = "ndc0cf34ffd2649fe6864f6310651cb79"
    flow = "l" + hashlib.sha256(b"unknown flow").hexdigest()[:63]
    assert len(flow.encode()) == 64
    msg = "flow(%s) is not an outgoing flow of gateway(%s)" % (flow, gw)
    assert refused(env, dict(TASK, node_id=gw, action="skip_exg", flow_id=flow)) == \
        (3545000, msg)
    assert len(msg) > 128


def test_message_keeps_4_byte_utf8(env):
    """A 4-byte UTF-8 character comes back intact, not as '?'. (The
    case-insensitive collation weighs every such character alike: the exact
    match must still tell them apart.)"""
    for node in ("\U0001F600x", "x\U0001F600" * 16, "\U0001F601x"):
        assert refused(env, dict(TASK, node_id=node, action="retry")) == \
            (3540400, "node(%s) does not exist in task(12)" % node)
    # a node whose id holds one: found exactly, its look-alike is not
    env.db.reset_demo()
    add_node(env, "\U0001F600x", 12, "ServiceActivity", state="RUNNING")
    before = env.db.snapshot()
    assert act(env, **dict(TASK, node_id="\U0001F601x", action="pause")) == \
        (3540400, "node(\U0001F601x) does not exist in task(12)")
    assert harness.diff_snapshots(before, env.db.snapshot()) == []
    assert act(env, **dict(TASK, node_id="\U0001F600x", action="forced_fail")) == \
        (3545000, "can not find process with current node id: \U0001F600x")
    assert act(env, **dict(TASK, node_id="\U0001F600x", action="pause")) is None
    assert env.db.scalar("SELECT name FROM eri_state WHERE BINARY node_id = %s",
                         "\U0001F600x") == "SUSPENDED"


def test_works_with_autocommit_off(env):
    """opn_operate_node commits its own transaction: with the session's
    autocommit off, a success is visible to other sessions at once and a
    refusal leaves nothing behind."""
    env.db.reset_demo()
    before = env.db.snapshot()
    c = connect(env)
    try:
        with c.cursor() as cur:
            cur.execute("SET autocommit = 0")
        assert act(env, c, **dict(TASK, node_id="act_running", action="retry"))[0] == 3545000
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
        assert act(env, c, **dict(TASK, node_id="act_failed", action="retry")) is None
        assert env.db.scalar("SELECT name FROM eri_state "
                             "WHERE node_id = 'act_failed'") == "READY"
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 1
    finally:
        c.close()


def test_sql_error_rolls_back(env):
    """Any other SQL error inside also rolls back everything and reaches the
    client unchanged: here the outbox insert, which comes after the history
    and state writes, fails (routing_key made too short)."""
    env.db.reset_demo()
    _shorten_routing_key(env, 3)
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
        _shorten_routing_key(env, 255)


def test_actions_sql_reloads_and_drops_what_it_creates(env):
    """sql/load.sh replaces a version's routines in place when actions.sql
    changed without a new version (a repair, or development): it must drop
    every routine it creates, and still work afterwards. Loaded here as
    load.sh loads it: every opn_<name> as opn_<name>_v<version>."""
    import os
    with open(os.path.join(harness.ROOT, "sql", "actions.sql"), "rb") as f:
        text = f.read()
    made = set(re.findall(rb"^CREATE (PROCEDURE|FUNCTION) (\w+)", text, re.M))
    dropped = set(re.findall(rb"^DROP (PROCEDURE|FUNCTION) IF EXISTS (\w+);", text, re.M))
    # and what version 2 created (load.sh drops it with version 2)
    retired = {(b"PROCEDURE", b"opn_archive")}
    assert made | retired == dropped, ((made | retired) ^ dropped)
    coll = env.db.scalar("SELECT collation_name FROM information_schema.columns "
                         "WHERE table_schema = DATABASE() AND table_name = 'eri_node' "
                         "AND column_name = 'node_id'")
    suffix = ("_v%d" % harness.SCHEMA_VERSION).encode()
    names = sorted({n for _, n in made | dropped}, key=len, reverse=True)
    text = re.sub(rb"\b(" + b"|".join(names) + rb")\b", lambda m: m.group(1) + suffix, text)
    made = {(t, n + suffix) for t, n in made}
    env.db.client(stdin=text.replace(b"@ID_COLLATE@", coll.encode()))
    have = {(r["ROUTINE_TYPE"].encode(), r["ROUTINE_NAME"].encode()) for r in env.db.query(
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = DATABASE()")}
    assert made <= have, made - have
    retry_ok(env, "act_failed", 1, "pipe12")


# The fixture is written as bamboo writes it ----------------------------------

def test_demo_fixture_is_written_as_bamboo_writes_it(env):
    """Every eri_node.detail of sql/demo.sql is exactly Python's json.dumps
    of itself, and every version is 'v' + 32 hex digits."""
    env.db.reset_demo()
    nodes = env.db.query("SELECT node_id, detail FROM eri_node ORDER BY id")
    assert len(nodes) > 50
    bad = [n["node_id"] for n in nodes
           if json.dumps(json.loads(n["detail"])) != n["detail"]
           or json.loads(n["detail"])["id"] != n["node_id"]]
    assert bad == [], bad
    for table in ("eri_state", "eri_schedule", "eri_callbackdata", "eri_executionhistory"):
        versions = [r["version"] for r in env.db.query("SELECT version FROM %s" % table)]
        assert versions, table
        bad = [v for v in versions if not VERSION_RE.match(v)]
        assert bad == [], (table, bad)


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


def lock_waits(env):
    return env.db.query("SELECT trx_isolation_level FROM information_schema.INNODB_TRX "
                        "WHERE trx_state = 'LOCK WAIT'")


def at_task_lock(env, conns):
    """How many of these connections are inside the procedure's locking
    read of the task row (blocked there while the blocker holds it)."""
    ids = {c.thread_id() for c in conns}
    return sum(1 for p in env.db.query("SHOW FULL PROCESSLIST")
               if p["Id"] in ids and "FROM taskflow3_taskflowinstance" in (p["Info"] or ""))


def queued(env, calls, isolation, task=12):
    """Runs the calls in the given order, all pending at once: a blocker
    holds the task's row lock, each call starts and waits on it in turn,
    then the blocker lets them go (InnoDB grants the lock in arrival
    order). Also proves the procedure runs its transaction at READ
    COMMITTED whatever the caller's session says. Returns the outcomes."""
    blocker = connect(env)
    conns = [connect(env, isolation) for _ in calls]
    out = [None] * len(calls)
    errors = []

    def worker(i):
        try:
            out[i] = act(env, conns[i], **calls[i])
        except Exception as e:      # reported below
            errors.append(repr(e))
    threads = []
    try:
        with blocker.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT id FROM taskflow3_taskflowinstance WHERE id = %s FOR UPDATE",
                        (task,))
        for i in range(len(calls)):
            t = threading.Thread(target=worker, args=(i,))
            t.start()
            threads.append(t)
            harness.wait_for(lambda: at_task_lock(env, conns) == i + 1, 10,
                             "call %d to wait for the task lock" % i)
        waits = [w["trx_isolation_level"] for w in lock_waits(env)]
        assert waits and set(waits) == {"READ COMMITTED"}, waits
        blocker.commit()
        for t in threads:
            t.join(60)
        for c in conns:       # the caller's session keeps its own level
            with c.cursor() as cur:
                cur.execute("SELECT @@tx_isolation")
                assert cur.fetchone()[0] == isolation.replace(" ", "-"), isolation
    finally:
        blocker.close()
        for c in conns:
            c.close()
    assert not errors, errors
    return out


ISOLATIONS = ("REPEATABLE READ", "READ COMMITTED")


def _race_retry(isolation):
    def run(env):
        env.db.reset_demo()
        calls = [dict(TASK, node_id="act_failed", action="retry",
                      request_id="race-%d" % i) for i in range(20)]
        out = race(env, calls, isolation)
        assert out.count(None) == 1, out
        refused = [o for o in out if o is not None]
        assert refused == [(3545000, "node(act_failed) state is not FAILED, actual READY")] * 19
        assert env.db.scalar("SELECT COUNT(*) FROM eri_executionhistory "
                             "WHERE node_id = 'act_failed'") == 2 + 1   # demo's 2
        assert env.db.scalar("SELECT COUNT(*) FROM `opn$outbox`") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 1
        st = env.db.one("SELECT retry, name FROM eri_state WHERE node_id = 'act_failed'")
        assert (st["retry"], st["name"]) == (3, "READY")
        winner = "race-%d" % out.index(None)
        assert env.db.scalar("SELECT request_id FROM `opn$replay`") == winner
        assert env.db.scalar("SELECT request_id FROM `opn$outbox`") == winner
    return run


def _race_callbacks(isolation):
    """20 callbacks at once on cb_wait: each is accepted and stored once
    (a second callback is accepted, issue 12 item 2), each with its own
    schedule message."""
    def run(env):
        env.db.reset_demo()
        calls = [dict(TASK, node_id="cb_wait", action="callback", data={"i": i},
                      request_id="race-%d" % i) for i in range(20)]
        assert race(env, calls, isolation) == [None] * 20
        rows = env.db.query("SELECT id, version, data FROM eri_callbackdata "
                            "WHERE node_id = 'cb_wait'")
        assert sorted(json.loads(r["data"])["i"] for r in rows) == list(range(20))
        assert {r["version"] for r in rows} == {ver("v2-cb_wait")}
        by_req = {r["request_id"]: outbox_event(r)
                  for r in env.db.query("SELECT * FROM `opn$outbox`")}
        assert len(by_req) == 20
        cb_of = {r["id"]: json.loads(r["data"])["i"] for r in rows}
        for req, ev in by_req.items():
            assert ev[:2] == ("celery", SCHEDULE) and ev[5]["schedule_id"] == 1
            assert "race-%d" % cb_of[ev[5]["callback_data_id"]] == req
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 20
        assert env.db.scalar("SELECT name FROM eri_state WHERE node_id = 'cb_wait'") == "RUNNING"
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
        assert env.db.scalar("SELECT COUNT(*) FROM `opn$outbox`") == \
            {"retry": 1, "skip": 2}[won]
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM eri_executionhistory "
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
        assert env.db.scalar("SELECT COUNT(*) FROM eri_executionhistory "
                             "WHERE node_id = 'act_failed'") == 2 + 1   # demo's 2
        assert env.db.scalar("SELECT COUNT(*) FROM `opn$outbox`") == 1
        assert env.db.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord") == 1
        assert replay_count(env) == 1
        st = env.db.one("SELECT retry, name FROM eri_state WHERE node_id = 'act_failed'")
        assert (st["retry"], st["name"]) == (3, "READY")
    return run


def check_forced_fail_won(env, out, calls):
    """After forced_fail and a callback on cb_wait (in whatever order): the
    forced_fail succeeded, the node is FAILED with forced_fail's version; a
    callback that came first was accepted and its message names schedule 1
    of the old version (which the engine drops), one that came second was
    refused. Returns which came first."""
    ff = [i for i, c in enumerate(calls) if c["action"] == "forced_fail"][0]
    cb = 1 - ff
    assert out[ff] is None, out
    st = env.db.one("SELECT name, version FROM eri_state WHERE node_id = 'cb_wait'")
    records = env.db.query("SELECT operate_type, extra_info FROM "
                           "operate_record_taskoperaterecord ORDER BY id")
    assert [r["operate_type"] for r in records].count("forced_fail") == 1
    assert {r["extra_info"] for r in records} == {""}
    assert st["name"] == "FAILED"
    is_new_version(st["version"], ver("v2-cb_wait"))
    assert env.db.scalar("SELECT asleep FROM eri_process WHERE id = 16") == 1
    ex = env.db.one("SELECT * FROM eri_executiondata WHERE node_id = 'cb_wait'")
    assert json.loads(ex["outputs"]) == FF_OUT
    cbs = env.db.query("SELECT id, version, data FROM eri_callbackdata "
                       "WHERE node_id = 'cb_wait'")
    outbox = [outbox_event(r) for r in env.db.query("SELECT * FROM `opn$outbox` ORDER BY id")]
    ff_events = [zrem("cb_wait", st["version"], calls[ff]["request_id"])] + \
        failed_notices("waits for one callback", calls[ff]["request_id"])
    if out[cb] is None:         # the callback came first
        assert [(c["id"], c["version"], json.loads(c["data"])) for c in cbs] == \
            [(3, ver("v2-cb_wait"), calls[cb]["data"])]
        assert outbox == [schedule(16, "cb_wait", 1, 3, calls[cb]["request_id"])] + ff_events
        assert env.db.scalar("SELECT version FROM eri_schedule WHERE id = 1") == \
            ver("v2-cb_wait") != st["version"]
        assert [r["operate_type"] for r in records] == ["callback", "forced_fail"]
        assert replay_count(env) == 2
        return "callback"
    assert out[cb] == (3545000, "node(cb_wait) state is not RUNNING, actual FAILED")
    assert cbs == [] and outbox == ff_events
    assert [r["operate_type"] for r in records] == ["forced_fail"]
    assert replay_count(env) == 1
    return "forced_fail"


def _forced_fail_wins_queued(isolation):
    """Issue 12 item 1, both orders made certain: the two calls pending at
    once on the task's lock, the callback first, then forced_fail first."""
    def run(env):
        for first in ("callback", "forced_fail"):
            env.db.reset_demo()
            calls = [dict(TASK, node_id="cb_wait", action="callback", data={"first": first},
                          request_id=rid()),
                     dict(TASK, node_id="cb_wait", action="forced_fail", request_id=rid())]
            if first == "forced_fail":
                calls.reverse()
            out = queued(env, calls, isolation)
            assert check_forced_fail_won(env, out, calls) == first
    return run


RACE_ROUNDS = 6


def _forced_fail_wins_race(isolation):
    """forced_fail and a callback started at once: forced_fail always
    succeeds, whoever got there first."""
    def run(env):
        seen = {"callback": 0, "forced_fail": 0}
        for rnd in range(RACE_ROUNDS):
            env.db.reset_demo()
            calls = [dict(TASK, node_id="cb_wait", action="forced_fail", request_id=rid()),
                     dict(TASK, node_id="cb_wait", action="callback", data={"r": rnd},
                          request_id=rid())]
            if rnd % 2:
                calls.reverse()     # neither always starts first
            seen[check_forced_fail_won(env, race(env, calls, isolation), calls)] += 1
        print("     first of forced_fail/callback (%s): %r" % (isolation, seen))
    return run


for _iso in ISOLATIONS:
    CASES.append(("race 20 retries, one wins (%s)" % _iso, _race_retry(_iso)))
    CASES.append(("race 20 type-1 callbacks, all stored (%s)" % _iso, _race_callbacks(_iso)))
    CASES.append(("race retries and skips, one wins (%s)" % _iso,
                  _race_retry_and_skip(_iso)))
    CASES.append(("race 20 retries of one request_id, applied once (%s)" % _iso,
                  _race_same_request_id(_iso)))
    CASES.append(("forced_fail wins over a pending callback, both orders (%s)" % _iso,
                  _forced_fail_wins_queued(_iso)))
    CASES.append(("race forced_fail against callback, %d rounds (%s)" % (RACE_ROUNDS, _iso),
                  _forced_fail_wins_race(_iso)))


def test_actions_on_different_tasks_do_not_block(env):
    """Actions on different tasks run side by side (under REPEATABLE READ
    too): all succeed."""
    calls = [dict(project_id=1, task_id=12, node_id="act_failed", action="retry"),
             dict(project_id=1, task_id=17, node_id="t17_act", action="retry"),
             dict(project_id=2, task_id=20, node_id="t20_act", action="skip"),
             dict(project_id=4, task_id=40, node_id="t40_act", action="retry"),
             dict(project_id=1, task_id=12, node_id="cb_wait", action="callback")]
    for iso in ISOLATIONS:
        env.db.reset_demo()
        assert race(env, calls, iso) == [None] * len(calls)


# Isolation (issue 12 item 10) -------------------------------------------------
# Under REPEATABLE READ a locking read of a missing row takes a gap lock;
# two transactions holding the same gap then deadlock (1213) when each
# inserts into it. The procedure runs its own transaction at READ COMMITTED
# (checked in queued()), so actions on different tasks whose missing rows
# share a gap both succeed, whatever the caller's session level.

LIVE_TASKS = ((1, 12), (1, 17), (2, 20), (4, 40))
ISO_ROUNDS = 12


def _gap_ids(rnd, n=len(LIVE_TASKS), length=33):
    """Bamboo-style ids of round rnd, all in one index gap: they sort
    together ('ncd' + round + index), after every earlier round's and
    between the demo's nccf129d23f01d9082f0efa4d2ee1ba2e and
    ndc0cf34ffd2649fe6864f6310651cb79 (rows in eri_state, eri_process and
    eri_executiondata)."""
    return [("ncd%02x%d" % (rnd, i) + hashlib.md5(b"%d-%d" % (rnd, i)).hexdigest())[:length]
            for i in range(n)]


def _in_one_gap(env, table, col, ids):
    rows = env.db.query("SELECT %s AS k FROM %s WHERE %s > %%s AND %s < %%s"
                        % (col, table, col, col), min(ids), max(ids))
    assert [r["k"] for r in rows if r["k"] not in ids] == [], table
    assert all("nccf129d23f01d9082f0efa4d2ee1ba2e" < i < "ndc0cf34ffd2649fe6864f6310651cb79"
               for i in ids)


def _isolation_rounds(env, isolation, make):
    """ISO_ROUNDS rounds of calls at once on fresh nodes of each round (one
    reload for all: rounds enough to meet the interleaving that deadlocks);
    make(env, rnd) adds the round's nodes and returns (calls, check)."""
    env.db.reset_demo()
    for rnd in range(ISO_ROUNDS):
        calls, check = make(env, rnd)
        out = race(env, calls, isolation)
        assert out == [None] * len(calls), (rnd, out)   # no 1213, no refusal
        check(env)


def _pause_appointments(isolation):
    def make(env, rnd):
        ids = _gap_ids(rnd)
        for (_p, task), n in zip(LIVE_TASKS, ids):
            add_node(env, n, task, "ServiceActivity")
        _in_one_gap(env, "eri_state", "node_id", ids)

        def check(env):
            rows = env.db.query("SELECT node_id, name, root_id FROM eri_state "
                                "WHERE node_id IN (%s) ORDER BY node_id"
                                % ", ".join(["%s"] * len(ids)), *ids)
            assert [(r["node_id"], r["name"], r["root_id"]) for r in rows] == \
                [(n, "SUSPENDED", "") for n in ids]
        return [dict(project_id=p, task_id=t, node_id=n, action="pause")
                for (p, t), n in zip(LIVE_TASKS, ids)], check
    return lambda env: _isolation_rounds(env, isolation, make)


def _forced_fail_new_execution_data(isolation):
    """forced_fail on running activities without execution data in four
    tasks: each inserts its eri_executiondata row into the same gap."""
    def make(env, rnd):
        ids = _gap_ids(rnd)
        for (_p, task), n in zip(LIVE_TASKS, ids):
            add_node(env, n, task, "ServiceActivity", state="RUNNING", process=dict(asleep=0))
        _in_one_gap(env, "eri_executiondata", "node_id", ids)

        def check(env):
            rows = env.db.query("SELECT e.node_id, e.outputs, s.name FROM eri_executiondata e "
                                "JOIN eri_state s ON s.node_id = e.node_id "
                                "WHERE e.node_id IN (%s) ORDER BY e.node_id"
                                % ", ".join(["%s"] * len(ids)), *ids)
            assert [(r["node_id"], json.loads(r["outputs"]), r["name"]) for r in rows] == \
                [(n, FF_OUT, "FAILED") for n in ids]
        return [dict(project_id=p, task_id=t, node_id=n, action="forced_fail")
                for (p, t), n in zip(LIVE_TASKS, ids)], check
    return lambda env: _isolation_rounds(env, isolation, make)


def _skip_cpg_children(isolation):
    """skip_cpg on gateways of four tasks: each reads its parked process by
    current_node_id (locking, under REPEATABLE READ, the gap after it) and
    inserts children whose current_node_id falls in the gap after the next
    task's gateway."""
    def make(env, rnd):
        ids = _gap_ids(rnd, length=31)
        targets = [[ids[(i + 1) % len(ids)] + s for s in ("a", "b")] for i in range(len(ids))]
        flows = [[bamboo_id("l", "%s-%d" % (n, j)) for j in range(2)] for n in ids]
        first = env.db.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM eri_process")
        for i, ((_p, task), n) in enumerate(zip(LIVE_TASKS, ids)):
            tg = dict(zip(flows[i], targets[i]))
            add_node(env, n, task, "ConditionalParallelGateway", targets=tg,
                     state="FAILED", process={},
                     conditions=[{"name": f, "evaluation": "True", "target_id": t,
                                  "flow_id": f} for f, t in tg.items()],
                     default_condition=None, converge_gateway_id=bamboo_id("n", n))
        _in_one_gap(env, "eri_process", "current_node_id", ids)

        def check(env):
            kids = env.db.query("SELECT parent_id, current_node_id FROM eri_process "
                                "WHERE id >= %s ORDER BY id", first + len(ids))
            assert sorted(k["current_node_id"] for k in kids) == \
                sorted(t for ts in targets for t in ts)
            assert {k["parent_id"] for k in kids} == set(range(first, first + len(ids)))
            assert env.db.scalar("SELECT COUNT(*) FROM eri_state WHERE node_id IN (%s) "
                                 "AND name = 'FINISHED' AND skip = 1"
                                 % ", ".join(["%s"] * len(ids)), *ids) == len(ids)
        return [dict(project_id=p, task_id=t, node_id=n, action="skip_cpg", flow_ids=flows[i],
                     converge_gateway_id=bamboo_id("n", n))
                for i, ((p, t), n) in enumerate(zip(LIVE_TASKS, ids))], check
    return lambda env: _isolation_rounds(env, isolation, make)


for _iso in ISOLATIONS:
    CASES.append(("isolation: pause appointments in one gap, %d tasks (%s)"
                  % (len(LIVE_TASKS), _iso), _pause_appointments(_iso)))
    CASES.append(("isolation: forced_fail inserting execution data in one gap (%s)" % _iso,
                  _forced_fail_new_execution_data(_iso)))
    CASES.append(("isolation: skip_cpg children across gaps (%s)" % _iso,
                  _skip_cpg_children(_iso)))


# No scans (issue 11 item 2) ----------------------------------------------------

# Handler_read_rnd_next counts rows read by table scans (also of internal
# temporary tables); Handler_read_next counts rows read in index order (range
# reads of the matching rows, or a whole index walked); Handler_read_first
# counts index scans started at the first entry. With N unrelated rows in
# every table an action reads, a scan of any of them costs at least N. Each
# CALL below stays far under that:
# - rnd_next <= 10 (measured 0 on MariaDB 10.11): no table is scanned; the
#   slack is for an engine that scans a tiny internal table;
# - read_next <= 20 (measured at most a handful: an equality lookup on a
#   non-unique index reads its matching rows plus one; resume_subproc reads
#   its two suspended processes by index three times): every lookup reads
#   only its own rows, 1/100 of the 2,000 and 1/500 of the 10,000 extra
#   rows, so neither a table nor an index is walked;
# - read_first == 0: no full index scan.
RND_NEXT_BOUND = 10
READ_NEXT_BOUND = 20

BULK_TABLES = ["pipeline_pipelineinstance", "taskflow3_taskflowinstance", "eri_node",
               "eri_state", "eri_process", "eri_schedule", "eri_data", "eri_executiondata",
               "eri_executionhistory", "eri_callbackdata", "eri_logentry",
               "operate_record_taskoperaterecord", "opn$outbox", "opn$replay",
               "taskflow3_taskcallbackrecord", "taskflow3_taskflowrelation"]


def bulk_load(env, n):
    """n unrelated running tasks of project 1 as bk-sops and bamboo write
    them (ids 'p'/'n'/'v' + 32 hex, detail as json.dumps): each with a root
    state, a failed activity parked with its data, execution data, a
    schedule, callback data, history and log lines, a suspended subprocess
    with a process it suspended, a gateway, an operate record, a replay and
    an outbox row; as a child task of the one before it, a callback record
    and a TaskFlowRelation row. At least n new rows in every table an action
    reads."""
    h = lambda *a: hashlib.md5("-".join(map(str, a)).encode()).hexdigest()
    base = 100000
    pi, ti, nodes, states, procs, scheds, data, exe, hist, cbs, logs = \
        [], [], [], [], [], [], [], [], [], [], []
    recs, outbox, replay = [], [], []
    for i in range(base, base + n):
        pipe, act_, sub, gw, nxt = (h(i, "pipe"), "n" + h(i, "act"), "n" + h(i, "sub"),
                                    "n" + h(i, "gw"), "n" + h(i, "next"))
        va = "v" + h(i, "va")
        pi.append((i, pipe, "bulk %d" % i, "admin", "admin", "", 1, 0, 0, 0, 0))
        ti.append((i, "Default", "1", "app", "", "common", "execute_task", 0, i, "project",
                   1, 2, 0))
        for node_id, d in (
                (act_, {"id": act_, "type": "ServiceActivity", "targets": {"l" + h(i, 1): gw},
                        "root_pipeline_id": pipe, "parent_pipeline_id": pipe,
                        "can_skip": True, "can_retry": True, "code": "bk_display",
                        "version": "legacy", "name": "bulk", "error_ignorable": False}),
                (sub, {"id": sub, "type": "SubProcess", "targets": {"l" + h(i, 2): gw},
                       "root_pipeline_id": pipe, "parent_pipeline_id": pipe,
                       "can_skip": False, "can_retry": True, "start_event_id": "e" + h(i)}),
                (gw, {"id": gw, "type": "ExclusiveGateway", "targets": {"l" + h(i, 3): nxt},
                      "root_pipeline_id": pipe, "parent_pipeline_id": pipe,
                      "can_skip": True, "can_retry": True,
                      "conditions": [{"name": "l" + h(i, 3), "evaluation": "True",
                                      "target_id": nxt, "flow_id": "l" + h(i, 3)}],
                      "default_condition": None})):
            nodes.append((node_id, json.dumps(d)))
        for node_id, name, v in ((pipe, "RUNNING", "v" + h(i, "vp")), (act_, "FAILED", va),
                                 (sub, "SUSPENDED", "v" + h(i, "vs"))):
            states.append((node_id, pipe, pipe, name, v))
        procs.append((act_, pipe, 1, 0, "", '["%s"]' % pipe))
        procs.append(("n" + h(i, "inner"), pipe, 0, 1, sub, '["%s", "%s"]' % (pipe, sub)))
        scheds.append((act_, va))
        data.append((act_, '{"a": {"need_render": true, "value": 1}}'))
        exe.append((act_, '{"a": 1}', '{"ex_data": "bulk failure", "_result": false}'))
        hist.append((act_, "v" + h(i, "old")))
        cbs.append((act_, "v" + h(i, "old")))
        logs.append((act_, va))
        recs.append((i, act_))
        outbox.append((json.dumps({"process_id": 1, "node_id": act_,
                                   "root_pipeline_id": pipe, "parent_pipeline_id": pipe,
                                   "recover_point": "{}", "headers": {}}), "bulk-%d" % i))
        replay.append(("demo_app", "bulk-%d" % i, i, act_))
    t = "2024-05-01 10:00:00"
    rows = {
        "pipeline_pipelineinstance": (
            "id, instance_id, name, creator, create_time, executor, start_time, description, "
            "is_started, is_finished, is_deleted, is_revoked, is_expired",
            [(i, p, nm, cr, t, ex, t, d, a, b, c, e, f)
             for i, p, nm, cr, ex, d, a, b, c, e, f in pi]),
        "taskflow3_taskflowinstance": (
            "id, category, template_id, create_method, create_info, flow_type, current_flow, "
            "is_deleted, pipeline_instance_id, template_source, project_id, engine_ver, "
            "is_child_taskflow", ti),
        "eri_node": ("node_id, detail", nodes),
        "eri_state": (
            "node_id, root_id, parent_id, name, version, `loop`, retry, skip, error_ignored, "
            "created_time, started_time, archived_time, inner_loop",
            [s + (1, 0, 0, 0, t, t, None, 1) for s in states]),
        "eri_process": (
            "parent_id, ack_num, need_ack, asleep, suspended, frozen, dead, last_heartbeat, "
            "destination_id, current_node_id, root_pipeline_id, suspended_by, priority, queue, "
            "pipeline_stack",
            [(-1, 0, -1, a, s, 0, 0, t, "", node, root, sb, 100, "", st)
             for node, root, a, s, sb, st in procs]),
        "eri_schedule": (
            "type, process_id, node_id, finished, expired, scheduling, version, schedule_times",
            [(1, 1, node, 0, 0, 0, v, 0) for node, v in scheds]),
        "eri_data": ("node_id, inputs, outputs", [d + ("{}",) for d in data]),
        "eri_executiondata": (
            "node_id, inputs_serializer, outputs_serializer, inputs, outputs",
            [(node, "json", "json", i, o) for node, i, o in exe]),
        "eri_executionhistory": (
            "node_id, `loop`, retry, skip, version, started_time, archived_time, "
            "inputs_serializer, outputs_serializer, inputs, outputs",
            [(node, 1, 0, 0, v, t, t, "json", "json", "{}", "{}") for node, v in hist]),
        "eri_callbackdata": ("node_id, version, data", [c + ("{}",) for c in cbs]),
        "eri_logentry": (
            "node_id, `loop`, logger_name, level_name, message, logged_at, version",
            [(node, 1, "component", "INFO", "bulk", t, v) for node, v in logs]),
        "operate_record_taskoperaterecord": (
            "operator, operate_type, operate_source, instance_id, project_id, operate_date, "
            "node_id, extra_info",
            [("admin", "retry", "api", i, 1, t, node, "{}") for i, node in recs]),
        "opn$outbox": (
            "kind, name, exchange, routing_key, priority, body, countdown, request_id, "
            "created_time, dispatched_time",
            [("celery", EXECUTE, "default", "er_execute", 100, b, None, r, t, t)
             for b, r in outbox]),
        "opn$replay": ("app_code, request_id, action, task_id, node_id, created_time",
                       [(a, r, "retry", i, node, t) for a, r, i, node in replay]),
        "taskflow3_taskcallbackrecord": (
            "task_id, url, create_time, status, extra_info",
            [(i, "", t, "ready", json.dumps({"node_id": "n" + h(i - 1, "act"),
                                             "node_version": "v" + h(i - 1, "va")}))
             for i, _node in recs]),
        "taskflow3_taskflowrelation": (
            "task_id, parent_task_id, root_task_id, create_time",
            [(i, i - 1, base, t) for i, _node in recs]),
    }
    c = env.db.conn()
    with c.cursor() as cur:
        cur.execute("START TRANSACTION")
        for table, (cols, values) in rows.items():
            sql = "INSERT INTO `%s` (%s) VALUES (%s)" % (
                table, cols, ", ".join(["%s"] * len(values[0])))
            for k in range(0, len(values), 2000):
                cur.executemany(sql, values[k:k + 2000])
        cur.execute("COMMIT")
    for table in BULK_TABLES:
        assert env.db.scalar("SELECT COUNT(*) FROM `%s`" % table) >= n, table
    for table in harness.TABLES:
        env.db.exec("ANALYZE TABLE `%s`" % table)


def handler_status(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
        return {k: int(v) for k, v in cur.fetchall()}


# Every action, its success and some of its refusals, and a replay.
SCAN_CALLS = [
    ("retry", dict(node_id="act_failed", action="retry",
                   inputs={"a": 1, "_escape_render_keys": ["a"]}), None),
    ("skip", dict(node_id="act_no_data", action="skip"), None),
    ("skip_exg", dict(node_id="exg_failed", action="skip_exg", flow_id="f_exg_b"), None),
    ("callback", dict(node_id="cb_wait", action="callback", data={"x": 1}), None),
    ("callback again", dict(node_id="cb_wait", action="callback"), None),
    ("pause_subproc", dict(node_id="sub_running", action="pause_subproc"), None),
    ("resume_subproc", dict(node_id="sub_suspended", action="resume_subproc"), None),
    ("skip refused (flows)", dict(node_id="act_two_out", action="skip"), 3545000),
    ("callback refused (schedule)", dict(node_id="cb_no_sched", action="callback"), 3545000),
    ("unknown node", dict(node_id="nope", action="retry"), 3540400),
    ("node id in the wrong case", dict(node_id="ACT_TWO_OUT", action="retry"), 3540400),
    ("pause", dict(node_id="act_ready", action="pause"), None),
    ("pause by appointment", dict(node_id="act_not_reached", action="pause"), None),
    ("resume", dict(node_id="sr_paused", action="resume"), None),
    ("forced_fail", dict(node_id="ff_running", action="forced_fail"), None),
    ("forced_fail creating execution data", dict(node_id="act_running",
                                                 action="forced_fail"), None),
    ("forced_fail refused (pickle)", dict(node_id="ff_pickled", action="forced_fail"),
     3545000),
    ("retry_subprocess", dict(node_id="sub_failed", action="retry_subprocess"), None),
    ("skip_cpg", dict(node_id="cpg_failed", action="skip_cpg",
                      flow_ids=["f_cpg_a", "f_cpg_b"], converge_gateway_id="cg12"), None),
    ("skip_cpg refused (flow)", dict(node_id="sr_cpg", action="skip_cpg",
                                     flow_ids=["f_srcpg_a", "f_cpg_a"],
                                     converge_gateway_id="sr_cg"), 3545000),
    ("retry of a child task, reviving two parents", dict(CHILD, action="retry"), None),
    ("skip of a child task refused (parent node without state)",
     dict(project_id=9, task_id=80, node_id="n80", action="skip"), 3545000),
    ("retry with a request id", dict(node_id="act_two_out", action="retry",
                                     request_id="scan-replay"), None),
    ("its replay", dict(node_id="act_two_out", action="retry", request_id="scan-replay"),
     None),
]


def handler_counts(env, n):
    """Per call of SCAN_CALLS on the demo with n bulk rows: (name, rnd_next,
    read_next, read_first)."""
    env.db.reset_demo()
    bulk_load(env, n)
    child_chain(env, reset=False)
    # task 80: a child task whose callback record names a node without state
    rows.engine_task(env.db, project=9, biz=90, task=80, node="n80")
    rows.child_of(env.db, 80, 78, 12, "gone", "v1")
    for table in ("taskflow3_taskcallbackrecord", "taskflow3_taskflowrelation"):
        env.db.exec("ANALYZE TABLE `%s`" % table)
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
        # controls: the counters do see a scan on this session (a table scan
        # of eri_process on an unindexed column, a walk of one of its indexes)
        for sql, counter in (
                ("SELECT COUNT(*) FROM eri_process WHERE queue = 'none'",
                 "Handler_read_rnd_next"),
                ("SELECT COUNT(*) FROM eri_process FORCE INDEX "
                 "(eri_process_current_node_id_fcbeef17) WHERE current_node_id >= ''",
                 "Handler_read_next")):
            a = handler_status(c)
            with c.cursor() as cur:
                cur.execute(sql)
                cur.fetchall()
            b = handler_status(c)
            assert b[counter] - a[counter] - show[counter] >= n, (sql, a, b)
    finally:
        c.close()
    env.db.reset_demo()
    return report


def test_no_full_table_scans(env):
    report = handler_counts(env, 2000)
    for name, rnd_next, read_next, read_first in report:
        assert rnd_next <= RND_NEXT_BOUND, report
        assert read_first == 0, report


def test_index_reads_stay_small(env):
    report = handler_counts(env, 10000)
    print("     handler counts with 10,000 bulk rows (rnd_next, read_next, read_first): "
          + "; ".join("%s %d/%d/%d" % r for r in report))
    for name, rnd_next, read_next, read_first in report:
        assert read_next <= READ_NEXT_BOUND, report
        assert rnd_next <= RND_NEXT_BOUND, report
        assert read_first == 0, report
