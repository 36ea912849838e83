"""Row helpers shared by the end-to-end tests: where a reply's effects live
in bk-sops' and bamboo's real tables and the service's own opn$ tables.
Kept in one place so that a change of schema is one change here."""
import hashlib
import json

# The operate record has no request id: the replay row of the same request
# is written with the same time, task, node and action in the same
# transaction, so the pair joins on those.
RECORD_SQL = (
    "SELECT r.* FROM operate_record_taskoperaterecord r "
    "JOIN `opn$replay` p ON p.task_id = r.instance_id "
    "AND p.node_id = r.node_id COLLATE utf8mb4_bin "
    "AND p.action = r.operate_type COLLATE utf8mb4_bin "
    "AND p.created_time = r.operate_date "
    "WHERE p.request_id = %s")


def record(db, request_id):
    """The one operate_record_taskoperaterecord row of this request."""
    return db.one(RECORD_SQL, request_id)


def records(db, node=None):
    if node is None:
        return db.query("SELECT * FROM operate_record_taskoperaterecord ORDER BY id")
    return db.query("SELECT * FROM operate_record_taskoperaterecord WHERE "
                    "node_id = %s COLLATE utf8mb4_bin ORDER BY id", node)


def replay(db, request_id, app="demo_app"):
    rows = db.query("SELECT * FROM `opn$replay` WHERE app_code = %s AND "
                    "request_id = %s", app, request_id)
    return rows[0] if rows else None


def state(db, node):
    return db.one("SELECT * FROM eri_state WHERE node_id = %s COLLATE utf8mb4_bin",
                  node)


def state_name(db, node):
    return state(db, node)["name"]


def process(db, pid):
    return db.one("SELECT * FROM eri_process WHERE id = %s", pid)


def history(db, node):
    """eri_executionhistory rows of a node, newest first."""
    return db.query("SELECT * FROM eri_executionhistory WHERE node_id = %s "
                    "COLLATE utf8mb4_bin ORDER BY id DESC", node)


def outbox(db, kind=None):
    """opn$outbox rows in id order, body parsed."""
    rows = db.query("SELECT * FROM `opn$outbox` ORDER BY id")
    for r in rows:
        r["kwargs"] = json.loads(r["body"])
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    return rows


def executes(db):
    """The celery messages as (task name tail, process_id, node_id,
    root_pipeline_id, parent_pipeline_id, request_id)."""
    return [(r["name"].rsplit(".", 1)[1], r["kwargs"]["process_id"],
             r["kwargs"]["node_id"], r["kwargs"].get("root_pipeline_id"),
             r["kwargs"].get("parent_pipeline_id"), r["request_id"])
            for r in outbox(db, "celery")]


def callback_data(db, node):
    return db.one("SELECT * FROM eri_callbackdata WHERE node_id = %s "
                  "COLLATE utf8mb4_bin", node)


def inputs(db, node):
    return json.loads(db.scalar("SELECT inputs FROM eri_data WHERE node_id = %s "
                                "COLLATE utf8mb4_bin", node))


# Seeding: many nodes of task 12 (root pipeline pipe12), each ready for one
# action, written as bamboo writes them. Used by the load and race tests.

def node_version(node):
    return "v" + hashlib.md5(node.encode()).hexdigest()


def seed(db, kind, n, prefix, task_root="pipe12"):
    """n nodes ready for one action each; returns their ids.
    kind: failed (retry/skip: one flow "f_<id>" to end12), exg (skip_exg:
    flows "fa_<id>" -> exg_a, "fb_<id>" -> exg_b), wait (callback: a
    callback schedule of the current version)."""
    ids = ["%s%d" % (prefix, i) for i in range(n)]
    now = "2024-05-01 10:00:00.000000"
    typ = "ExclusiveGateway" if kind == "exg" else "ServiceActivity"
    name = "RUNNING" if kind == "wait" else "FAILED"
    archived = None if kind == "wait" else now

    def detail(i):
        if kind == "exg":
            targets = {"fa_" + i: "exg_a", "fb_" + i: "exg_b"}
        elif kind == "failed":
            targets = {"f_" + i: "end12"}
        else:
            targets = {}
        d = {"id": i, "type": typ, "targets": targets, "root_pipeline_id": task_root,
             "parent_pipeline_id": task_root, "can_skip": True, "can_retry": True}
        if kind == "exg":
            d["conditions"] = [{"name": "fa_" + i, "evaluation": "${x} == 0",
                                "target_id": "exg_a", "flow_id": "fa_" + i}]
            d["default_condition"] = {"name": "fb_" + i, "target_id": "exg_b",
                                      "flow_id": "fb_" + i}
        return json.dumps(d)

    c = db.conn()
    with c.cursor() as cur:
        for k in range(0, n, 5000):
            part = ids[k:k + 5000]
            cur.executemany("INSERT INTO eri_node (node_id, detail) VALUES (%s, %s)",
                            [(i, detail(i)) for i in part])
            cur.executemany(
                "INSERT INTO eri_state (node_id, root_id, parent_id, name, version, "
                "`loop`, retry, skip, error_ignored, created_time, started_time, "
                "archived_time, inner_loop) VALUES (%s, %s, %s, %s, %s, 1, 0, 0, 0, "
                "%s, %s, %s, 1)",
                [(i, task_root, task_root, name, node_version(i), now, now, archived)
                 for i in part])
            cur.executemany(
                "INSERT INTO eri_process (parent_id, ack_num, need_ack, asleep, "
                "suspended, frozen, dead, last_heartbeat, destination_id, "
                "current_node_id, root_pipeline_id, suspended_by, priority, queue, "
                "pipeline_stack) VALUES (-1, 0, -1, 1, 0, 0, 0, %s, '', %s, %s, '', "
                "100, '', %s)", [(now, i, task_root, json.dumps([task_root])) for i in part])
            if kind == "failed":
                cur.executemany(
                    "INSERT INTO eri_data (node_id, inputs, outputs) VALUES (%s, %s, '{}')",
                    [(i, json.dumps({"x": {"need_render": True, "value": 1}})) for i in part])
                cur.executemany(
                    "INSERT INTO eri_executiondata (node_id, inputs_serializer, "
                    "outputs_serializer, inputs, outputs) VALUES (%s, 'json', 'json', "
                    "'{\"x\": 1}', '{\"ex_data\": \"failed\", \"_result\": false}')",
                    [(i,) for i in part])
            elif kind == "wait":
                cur.execute("SELECT id, current_node_id FROM eri_process WHERE "
                            "current_node_id IN (%s)" % ",".join(["%s"] * len(part)), part)
                pids = {r[1]: r[0] for r in cur.fetchall()}
                cur.executemany(
                    "INSERT INTO eri_schedule (type, process_id, node_id, finished, "
                    "expired, scheduling, version, schedule_times) VALUES "
                    "(1, %s, %s, 0, 0, 0, %s, 0)",
                    [(pids[i], i, node_version(i)) for i in part])
    return ids


def per_request_outbox(db, node):
    """opn$outbox rows written by the requests applied on a node."""
    return db.scalar("SELECT COUNT(*) FROM `opn$outbox` o JOIN `opn$replay` p "
                     "ON p.request_id = o.request_id WHERE p.node_id = %s", node)


def engine_task(db, project=7, biz=70, task=77, node="n77"):
    """What bk-sops and its engine, not this service, would have written: a
    cmdb project, a running task (engine v2) and one failed activity with a
    parked process, inputs and execution data. Returns the node's version."""
    pipe = "root%d" % task
    now = "2024-05-01 10:00:00.000000"
    ver = node_version(node)
    db.exec("INSERT INTO core_project (id, name, time_zone, creator, `desc`, create_at, "
            "from_cmdb, bk_biz_id, is_disable) VALUES (%s, 'p', 'Asia/Shanghai', "
            "'admin', '', %s, 1, %s, 0)", project, now, biz)
    db.exec("INSERT INTO pipeline_pipelineinstance (id, instance_id, name, creator, "
            "create_time, executor, start_time, finish_time, description, is_started, "
            "is_finished, is_deleted, execution_snapshot_id, snapshot_id, template_id, "
            "tree_info_id, is_revoked, is_expired) VALUES (%s, %s, 't', 'admin', %s, "
            "'admin', %s, NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0)",
            task + 100, pipe, now, now)
    db.exec("INSERT INTO taskflow3_taskflowinstance (id, category, template_id, "
            "create_method, create_info, flow_type, current_flow, is_deleted, "
            "pipeline_instance_id, template_source, project_id, engine_ver, "
            "recorded_executor_proxy, is_child_taskflow, extra_info) VALUES (%s, "
            "'Default', '1', 'app', '', 'common', 'execute_task', 0, %s, 'project', "
            "%s, 2, NULL, 0, NULL)", task, task + 100, project)
    db.exec("INSERT INTO eri_node (node_id, detail) VALUES (%s, %s)", node, json.dumps(
        {"id": node, "type": "ServiceActivity", "targets": {"f" + node: "end" + node},
         "root_pipeline_id": pipe, "parent_pipeline_id": pipe, "can_skip": True,
         "can_retry": True, "code": "bk_display", "version": "legacy", "name": node,
         "error_ignorable": False}))
    for n, name, v in [(pipe, "RUNNING", node_version(pipe)), (node, "FAILED", ver)]:
        db.exec("INSERT INTO eri_state (node_id, root_id, parent_id, name, version, "
                "`loop`, retry, skip, error_ignored, created_time, started_time, "
                "archived_time, inner_loop) VALUES (%s, %s, %s, %s, %s, 1, 0, 0, 0, "
                "%s, %s, %s, 1)", n, pipe, pipe, name, v, now, now,
                now if name == "FAILED" else None)
    db.exec("INSERT INTO eri_data (node_id, inputs, outputs) VALUES (%s, "
            "'{\"x\": {\"need_render\": true, \"value\": 1}}', '{}')", node)
    db.exec("INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, "
            "inputs, outputs) VALUES (%s, 'json', 'json', '{\"x\": 1}', "
            "'{\"ex_data\": \"boom\", \"_result\": false}')", node)
    db.exec("INSERT INTO eri_process (parent_id, ack_num, need_ack, asleep, suspended, "
            "frozen, dead, last_heartbeat, destination_id, current_node_id, "
            "root_pipeline_id, suspended_by, priority, queue, pipeline_stack) VALUES "
            "(-1, 0, -1, 1, 0, 0, 0, %s, '', %s, %s, '', 100, '', %s)",
            now, node, pipe, json.dumps([pipe]))
    return ver


def parent_node(db, pipe, node, timeout=None):
    """A parent task's node that started an independent child task (bk-sops'
    subprocess_plugin) and failed when the child failed, as bamboo leaves
    it: FAILED and archived, its schedule at that version expired, ex_data
    in its execution outputs, its process asleep there; timeout: a
    TimeoutNodeConfig row. Returns the node's version."""
    now = "2024-05-01 10:00:00.000000"
    ver = node_version(node)
    db.exec("INSERT INTO eri_node (node_id, detail) VALUES (%s, %s)", node, json.dumps(
        {"id": node, "type": "ServiceActivity", "targets": {"f" + node: "end" + node},
         "root_pipeline_id": pipe, "parent_pipeline_id": pipe, "can_skip": True,
         "can_retry": True, "code": "subprocess_plugin", "version": "1.0.0", "name": node,
         "error_ignorable": False}))
    db.exec("INSERT INTO eri_state (node_id, root_id, parent_id, name, version, `loop`, "
            "retry, skip, error_ignored, created_time, started_time, archived_time, "
            "inner_loop) VALUES (%s, %s, %s, 'FAILED', %s, 1, 0, 0, 0, %s, %s, %s, 1)",
            node, pipe, pipe, ver, now, now, now)
    db.exec("INSERT INTO eri_process (parent_id, ack_num, need_ack, asleep, suspended, "
            "frozen, dead, last_heartbeat, destination_id, current_node_id, "
            "root_pipeline_id, suspended_by, priority, queue, pipeline_stack) VALUES "
            "(-1, 0, -1, 1, 0, 0, 0, %s, '', %s, %s, '', 100, '', %s)",
            now, node, pipe, json.dumps([pipe]))
    db.exec("INSERT INTO eri_schedule (type, process_id, node_id, finished, expired, "
            "scheduling, version, schedule_times) VALUES (1, -1, %s, 0, 1, 0, %s, 1)",
            node, ver)
    db.exec("INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, "
            "inputs, outputs) VALUES (%s, 'json', 'json', '{\"subprocess\": 1}', "
            "'{\"task_id\": 1, \"ex_data\": \"child task failed\", \"_result\": false}')",
            node)
    if timeout is not None:
        db.exec("INSERT INTO taskflow3_timeoutnodeconfig (task_id, root_pipeline_id, action, "
                "node_id, timeout) VALUES (0, %s, 'forced_fail', %s, %s)", pipe, node, timeout)
    return ver


def child_of(db, task, parent_task, root_task, node, version):
    """Makes task an independent child task of parent_task's node, as
    bk-sops' subprocess_plugin leaves it: is_child_taskflow 1, a callback
    record (url "", extra_info naming the node and its version), a
    TaskFlowRelation row."""
    now = "2024-05-01 10:00:00.000000"
    db.exec("UPDATE taskflow3_taskflowinstance SET is_child_taskflow = 1 WHERE id = %s", task)
    db.exec("INSERT INTO taskflow3_taskcallbackrecord (task_id, url, create_time, status, "
            "extra_info, callback_time) VALUES (%s, '', %s, 'ready', %s, NULL)",
            task, now, json.dumps({"source": "subprocess task %d" % task, "node_id": node,
                                   "node_version": version, "engine_ver": 2}))
    db.exec("INSERT INTO taskflow3_taskflowrelation (task_id, parent_task_id, root_task_id, "
            "create_time) VALUES (%s, %s, %s, %s)", task, parent_task, root_task, now)
