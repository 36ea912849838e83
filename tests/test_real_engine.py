"""The service against bamboo-engine itself: bamboo's Django apps migrated
on the test's MariaDB, its real Celery tasks (pipeline.eri.celery.tasks
execute and schedule) in a worker on a private RabbitMQ, Redis. Each
scenario builds the same pipeline twice (bamboo_engine.builder, a test
component that fails on its first run); one copy is operated through nginx
and the pool (the dispatcher wakes the engine), the other through the
bamboo_engine.api call bk-sops' NodeCommandDispatcher.<action>_v2 makes.
Both must end FINISHED with the same eri_* rows, ids, versions and times
normalised. The engine's source is read from BAMBOO_ENGINE_SRC (default:
../shared/vendor/bamboo-engine beside the checkout), never copied here;
without it the module is skipped.
"""
import hashlib
import json
import os
import re
import secrets
import subprocess
import threading
import time

import harness
from harness import Procs, wait_for
from test_dispatch import RabbitMQ, Redis

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "real_engine")
PY = "/usr/bin/python3"
DB = "opn_engine"
TRUSTED = ("trusted_app", "trusted-app-secret")     # sql/demo.sql
BIZ = 2                                            # demo project 1: cmdb biz 2
FINISH_TIMEOUT = float(os.environ.get("REAL_ENGINE_TIMEOUT", "90"))


def engine_source():
    """BAMBOO_ENGINE_SRC, else ../shared/vendor/bamboo-engine beside the
    checkout, else the one of this machine's layout (/work/shared); None
    when none holds bamboo's source."""
    env = os.environ.get("BAMBOO_ENGINE_SRC")
    cands = [env] if env else [
        os.path.join(os.path.dirname(harness.ROOT), "shared", "vendor", "bamboo-engine"),
        "/work/shared/vendor/bamboo-engine"]
    for c in cands:
        if c and os.path.isfile(os.path.join(c, "bamboo_engine", "api.py")) and \
                os.path.isdir(os.path.join(c, "runtime", "bamboo-pipeline", "pipeline", "eri")):
            return os.path.abspath(c)
    return None


S = {}


class Engine:
    """The Django project's environment, migrate, the worker and the driver
    (tests/real_engine/driver.py: bamboo's builder and api)."""

    def __init__(self, env, src):
        self.dir = os.path.join(env.top, "engine")
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "django.log")
        self.env = dict(
            os.environ, PYTHONPATH=":".join([src, os.path.join(src, "runtime", "bamboo-pipeline"),
                                             PROJECT]),
            DJANGO_SETTINGS_MODULE="opn_engine.settings", OPN_DB_NAME=DB,
            OPN_DB_SOCKET=env.db.sock, OPN_LOG_FILE=self.log,
            OPN_BROKER_URL=S["rabbit"].url, OPN_REDIS_URL=S["redis"].url,
            # bk-sops' workers accept pickle: Celery refuses to run them as
            # root without this
            C_FORCE_ROOT="1", TZ="Asia/Shanghai")
        self.worker = self.driver = None
        self.lock = threading.Lock()

    def manage(self, *args):
        p = subprocess.run([PY, "manage.py"] + list(args), cwd=PROJECT, env=self.env,
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError("manage.py %s: %s" % (" ".join(args), p.stderr[-3000:]))
        return p.stdout

    def start_worker(self):
        # as bamboo's README starts it, on bamboo's queues and bk-sops' "api"
        self.worker = Procs.spawn(
            [PY, "-m", "celery", "-A", "opn_engine", "worker", "-l", "info", "-c", "4",
             "-Q", "er_execute,er_schedule,er_execute_api,er_schedule_api",
             "-n", "engine@localhost", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], os.path.join(self.dir, "worker.log"),
            env=self.env, cwd=self.dir)
        # "ready" goes to Django's log file, not to stdout
        wait_for(lambda: self.worker.poll() is None and
                 re.search(r"engine@localhost ready", open(self.log).read()), 120,
                 "the engine's worker")

    def start_driver(self):
        self.driver = subprocess.Popen(
            [PY, os.path.join(PROJECT, "driver.py")], cwd=self.dir, env=dict(
                self.env, OPN_LOG_FILE=os.path.join(self.dir, "driver.log")),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        Procs.live.append(self.driver)

    def ask(self, req):
        with self.lock:
            self.driver.stdin.write(json.dumps(req) + "\n")
            self.driver.stdin.flush()
            line = self.driver.stdout.readline()
        if not line:
            raise RuntimeError("the driver died; see " + self.dir)
        return json.loads(line)

    def stop(self):
        if self.driver is not None:
            self.driver.stdin.close()
            Procs.stop(self.driver)
            self.driver = None
        if self.worker is not None:
            Procs.stop(self.worker, timeout=30)
            self.worker = None


def fixture_tables():
    """CREATE TABLE statements of the fixture, by table."""
    with open(harness.BKSOPS_DDL) as f:
        text = f.read()
    return {m.group(1): m.group(0) for m in
            re.finditer(r"^CREATE TABLE (\w+) \(.*?^\) ENGINE=[^;]*;", text, re.M | re.S)}


def columns(db, schema, tables):
    rows = db.query("SELECT table_name AS t, column_name AS c, ordinal_position AS o, "
                    "column_type AS type, is_nullable AS n, column_default AS d, "
                    "collation_name AS coll FROM information_schema.columns "
                    "WHERE table_schema = %s ORDER BY table_name, ordinal_position", schema)
    return {t: [r for r in rows if r["t"] == t] for t in tables}


def setup_module(env):
    src = engine_source()
    if src is None:
        raise harness.Skip("bamboo-engine's source not found: set BAMBOO_ENGINE_SRC to a "
                           "folder with bamboo_engine/ and runtime/bamboo-pipeline/pipeline/")
    S["src"] = src
    S["rabbit"] = RabbitMQ(env.top).start()
    S["redis"] = Redis(env.top).start()
    declare_notice_queues()
    db = env.db
    db.exec("DROP DATABASE IF EXISTS `%s`" % DB)
    db.exec("CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci" % DB)
    eng = S["engine"] = Engine(env, src)
    eng.manage("migrate", "--no-input")
    # bamboo's tables as its migrations made them, beside the fixture's
    fx = fixture_tables()
    made = {r["t"] for r in db.query("SELECT table_name AS t FROM information_schema.tables "
                                     "WHERE table_schema = %s", DB)}
    S["compared"] = sorted(set(fx) & made)
    db.exec("DROP DATABASE IF EXISTS opn_engine_fixture")
    db.exec("CREATE DATABASE opn_engine_fixture CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    db.client(stdin="\n".join(fx.values()).encode(), db="opn_engine_fixture")
    S["columns"] = (columns(db, DB, S["compared"]),
                    columns(db, "opn_engine_fixture", S["compared"]))
    db.exec("DROP DATABASE opn_engine_fixture")
    # bk-sops' other tables from the fixture, then the service
    db.client(stdin="\n".join(v for k, v in fx.items() if k not in made).encode(), db=DB)
    p = subprocess.run([os.path.join(harness.ROOT, "sql", "load.sh"), "--demo", "--force", DB,
                        "-S", db.sock, "-uroot"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    S["conn"] = __import__("pymysql").connect(unix_socket=db.sock, user="root", database=DB,
                                              autocommit=True, charset="utf8mb4")
    S["conn_lock"] = threading.Lock()
    # every Redis command, to compare the timeout pool's ZADD / ZREM
    S["monitor_log"] = os.path.join(env.top, "redis", "monitor.log")
    S["monitor"] = Procs.spawn(["redis-cli", "-p", str(S["redis"].port), "MONITOR"],
                               S["monitor_log"])
    eng.start_worker()
    eng.start_driver()
    S["service"] = harness.Service(
        env, name="engine-pool", db_name=DB, broker_url=S["rabbit"].pool_url,
        broker_password_file=S["rabbit"].password_file, redis_url=S["redis"].url, workers=2)


def teardown_module(env):
    if "monitor" in S:
        Procs.stop(S.pop("monitor"))
    for k in ("service", "engine", "redis", "rabbit"):
        if k in S:
            S.pop(k).stop()
    if "conn" in S:
        S.pop("conn").close()


def declare_notice_queues():
    """bk-sops' notice queues, declared as its workers declare them
    (kombu, the queues of gcloud/taskflow3/celery/settings.py and Celery's
    default queue 'default'); with broker_declare = no the dispatcher
    needs them. Nobody consumes them here: the test reads them back."""
    import kombu
    from kombu import Exchange, Queue
    ex = Exchange("default", type="direct")
    S["notice_queues"] = [Queue("default", ex, routing_key="default"),
                          Queue("node_auto_retry", ex, routing_key="node_auto_retry",
                                queue_arguments={"x-max-priority": 255}),
                          Queue("task_callback", ex, routing_key="task_callback",
                                queue_arguments={"x-max-priority": 255})]
    with kombu.Connection(S["rabbit"].url) as c:
        for q in S["notice_queues"]:
            q(c.default_channel).declare()


def notices():
    """Every message on bk-sops' notice queues, taken off them."""
    import kombu
    out = []
    with kombu.Connection(S["rabbit"].url) as c:
        for q in S["notice_queues"]:
            bq = q(c.default_channel)
            while True:
                m = bq.get(no_ack=True)
                if m is None:
                    break
                out.append((q.name, m.headers.get("task"), json.loads(m.body)[1]))
    return out


def sql(query, *args):
    import pymysql
    with S["conn_lock"]:
        with S["conn"].cursor(pymysql.cursors.DictCursor) as c:
            c.execute(query, args)
            return list(c.fetchall())


# --- One copy of a pipeline ---------------------------------------------------------

class Copy:
    """A pipeline built and run by bamboo, with bk-sops' task rows for the
    service to find it; via is "service" or "api"."""

    task_ids = iter(range(1000, 100000))
    task_lock = threading.Lock()

    def __init__(self, shape, via, timeouts=()):
        self.via = via
        self.tag = secrets.token_hex(4)
        with Copy.task_lock:
            self.task = next(Copy.task_ids)
        # a timeout on a node, before the run reaches it: in bk-sops' table
        # (the service reads it) and in bamboo's node_timeout table (its
        # handler reads that one), which in bk-sops are the same
        root = make_id("p", self.tag, "root")
        for label, prefix in timeouts:
            node = make_id(prefix, self.tag, label)
            sql("INSERT INTO taskflow3_timeoutnodeconfig (task_id, root_pipeline_id, action, "
                "node_id, timeout) VALUES (%s, %s, 'forced_fail', %s, 600)", self.task, root, node)
            sql("INSERT INTO node_timeout_timeoutnodeconfig (root_pipeline_id, action, node_id, "
                "timeout) VALUES (%s, 'forced_fail', %s, 600)", root, node)
        r = S["engine"].ask({"op": "run", "shape": shape, "tag": self.tag})
        assert r["ok"], r["message"]
        self.ids = r["ids"]
        self.root = self.ids["root"]
        assert self.root == root, (self.root, root)
        sql("INSERT INTO pipeline_pipelineinstance (id, instance_id, name, creator, create_time, "
            "executor, start_time, description, is_started, is_finished, is_deleted, is_revoked, "
            "is_expired) VALUES (%s, %s, 'real engine', 'admin', UTC_TIMESTAMP(6), 'admin', "
            "UTC_TIMESTAMP(6), '', 1, 0, 0, 0, 0)", self.task, self.root)
        sql("INSERT INTO taskflow3_taskflowinstance (id, category, template_id, create_method, "
            "create_info, flow_type, current_flow, is_deleted, pipeline_instance_id, "
            "template_source, project_id, engine_ver, is_child_taskflow) VALUES (%s, 'Default', "
            "'1', 'app', '', 'common', 'execute_task', 0, %s, 'project', 1, 2, 0)",
            self.task, self.task)
        sql("INSERT INTO taskflow3_taskcallbackrecord (task_id, url, create_time, status, "
            "extra_info) VALUES (%s, 'http://callback.example/task', UTC_TIMESTAMP(6), 'ready', "
            "'{}')", self.task)

    def state(self, label):
        rows = sql("SELECT name FROM eri_state WHERE node_id = %s", self.ids[label])
        return rows[0]["name"] if rows else "CREATED"

    def settled(self, label, states):
        """The node is in one of states and, when FAILED or RUNNING, the
        engine is done with it: its process sleeps there (the state is
        set before the execution data, the schedule and the sleep)."""
        st = self.state(label)
        if st not in states:
            return False
        if st not in ("FAILED", "RUNNING"):
            return True
        node = self.ids[label]
        if st == "RUNNING" and not sql(
                "SELECT 1 FROM eri_schedule c JOIN eri_state s ON s.node_id = c.node_id AND "
                "s.version = c.version WHERE c.node_id = %s AND c.finished = 0", node):
            return False    # waiting nodes only here: callback and poll
        return sql("SELECT COUNT(*) AS n FROM eri_process WHERE current_node_id = %s AND "
                   "asleep = 1 AND dead = 0", node)[0]["n"] > 0

    def wait(self, label, *states, timeout=FINISH_TIMEOUT):
        wait_for(lambda: self.settled(label, states), timeout,
                 "%s (%s) of %s to be %s, is %s" % (label, self.ids[label], self.via,
                                                   "/".join(states), self.state(label)))

    def wait_dead(self, timeout=10):
        """After FINISHED, until the engine marks the processes dead (a
        moment later); the comparison tells if it never does."""
        try:
            wait_for(lambda: not sql("SELECT 1 FROM eri_process WHERE root_pipeline_id = %s "
                                     "AND dead = 0", self.root), timeout)
        except RuntimeError:
            pass

    def wait_suspended(self, label, timeout=30):
        """A process of this copy suspended by the node (pause_subproc)."""
        node = self.ids[label]
        wait_for(lambda: sql("SELECT COUNT(*) AS n FROM eri_process WHERE suspended = 1 AND "
                             "suspended_by = %s", node)[0]["n"] > 0, timeout,
                 "a process suspended by %s of %s" % (label, self.via))

    def operate(self, action, label, **kw):
        kw = {k: (self.ids[v] if k == "converge_gateway_id" else
                  [self.ids[x] for x in v] if k == "flow_ids" else
                  self.ids[v] if k == "flow_id" else v) for k, v in kw.items()}
        node = self.ids[label]
        if self.via == "api":
            r = S["engine"].ask({"op": "operate", "action": action, "node_id": node, "kw": kw})
            assert r["ok"], (action, label, r)
            return
        body = {"bk_app_code": TRUSTED[0], "bk_app_secret": TRUSTED[1], "bk_username": "admin",
                "node_id": node, "action": action}
        body.update(kw)
        r = S["service"].post("/operate_node/%d/%d/" % (BIZ, self.task), body)
        assert r.json and r.json["result"] is True, (action, label, r)

    # the rows, normalised

    def rows(self):
        like = "%" + self.tag + "%"
        node_in = "node_id LIKE %s"
        procs = sql("SELECT * FROM eri_process WHERE root_pipeline_id = %s ORDER BY id", self.root)
        pmap = {p["id"]: "P%d" % i for i, p in enumerate(procs)}
        pmap[-1] = -1
        out = {
            "eri_state": sql("SELECT node_id, root_id, parent_id, name, version, `loop`, retry, "
                             "skip, error_ignored, inner_loop, started_time IS NULL AS unstarted, "
                             "archived_time IS NULL AS unarchived FROM eri_state WHERE " + node_in +
                             " ORDER BY node_id", like),
            "eri_process": [dict(p, id=pmap[p["id"]], parent_id=pmap.get(p["parent_id"], "?"),
                                 last_heartbeat=None) for p in procs],
            "eri_schedule": sql("SELECT type, process_id, node_id, finished, expired, "
                                "scheduling, version, schedule_times FROM eri_schedule WHERE " +
                                node_in + " ORDER BY node_id, id", like),
            "eri_data": sql("SELECT node_id, inputs, outputs FROM eri_data WHERE " + node_in +
                            " ORDER BY node_id", like),
            "eri_executiondata": sql("SELECT node_id, inputs_serializer, outputs_serializer, "
                                     "inputs, outputs FROM eri_executiondata WHERE " + node_in +
                                     " ORDER BY node_id", like),
            "eri_executionhistory": sql("SELECT node_id, `loop`, retry, skip, version, "
                                        "inputs_serializer, outputs_serializer, inputs, outputs "
                                        "FROM eri_executionhistory WHERE " + node_in +
                                        " ORDER BY node_id, id", like),
            "eri_callbackdata": sql("SELECT node_id, version, data FROM eri_callbackdata WHERE " +
                                    node_in + " ORDER BY node_id, id", like),
            "eri_logentry": sql("SELECT node_id, `loop`, logger_name, level_name, message, "
                                "version FROM eri_logentry WHERE " + node_in +
                                " ORDER BY node_id, id", like),
            "eri_node": sql("SELECT node_id, detail FROM eri_node WHERE " + node_in +
                            " ORDER BY node_id", like),
            "eri_contextvalue": sql("SELECT pipeline_id, `key`, type, serializer, code, value, "
                                    "`references` FROM eri_contextvalue WHERE pipeline_id LIKE %s "
                                    "ORDER BY pipeline_id, `key`", like),
        }
        out["redis"] = pool_commands(self.tag)
        for s in out["eri_schedule"]:
            s["process_id"] = pmap.get(s["process_id"], "?")
        return normalise(out, self.tag, {})


def make_id(prefix, tag, label):
    """The driver's ids (tests/real_engine/driver.py)."""
    return prefix + tag + hashlib.md5(label.encode()).hexdigest()[:23]


SCORE = re.compile(r'"\d+(?:\.\d+)?"')
POOL_COMMAND = re.compile(r'"(ZADD|ZREM)" "sops_executing_node_pool" (.*)$')


def pool_commands(tag):
    """The timeout pool's commands on this copy's nodes, from MONITOR, by
    node in the order sent: the member's version as V0, V1, ... in the order
    of its first use for that node (so a ZREM of a version that was never
    added shows), the score as T."""
    out = {}
    versions = {}
    with open(S["monitor_log"], errors="replace") as f:
        for line in f:
            m = POOL_COMMAND.search(line)
            if not (m and tag in m.group(2)):
                continue
            args = SCORE.sub('"T"', m.group(2).replace(tag, "TAG"))
            mm = re.search(r'"(\w+)_(v[0-9a-f]{32})"$', args)
            node, ver = mm.group(1), mm.group(2)
            seen = versions.setdefault(node, [])
            if ver not in seen:
                seen.append(ver)
            out.setdefault(node, []).append("%s %sV%d" % (m.group(1), args[:mm.start()],
                                                        seen.index(ver)))
    return out


VERSION = re.compile(r"(?:(?<=_)|\b)v[0-9a-f]{32}\b")     # also in <node>_<version>


def normalise(obj, tag, versions):
    """The copy's tag as TAG; each state version as V0, V1, ... in the
    order of its first appearance (the tables and rows come in a fixed
    order), so that a version written where another belongs shows; JSON
    text parsed."""
    if isinstance(obj, dict):
        return {k: normalise(v, tag, versions) for k, v in obj.items()}
    if isinstance(obj, list):
        return [normalise(v, tag, versions) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        obj = obj.decode()
    if isinstance(obj, str):
        def number(m):
            return "V%d" % versions.setdefault(m.group(0), len(versions))
        s = VERSION.sub(number, obj.replace(tag, "TAG"))
        try:
            v = json.loads(s)
        except ValueError:
            return s
        return v if isinstance(v, (dict, list)) else s
    return obj


def diff(a, b, path=""):
    """The first few places where two normalised row sets differ."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            out += diff(a.get(k, "<absent>"), b.get(k, "<absent>"), "%s.%s" % (path, k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, "%s[%d]" % (path, i))
    elif a != b:
        out.append("%s: service %r, api %r" % (path, a, b))
    return out[:12]


# --- Scenarios ------------------------------------------------------------------------

def run_scenario(shape, steps, finish=FINISH_TIMEOUT, copies=None, timeouts=()):
    """Both copies through the same steps, in two threads; both must end
    FINISHED with the same rows. Returns the service copy."""
    copies = {} if copies is None else copies
    errors = {}

    def one(via):
        try:
            c = copies[via] = Copy(shape, via, timeouts)
            for step in steps:
                step(c)
            c.wait("root", "FINISHED", timeout=finish)
            c.wait_dead()
        except Exception as e:  # noqa: BLE001
            errors[via] = e
    ts = [threading.Thread(target=one, args=(v,)) for v in ("service", "api")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if "api" in errors:
        raise AssertionError("bamboo's own api copy: %r" % errors["api"])
    if "service" in errors:
        raise AssertionError("the service's copy: %r" % errors["service"])
    a, b = copies["service"].rows(), copies["api"].rows()
    d = diff(a, b)
    assert not d, "eri_* rows differ:\n" + "\n".join(d)
    return copies["service"]


def wait(label, *states):
    return lambda c: c.wait(label, *states)


def op(action, label, **kw):
    return lambda c: c.operate(action, label, **kw)


def entered(label):
    """The node's execute has begun (and blocks: opn_block)."""
    return lambda c: wait_for(lambda: c.state(label) == "RUNNING" and S["redis"].cli(
        "EXISTS", "opn:entered:" + c.ids[label]) == "1", 30, "%s to execute" % label)


def release(label):
    return lambda c: S["redis"].cli("SET", "opn:release:" + c.ids[label], "1")


def suspended(label):
    return lambda c: c.wait_suspended(label)


SCENARIOS = {
    "retry": ("linear", [wait("a", "FAILED"), op("retry", "a")]),
    "retry_inputs": ("linear", [wait("a", "FAILED"),
                                op("retry", "a", inputs={"x": "new ${x}", "y": "again", "z": 3})]),
    "skip": ("linear", [wait("a", "FAILED"), op("skip", "a")]),
    "skip_exg": ("exg", [wait("exg", "FAILED"), op("skip_exg", "exg", flow_id="flow:exg>b2")]),
    "skip_cpg": ("cpg", [wait("cpg", "FAILED"),
                         op("skip_cpg", "cpg", flow_ids=["flow:cpg>b3", "flow:cpg>b1"],
                            converge_gateway_id="cg")]),
    "callback": ("callback", [wait("c", "RUNNING"), op("callback", "c", data={"ok": True})]),
    "callback_fail_retry": ("callback", [
        wait("c", "RUNNING"), op("callback", "c", data={"ok": False}), wait("c", "FAILED"),
        op("retry", "c"), wait("c", "RUNNING"), op("callback", "c", data={"ok": True})]),
    "pause_resume": ("linear", [wait("a", "FAILED"), op("pause", "b"), op("retry", "a"),
                                wait("b", "SUSPENDED"), op("resume", "b")]),
    "pause_resume_subproc": ("parallel_subprocs", [
        wait("sp1.c", "RUNNING"), wait("sp2.c", "RUNNING"), op("pause_subproc", "sp1"),
        op("callback", "sp1.c", data={"ok": True}), suspended("sp1"),
        op("callback", "sp2.c", data={"ok": True}), wait("sp2", "FINISHED"),
        op("resume_subproc", "sp1")]),
    "forced_fail_executing": ("block", [entered("p"), op("forced_fail", "p"), release("p"),
                                        wait("p", "FAILED"), op("retry", "p")]),
    "forced_fail_callback": ("callback", [wait("c", "RUNNING"), op("forced_fail", "c"),
                                          wait("c", "FAILED"), op("retry", "c"),
                                          wait("c", "RUNNING"),
                                          op("callback", "c", data={"ok": True})]),
    "retry_in_subprocess_and_skip_branch": ("subproc_fail", [
        wait("sp.b", "FAILED"), wait("side", "FAILED"), op("retry", "sp.b"),
        op("skip", "side")]),
    "retry_subprocess": ("subproc_entry", [wait("sp", "FAILED"), op("retry_subprocess", "sp")]),
}

# nodes with a timeout (bk-sops' timeout pool), by scenario
TIMEOUTS = {"pause_resume_subproc": [("sp1", "p"), ("sp2.c", "n")]}
RESULTS = {}
COPIES = {}


def test_migrate_makes_the_fixture_tables_column_by_column(env):
    ours, fixture = S["columns"]
    assert len(S["compared"]) >= 11, S["compared"]
    for t in S["compared"]:
        strip = [{k: v for k, v in r.items()} for r in ours[t]]
        assert strip == fixture[t], (t, strip, fixture[t])


def test_scenarios(env):
    """Every scenario at once (one engine worker for all), each checked."""
    def one(name, shape, steps):
        try:
            COPIES[name] = {}
            run_scenario(shape, steps, copies=COPIES[name], timeouts=TIMEOUTS.get(name, ()))
            RESULTS[name] = None
        except Exception as e:  # noqa: BLE001
            RESULTS[name] = e
    t0 = time.monotonic()
    ts = [threading.Thread(target=one, args=(n,) + s) for n, s in SCENARIOS.items()]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("     %d scenarios in %.0f s" % (len(SCENARIOS), time.monotonic() - t0))
    failed = {n: e for n, e in RESULTS.items() if e is not None}
    assert not failed, "\n".join("%s: %s" % (n, e) for n, e in sorted(failed.items()))


def _scenario_case(name):
    def check(env):
        assert name in RESULTS, "test_scenarios did not run"
        if RESULTS[name] is not None:
            raise RESULTS[name]
    return check


# One line per scenario in the report (they ran together in test_scenarios).
CASES = [("scenario_" + n, _scenario_case(n)) for n in SCENARIOS]


def test_forced_fail_notices_are_bk_sops_own(env):
    """forced_fail through the service queued bk-sops' failure notices (its
    post_set_state handler on FAILED, gcloud/taskflow3/signals/handlers.py:
    the task has a callback record and is not a child task): task_callback
    on its queue, send_taskflow_message on 'default', once per forced_fail,
    and nothing else. The api copies have no bk-sops handlers: none."""
    got = sorted(notices(), key=lambda n: (n[2].get("task_id", 0), n[0]))
    want = []
    for name, label in (("forced_fail_executing", "p"), ("forced_fail_callback", "c")):
        c = COPIES.get(name, {}).get("service")
        assert c is not None, "scenario %s did not run" % name
        want += [("task_callback", "gcloud.taskflow3.celery.tasks.task_callback",
                  {"task_id": c.task, "task_success": False}),
                 ("default", "gcloud.taskflow3.celery.tasks.send_taskflow_message",
                  {"task_id": c.task, "msg_type": "atom_failed", "node_name": label})]
    want.sort(key=lambda n: (n[2].get("task_id", 0), n[0]))
    assert got == want, (got, want)


def test_timeout_pool_commands_were_compared(env):
    """The scenarios' Redis comparison is not empty: a subprocess with a
    timeout enters the pool (ZADD NX, the engine), leaves it when paused
    (ZREM, the action), comes back on resume_subproc (ZADD NX, the action)
    and leaves when it finishes; skip and forced_fail take nodes out."""
    cmds = {n: pool_commands(c["service"].tag) for n, c in COPIES.items() if "service" in c}
    got = cmds["pause_resume_subproc"]
    sp1, sp2c = make_id("p", "TAG", "sp1"), make_id("n", "TAG", "sp2.c")
    print("     pause_resume_subproc: %s %s, %s %s" % ("sp1", got.get(sp1), "sp2.c", got.get(sp2c)))
    # sp1: in on entry, out when paused, in again on resume, out at its
    # end, always the member that was added (the version stays)
    assert got.get(sp1) == ['ZADD "NX" "T" V0', "ZREM V0", 'ZADD "NX" "T" V0', "ZREM V0"], got
    assert got.get(sp2c) == ['ZADD "NX" "T" V0', "ZREM V0"], got
    for n in ("skip", "forced_fail_executing", "forced_fail_callback"):
        assert any(c.startswith("ZREM") for v in cmds[n].values() for c in v), (n, cmds[n])


# --- Mutations: the comparison catches a procedure that is wrong ---------------

def load_procedures(env, mutate=None):
    """sql/actions.sql rendered as sql/load.sh renders it (the id
    collation; opn_<name> as opn_<name>_v<version>), changed by mutate
    (old, new), loaded over the routines the pool calls."""
    with open(os.path.join(harness.ROOT, "sql", "actions.sql")) as f:
        text = f.read()
    coll = sql("SELECT collation_name AS c FROM information_schema.columns WHERE table_schema "
               "= DATABASE() AND table_name = 'eri_node' AND column_name = 'node_id'")[0]["c"]
    text = text.replace("@ID_COLLATE@", re.sub(r"^utf8(mb3)?_", "utf8mb4_", coll))
    version = re.search(r"^CREATE FUNCTION opn_schema_version\(\).*?^ *RETURN (\d+);",
                        text, re.M | re.S)
    if version:
        names = set(re.findall(r"^(?:CREATE|DROP) (?:PROCEDURE|FUNCTION) (?:IF EXISTS )?"
                               r"(opn_[a-z_]*)", text, re.M))
        for n in sorted(names):
            text = re.sub(r"\b%s\b" % n, "%s_v%s" % (n, version.group(1)), text)
    if mutate:
        assert text.count(mutate[0]) == 1, mutate[0]
        text = text.replace(*mutate)
    env.db.client(stdin=text.encode(), db=DB)


MUTATIONS = [
    ("skip", "skip_writes_skip_0", ("SET name = 'FINISHED', skip = 1,",
                                    "SET name = 'FINISHED', skip = 0,")),
    ("retry", "message_names_another_process", ("JSON_OBJECT('process_id', v_pid + 0,\n",
                                                "JSON_OBJECT('process_id', v_pid + 1000,\n")),
    ("forced_fail_executing", "log_lines_keep_the_old_version",
     ("UPDATE eri_logentry SET version = v_new_ver", "UPDATE eri_logentry SET version = v_version")),
]


def test_mutations_make_the_comparison_fail(env):
    """A copy of the procedure that writes a wrong field or sends a wrong
    process_id must fail the same scenario that passes with the real one."""
    caught = []
    try:
        for scenario, what, mutate in MUTATIONS:
            load_procedures(env, mutate)
            shape, steps = SCENARIOS[scenario]
            try:
                run_scenario(shape, steps, finish=15)
            except AssertionError as e:
                caught.append((what, " ".join(str(e).splitlines()[:2])[:200]))
                continue
            raise AssertionError("mutation %s passed the %s scenario" % (what, scenario))
    finally:
        load_procedures(env)
    for what, why in caught:
        print("     mutation %s: %s" % (what, why))
    # and the real procedure passes them again
    for scenario, _, _ in MUTATIONS:
        run_scenario(*SCENARIOS[scenario])
