"""The outbox dispatcher against the real engine side: a private RabbitMQ,
a private Redis and a real Celery worker whose stand-in tasks sit at
bamboo's dotted names (tests/engine/) and record every call.

Until the lead's procedures write `opn$outbox`, rows are inserted by hand
(the DDL is sql/schema.sql's); test_e2e_retry_wakes_engine needs the procedures.
"""
import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time

import harness
from harness import Procs, wait_for, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_DIR = os.path.join(HERE, "engine")
PY = "/usr/bin/python3"

EXECUTE = "pipeline.eri.celery.tasks.execute"
SCHEDULE = "pipeline.eri.celery.tasks.schedule"
EXECUTE_ORDER = ["process_id", "node_id", "root_pipeline_id",
                 "parent_pipeline_id", "recover_point", "headers"]
SCHEDULE_ORDER = ["process_id", "node_id", "schedule_id", "callback_data_id",
                  "recover_point", "headers"]
POOL_KEY = "sops_executing_node_pool"
TRUSTED = ("trusted_app", "trusted-app-secret")     # sql/demo.sql
# What bk-sops' workers consume (tests/engine/engine_app.py declares them).
ENGINE_QUEUES = ["er_execute", "er_schedule", "er_execute_api",
                 "er_schedule_api", "er_execute_periodic_task",
                 "er_schedule_periodic_task", "node_auto_retry",
                 "task_callback"]


# --- Row helpers (the few places that touch tables directly) ---------------

def insert_celery(db, name, queue, kwargs, priority=100, countdown=None,
                  exchange="default"):
    """An outbox row as the procedures write it; the kwargs text is stored
    with its keys sorted, as MySQL 8 stores a JSON object."""
    db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
            "priority, body, countdown, request_id, created_time) VALUES "
            "('celery', %s, %s, %s, %s, %s, %s, 'req-dispatch', "
            "UTC_TIMESTAMP(6))", name, exchange, queue, priority,
            json.dumps(kwargs, sort_keys=True), countdown)
    return db.scalar("SELECT LAST_INSERT_ID()")


def insert_redis(db, command, key, args):
    db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
            "priority, body, countdown, request_id, created_time) VALUES "
            "('redis', %s, '', %s, NULL, %s, NULL, 'req-dispatch', "
            "UTC_TIMESTAMP(6))", command, key, json.dumps(args))
    return db.scalar("SELECT LAST_INSERT_ID()")


def dispatched(db, row_id):
    return db.scalar("SELECT dispatched_time IS NOT NULL FROM `opn$outbox` "
                     "WHERE id = %s", row_id) == 1


def undispatched(db):
    return db.scalar("SELECT COUNT(*) FROM `opn$outbox` "
                     "WHERE dispatched_time IS NULL")


def execute_kwargs(node_id, process_id=7, queue="", priority=100,
                   timestamp=1764655200.123456):
    return {"process_id": process_id, "node_id": node_id,
            "root_pipeline_id": "p" + "a" * 31,
            "parent_pipeline_id": "p" + "b" * 31, "recover_point": "{}",
            "headers": {"route_info": {"queue": queue, "priority": priority},
                        "timestamp": timestamp}}


def task_pipeline_ids(db, task_id):
    """The root pipeline of a task (bk-sops' real tables, after the lead's
    rewrite)."""
    return db.scalar("SELECT p.instance_id FROM taskflow3_taskflowinstance t "
                     "JOIN pipeline_pipelineinstance p ON p.id = "
                     "t.pipeline_instance_id WHERE t.id = %s", task_id)


# --- The engine side ----------------------------------------------------------

class RabbitMQ:
    """A private rabbitmq-server as user rabbitmq in its own directory, with
    its own epmd (started first, so the broker does not daemonize one)."""

    def __init__(self, top):
        self.dir = os.path.join(top, "rabbitmq")
        os.makedirs(self.dir, exist_ok=True)
        # mkdtemp's 0700 would keep user rabbitmq out of its own directory.
        os.chmod(top, 0o711)
        self.port = free_port()
        self.node = "opn%d@localhost" % self.port
        self.env = dict(
            PATH="/usr/sbin:/usr/bin:/bin", HOME=self.dir, LANG="C.UTF-8",
            RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()), ERL_EPMD_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
            RABBITMQ_PID_FILE=os.path.join(self.dir, "rabbit.pid"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir, "plugins"),
            RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq.conf"))
        with open(self.env["RABBITMQ_CONFIG_FILE"], "w") as f:
            f.write("listeners.tcp.default = %d\n" % self.port)
        with open(self.env["RABBITMQ_ENABLED_PLUGINS_FILE"], "w") as f:
            f.write("[].\n")
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", self.dir],
                       check=True)
        self.proc = self.epmd = None
        self.url = "amqp://guest:guest@127.0.0.1:%d/" % self.port
        # The pool's form: the password in a file, as db_password_file.
        self.pool_url = "amqp://guest@127.0.0.1:%d/" % self.port
        self.password_file = os.path.join(top, "broker.pw")
        with open(self.password_file, "w") as f:
            f.write("guest\n")
        os.chmod(self.password_file, 0o600)

    def _spawn(self, argv, log):
        return Procs.spawn(argv, os.path.join(self.dir, log), user="rabbitmq",
                           group="rabbitmq", env=self.env, cwd=self.dir)

    def ctl(self, *args, timeout=60):
        return subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n",
                               self.node] + list(args), user="rabbitmq",
                              group="rabbitmq", env=self.env, cwd=self.dir,
                              capture_output=True, text=True, timeout=timeout)

    def start(self):
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = self._spawn(["/usr/bin/epmd", "-port",
                                     self.env["ERL_EPMD_PORT"]], "epmd.log")
        self.proc = self._spawn(["/usr/lib/rabbitmq/bin/rabbitmq-server"],
                                "server.log")
        wait_for(lambda: self.proc.poll() is None and
                 self.ctl("await_startup").returncode == 0, 120,
                 "rabbitmq to start")
        return self

    def kill(self):
        """SIGKILL to the whole broker: what a crash or OOM kill does."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        Procs.live.remove(self.proc)
        self.proc = None

    def stop(self):
        if self.proc is not None:
            self.ctl("stop")
            Procs.stop(self.proc, timeout=60)
            self.proc = None
        if self.epmd is not None:
            Procs.stop(self.epmd)
            self.epmd = None

    def queue_counts(self):
        out = self.ctl("list_queues", "-q", "name", "messages").stdout
        return {l.split()[0]: int(l.split()[1]) for l in out.splitlines()
                if len(l.split()) == 2}


class Redis:
    def __init__(self, top):
        self.dir = os.path.join(top, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.url = "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        self.proc = Procs.spawn(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            os.path.join(self.dir, "redis.log"))
        wait_for(lambda: self.cli("PING") == "PONG", 15, "redis")
        return self

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True,
                              check=True).stdout.strip()

    def stop(self):
        if self.proc is not None:
            Procs.stop(self.proc)
            self.proc = None


class CeleryWorker:
    """A real Celery 5.2 worker (solo pool) on bamboo's queues."""

    def __init__(self, top, broker):
        self.dir = os.path.join(top, "celery")
        os.makedirs(self.dir, exist_ok=True)
        self.record = os.path.join(self.dir, "calls.jsonl")
        self.broker = broker
        self.proc = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=ENGINE_DIR, BROKER_URL=self.broker.url,
                   ENGINE_RECORD=self.record, TZ="Asia/Shanghai")
        self.proc = Procs.spawn(
            [PY, "-m", "celery", "-A", "engine_app", "worker", "--pool=solo",
             "-Q", ",".join(ENGINE_QUEUES), "-l", "info", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n",
             "engine@localhost"], os.path.join(self.dir, "worker.log"),
            env=env, cwd=self.dir)
        wait_for(lambda: "ready." in open(os.path.join(self.dir,
                                                       "worker.log")).read(),
                 60, "the celery worker")
        return self

    def calls(self):
        try:
            with open(self.record) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def by_node(self, node_id):
        return [c for c in self.calls() if c["kwargs"].get("node_id") == node_id]

    def stop(self):
        if self.proc is not None:
            Procs.stop(self.proc)
            self.proc = None


S = {}
GIVE_UP = 5     # the module's dispatch_give_up: parking within the tests


def start_service(env):
    S["service"] = harness.Service(
        env, broker_url=S["rabbit"].pool_url,
        broker_password_file=S["rabbit"].password_file,
        redis_url=S["redis"].url, workers=2, dispatch_give_up=GIVE_UP)


def setup_module(env):
    # The database is the suite's: earlier modules leave outbox rows for
    # queues nobody declared here, which would never drain.
    env.db.reset_demo()
    S["rabbit"] = RabbitMQ(env.top).start()
    S["redis"] = Redis(env.top).start()
    S["worker"] = CeleryWorker(env.top, S["rabbit"]).start()
    start_service(env)


def teardown_module(env):
    for k in ("service", "worker", "redis", "rabbit"):
        if k in S:
            S.pop(k).stop()


def wait_calls(node_id, n=1, timeout=20):
    w = S["worker"]
    wait_for(lambda: len(w.by_node(node_id)) >= n, timeout,
             "the worker to receive %s" % node_id)
    return w.by_node(node_id)


def status():
    r = S["service"].status("/status")
    assert r.status == 200, r
    return r.json


# --- Messages -----------------------------------------------------------------

def test_execute_reaches_the_worker_as_bamboo_sends_it(env):
    kw = execute_kwargs("n_exec_1")
    row = insert_celery(env.db, EXECUTE, "er_execute", kw)
    (call,) = wait_calls("n_exec_1")
    assert call["task"] == EXECUTE
    assert call["args"] == []
    assert call["kwargs"] == kw
    assert call["kwargs_order"] == EXECUTE_ORDER, call["kwargs_order"]
    assert call["routing_key"] == "er_execute"
    assert call["exchange"] == "default"
    assert call["priority"] == 100
    assert call["eta"] is None
    wait_for(lambda: dispatched(env.db, row), 5, "dispatched_time")


def test_schedule_on_a_queue_suffix_with_its_priority(env):
    kw = {"process_id": 9, "node_id": "n_sched_1", "schedule_id": 41,
          "callback_data_id": 5, "recover_point": "{}",
          "headers": {"route_info": {"queue": "api", "priority": 7},
                      "timestamp": 1764655201.5}}
    insert_celery(env.db, SCHEDULE, "er_schedule_api", kw, priority=7)
    (call,) = wait_calls("n_sched_1")
    assert call["task"] == SCHEDULE
    assert call["kwargs"] == kw
    assert call["kwargs_order"] == SCHEDULE_ORDER, call["kwargs_order"]
    assert call["routing_key"] == "er_schedule_api"
    assert call["priority"] == 7


def test_countdown_becomes_an_eta_in_asia_shanghai(env):
    kw = execute_kwargs("n_eta_1")
    t0 = time.time()
    insert_celery(env.db, EXECUTE, "er_execute", kw, countdown=2)
    (call,) = wait_calls("n_eta_1", timeout=30)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+08:00",
                        call["eta"]), call["eta"]
    import datetime
    eta = datetime.datetime.fromisoformat(call["eta"]).timestamp()
    assert abs(eta - (t0 + 2)) < 1.5, (eta, t0)
    assert time.time() >= eta - 0.05   # the worker held it until then


def test_redis_zrem_takes_the_node_out_of_the_timeout_pool(env):
    r = S["redis"]
    r.cli("ZADD", POOL_KEY, "1764655300", "n_skip_1_3")
    r.cli("ZADD", POOL_KEY, "1764655300", "n_other_1")
    row = insert_redis(env.db, "ZREM", POOL_KEY, ["n_skip_1_3"])
    wait_for(lambda: dispatched(env.db, row), 10, "the redis row")
    assert r.cli("ZSCORE", POOL_KEY, "n_skip_1_3") == ""
    assert r.cli("ZSCORE", POOL_KEY, "n_other_1") == "1764655300"


def test_redis_zadd_nx_puts_a_node_back_only_if_absent(env):
    r = S["redis"]
    r.cli("ZADD", POOL_KEY, "100", "n_res_kept_2")
    a = insert_redis(env.db, "ZADD", POOL_KEY, ["NX", 1764655300.5,
                                                "n_res_new_2"])
    b = insert_redis(env.db, "ZADD", POOL_KEY, ["NX", 1764655300.5,
                                                "n_res_kept_2"])
    wait_for(lambda: dispatched(env.db, a) and dispatched(env.db, b), 10,
             "the redis rows")
    assert r.cli("ZSCORE", POOL_KEY, "n_res_new_2") == "1764655300.5"
    assert r.cli("ZSCORE", POOL_KEY, "n_res_kept_2") == "100"


def test_non_ascii_and_quotes_survive_as_python_would_send_them(env):
    kw = execute_kwargs("n_\u8282\u70b9'\"\\x")
    kw["root_pipeline_id"] = "p\U0001F600 tab\there"
    insert_celery(env.db, EXECUTE, "er_execute", kw)
    (call,) = wait_calls(kw["node_id"])
    assert call["kwargs"] == kw


def _capture_queue(rabbit, name):
    import amqp
    c = amqp.Connection("127.0.0.1:%d" % rabbit.port, userid="guest",
                        password="guest")
    c.connect()
    ch = c.channel()
    ch.exchange_declare("default", "direct", durable=True, auto_delete=False)
    ch.queue_declare(name, durable=True, auto_delete=False,
                     arguments={"x-max-priority": 255})
    ch.queue_bind(name, "default", name)
    return c, ch


def _get(ch, name, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = ch.basic_get(name, no_ack=True)
        if m is not None:
            return m
        time.sleep(0.05)
    raise AssertionError("no message on " + name)


WIRE_CASES = [
    # (task, kwargs, priority, countdown, the task's ignore_result)
    (EXECUTE, dict(execute_kwargs("n_cmp_\u00e9", process_id=123456,
                                  queue="cmp"), recover_point="{}"),
     100, None, True),
    (SCHEDULE, {"process_id": 5, "node_id": "n_cmp_s", "schedule_id": 77,
                "callback_data_id": None, "recover_point": "{}",
                "headers": {"route_info": {"queue": "", "priority": 100},
                            "timestamp": 1764655200.25}}, 100, None, True),
    ("gcloud.taskflow3.celery.tasks.auto_retry_node",
     {"taskflow_id": 12, "root_pipeline_id": "pipe12", "node_id": "n_cmp_a",
      "retry_times": 0, "engine_ver": 2}, None, 3, False),
    ("gcloud.taskflow3.celery.tasks.task_callback",
     {"task_id": 12, "task_success": False}, None, None, False),
    ("gcloud.taskflow3.celery.tasks.send_taskflow_message",
     {"task_id": 12, "msg_type": "atom_failed",
      "node_name": "\u8282\u70b9 'x'"}, None, None, False),
]


def test_wire_bytes_match_celery_5_2(env):
    """The same apply_async published by Celery itself and by the
    dispatcher, for bamboo's tasks and bk-sops' own: same properties, same
    headers in the same order, same body bytes; only the task ids, origin
    and reply_to (per process) differ, and the eta by the moment each was
    computed (Celery: at publish; the dispatcher: the row's created_time)."""
    from celery import Celery
    from kombu import Exchange, Queue
    q = "er_execute_cmp"
    conn, ch = _capture_queue(S["rabbit"], q)
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"     # bk-sops' hosts; Celery's now()
    time.tzset()                           # is naive local time
    try:
        app = Celery("bksops", broker=S["rabbit"].url, set_as_current=False)
        app.conf.update(task_queues=[Queue(q, Exchange("default", "direct"),
                                           routing_key=q, max_priority=255)],
                        task_serializer="json", timezone="Asia/Shanghai",
                        enable_utc=False)
        for name, kw, prio, countdown, ignore in WIRE_CASES:
            def fn(**kwargs):
                pass
            task = app.task(name=name, ignore_result=ignore)(fn)
            opts = dict(queue=q, routing_key=q)
            if prio is not None:
                opts["priority"] = prio
            if countdown:
                opts["countdown"] = countdown
            task.apply_async(kwargs=kw, **opts)
            theirs = _get(ch, q)
            insert_celery(env.db, name, q, kw, priority=prio,
                          countdown=countdown)
            ours = _get(ch, q)
            compare_messages(name, theirs, ours, q)
        app.close()
    finally:
        if old_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
        ch.queue_delete(q)
        conn.close()


def compare_messages(name, theirs, ours, q):
    import datetime
    skip = {"correlation_id", "reply_to", "application_headers",
            "delivery_info"}
    tp = {k: v for k, v in theirs.properties.items() if k not in skip}
    op = {k: v for k, v in ours.properties.items() if k not in skip}
    assert tp == op, (name, tp, op)
    assert ours.properties["reply_to"]
    th, oh = dict(theirs.headers), dict(ours.headers)
    assert list(th) == list(oh), (name, list(th), list(oh))
    assert oh["id"] == oh["root_id"] == ours.properties["correlation_id"]
    assert re.fullmatch(r"gen\d+@.+", oh["origin"]), oh["origin"]
    for k in ("id", "root_id", "origin"):
        th.pop(k), oh.pop(k)
    if th["eta"] is not None:
        te = datetime.datetime.fromisoformat(th.pop("eta"))
        oe = datetime.datetime.fromisoformat(oh.pop("eta"))
        assert te.utcoffset() == oe.utcoffset() == datetime.timedelta(hours=8)
        assert abs((te - oe).total_seconds()) < 2, (te, oe)
    assert th == oh, (name, th, oh)
    assert theirs.body == ours.body, (name, theirs.body, ours.body)
    assert theirs.delivery_info["routing_key"] == \
        ours.delivery_info["routing_key"] == q
    # Celery 5.2 sends a direct route to the default exchange; the row
    # names bk-sops' 'default', to which the queue is bound: same queue.
    assert theirs.delivery_info["exchange"] == ""
    assert ours.delivery_info["exchange"] == "default"


REPR_CASES = [
    ("long", "x " * 700 + "'quoted'", None),
    ("floats", "{}", [0.1, 1e16, 1e-05, 123456789.12345679, 5e-324, -0.0,
                      1.5e300, 100.0, 2.5e-7, True, None, "\u00e9\n"]),
    ("deep", "{}", {"a": {"b": {"c": [1, {"d": 2}]}}, "z": "y" * 2000}),
]


def test_body_and_kwargsrepr_are_what_python_writes(env):
    """For odd values (long strings cut by saferepr, floats in every
    notation, nesting past saferepr's 3 levels) the body is json.dumps' and
    kwargsrepr is celery.utils.saferepr's, byte for byte."""
    from celery.utils.saferepr import saferepr
    q = "er_execute_repr"
    conn, ch = _capture_queue(S["rabbit"], q)
    try:
        for name, rp, extra in REPR_CASES:
            kw = execute_kwargs("n_repr_" + name)
            kw["recover_point"] = rp
            if extra is not None:
                kw["extra"] = extra
            insert_celery(env.db, EXECUTE, q, kw)
            m = _get(ch, q)
            ordered = {k: kw[k] for k in EXECUTE_ORDER + ["extra"] if k in kw}
            assert m.headers["kwargsrepr"] == saferepr(ordered, 1024), \
                (name, m.headers["kwargsrepr"], saferepr(ordered, 1024))
            assert m.headers["argsrepr"] == saferepr((), 1024)
            want = json.dumps([[], ordered, {"callbacks": None, "errbacks":
                               None, "chain": None, "chord": None}])
            body = m.body if isinstance(m.body, bytes) else m.body.encode()
            assert body == want.encode(), (name, body, want)
    finally:
        ch.queue_delete(q)
        conn.close()


# --- Operations ------------------------------------------------------------------

def test_status_and_metrics_show_the_dispatcher_and_the_backlog(env):
    wait_for(lambda: undispatched(env.db) == 0, 10, "an empty outbox")
    time.sleep(1.2)     # the backlog is measured at most once a second
    d = status()["dispatcher"]
    assert d["state"] == "running", d
    assert d["backlog"] == 0 and d["oldest_seconds"] == 0, d
    assert d["published"] >= 3, d
    m = S["service"].status("/metrics").raw.decode()
    assert "operate_node_outbox_backlog 0\n" in m
    assert "operate_node_dispatcher_up 1\n" in m
    assert re.search(r'operate_node_outbox_sent_total\{kind="redis"\} [1-9]', m)


def test_unroutable_row_waits_and_shows_its_age(env):
    """No queue bound for the routing key: the broker returns the message
    (mandatory), the row stays undispatched, /status shows its age; once a
    queue is bound, it goes out."""
    kw = execute_kwargs("n_unbound")
    row = insert_celery(env.db, EXECUTE, "er_execute_nobody", kw)
    time.sleep(2.5)
    assert not dispatched(env.db, row)
    d = status()["dispatcher"]
    assert d["backlog"] >= 1 and d["oldest_seconds"] >= 1, d
    assert "returned" in d["last_error"], d
    conn, ch = _capture_queue(S["rabbit"], "er_execute_nobody")
    try:
        wait_for(lambda: dispatched(env.db, row), 15, "the row after binding")
        m = _get(ch, "er_execute_nobody")
        assert json.loads(m.body)[1]["node_id"] == "n_unbound"
    finally:
        ch.queue_delete("er_execute_nobody")
        conn.close()


def test_worker_action_wakes_the_dispatcher_at_once(env):
    """A committed action pokes the dispatcher: a row inserted just before a
    successful request goes out well before the 1 s poll would send it."""
    svc = S["service"]
    lat = []
    for i in range(5):
        env.db.reset_demo()
        node = "n_wake_%d" % i
        insert_celery(env.db, EXECUTE, "er_execute", execute_kwargs(node))
        t0 = time.monotonic()
        r = svc.post("/operate_node/2/12/", {
            "bk_app_code": TRUSTED[0], "bk_app_secret": TRUSTED[1],
            "bk_username": "admin", "node_id": "act_failed",
            "action": "retry"})
        assert r.json["result"] is True, r
        wait_calls(node, timeout=5)
        lat.append(time.monotonic() - t0)
    print("     wake-up: commit to Celery worker %s ms" %
          ", ".join("%.0f" % (x * 1000) for x in lat))
    assert max(lat) < 0.5, lat


# --- Faults ----------------------------------------------------------------------

class Stream:
    """Inserts execute rows with unique node ids from a thread."""

    def __init__(self, env, prefix, n, every=0.02):
        self.env, self.prefix, self.n, self.every = env, prefix, n, every
        self.nodes = []
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        import pymysql
        c = pymysql.connect(unix_socket=self.env.db.sock, user="root",
                            database=harness.DBNAME, autocommit=True)
        for i in range(self.n):
            node = "%s_%d" % (self.prefix, i)
            for _ in range(200):
                try:
                    with c.cursor() as cur:
                        cur.execute(
                            "INSERT INTO `opn$outbox` (kind, name, exchange, "
                            "routing_key, priority, body, request_id, "
                            "created_time) VALUES ('celery', %s, 'default', "
                            "'er_execute', 100, %s, 'req-stream', "
                            "UTC_TIMESTAMP(6))",
                            (EXECUTE, json.dumps(execute_kwargs(node))))
                    break
                except pymysql.err.MySQLError:
                    time.sleep(0.1)
                    try:
                        c = pymysql.connect(unix_socket=self.env.db.sock,
                                            user="root",
                                            database=harness.DBNAME,
                                            autocommit=True)
                    except Exception:
                        pass
            self.nodes.append(node)
            time.sleep(self.every)

    def start(self):
        self.t.start()
        return self

    def join(self):
        self.t.join(120)


def check_stream(env, s, what, timeout=90):
    """Every row reached the worker at least once and ends dispatched;
    returns the number of duplicates (printed for the report)."""
    w = S["worker"]
    def all_in():
        got = {c["kwargs"]["node_id"] for c in w.calls()}
        return all(n in got for n in s.nodes)
    wait_for(all_in, timeout, "every %s row at the worker" % what)
    wait_for(lambda: undispatched(env.db) == 0, timeout, "an empty outbox")
    counts = {}
    for c in w.calls():
        n = c["kwargs"]["node_id"]
        if n.startswith(s.prefix + "_"):
            counts[n] = counts.get(n, 0) + 1
    dups = sum(v - 1 for v in counts.values())
    print("     %s: %d rows, %d duplicates" % (what, len(s.nodes), dups))
    return dups


def test_broker_killed_and_restarted_under_load(env):
    s = Stream(env, "n_brk", 300).start()
    time.sleep(1.5)
    S["rabbit"].kill()
    time.sleep(1.0)
    S["rabbit"].start()
    s.join()
    check_stream(env, s, "broker kill")


def test_dispatcher_sigkill_under_load(env):
    before = status()["dispatcher"]
    s = Stream(env, "n_dk", 200).start()
    for _ in range(3):
        time.sleep(1.0)
        os.kill(status()["dispatcher"]["pid"], signal.SIGKILL)
    s.join()
    check_stream(env, s, "dispatcher SIGKILL")
    after = status()["dispatcher"]
    assert after["starts"] >= before["starts"] + 3, (before, after)
    assert after["restarts"] >= before["restarts"] + 3, (before, after)


def test_database_stopped_and_started_under_load(env):
    s = Stream(env, "n_db", 200).start()
    time.sleep(1.5)
    env.db.stop()
    time.sleep(2.0)
    env.db.start()
    s.join()
    check_stream(env, s, "database restart")
    assert status()["dispatcher"]["state"] == "running"


def test_two_pools_share_the_outbox_without_duplicates(env):
    """A second pool's dispatcher on the same database: SKIP LOCKED hands
    each row to one of them; with no fault, no row is sent twice."""
    other = harness.Pool(env, name="pool2", broker_url=S["rabbit"].pool_url,
                         broker_password_file=S["rabbit"].password_file,
                         redis_url=S["redis"].url, workers=1).start()
    try:
        s = Stream(env, "n_two", 300, every=0.005).start()
        time.sleep(0.5)
        other.proc.send_signal(signal.SIGHUP)   # a reload: a new dispatcher
        s.join()
        assert check_stream(env, s, "two dispatchers") == 0
        # SIGTERM: the dispatcher ends its batch and the master exits 0.
        other.proc.send_signal(signal.SIGTERM)
        assert other.proc.wait(20) == 0
        msgs = [l.get("msg", "") for l in other.log_lines()]
        assert msgs.count("dispatcher started (batch 100)") == 2, msgs
        assert msgs.count("dispatcher stopped") == 2, msgs
    finally:
        other.stop()


def test_broker_declare_yes_declares_what_celery_declares(env):
    """broker_declare = yes: the queue a row names is declared as bamboo's
    (durable, x-max-priority 255, bound to 'default' by its name) and the
    row goes out; without it such a row waits (the test above)."""
    q = "er_execute_declared"
    with alone(env, "pool3", broker_declare="yes"):
        row = insert_celery(env.db, EXECUTE, q, execute_kwargs("n_declared"))
        wait_for(lambda: dispatched(env.db, row), 20, "the declared row")
    out = S["rabbit"].ctl("list_queues", "-q", "name", "durable",
                          "arguments").stdout
    line = [l for l in out.splitlines() if l.startswith(q + "\t")]
    assert line and "true" in line[0] and "x-max-priority" in line[0] \
        and "255" in line[0], out
    conn, ch = _capture_queue(S["rabbit"], q)   # same arguments: no 406
    try:
        m = _get(ch, q)
        assert json.loads(m.body)[1]["node_id"] == "n_declared"
    finally:
        ch.queue_delete(q)
        conn.close()


# --- Config -----------------------------------------------------------------------

def _check(env, name, mode=0o600, pwfile_mode=None, **conf):
    d = os.path.join(env.top, "cfg-" + name)
    os.makedirs(d, exist_ok=True)
    if pwfile_mode is not None:
        pw = os.path.join(d, "broker.pw")
        with open(pw, "w") as f:
            f.write("secret\n")
        os.chmod(pw, pwfile_mode)
        conf["broker_password_file"] = pw
    path = harness.pool_config(os.path.join(d, "operate-node.conf"), **conf)
    os.chmod(path, mode)
    return subprocess.run([os.path.join(harness.BUILD, "operate-node"), "-t",
                           "-c", path], capture_output=True, text=True)


def test_config_check_of_the_dispatcher_keys(env):
    ok = _check(env, "ok", broker_url="amqp://guest@127.0.0.1:5672/sops",
                pwfile_mode=0o640, redis_url="redis://127.0.0.1:6379/2",
                dispatch_batch=50)
    assert ok.returncode == 0, ok.stderr
    bad = _check(env, "bad", broker_url="http://127.0.0.1/")
    assert bad.returncode == 1 and "broker_url" in bad.stderr, bad.stderr
    port = _check(env, "port", broker_url="amqp://u:p@h:99999/")
    assert port.returncode == 1 and "broker_url" in port.stderr
    open_pw = _check(env, "openpw", mode=0o644,
                     broker_url="amqp://u:secret@127.0.0.1/")
    assert open_pw.returncode == 1 and "readable by others" in open_pw.stderr
    open_file = _check(env, "openfile", broker_url="amqp://u@127.0.0.1/",
                       pwfile_mode=0o644)
    assert open_file.returncode == 1 and "broker_password_file" in \
        open_file.stderr
    batch = _check(env, "batch", broker_url="amqp://u@h/", dispatch_batch=0)
    assert batch.returncode == 1 and "dispatch_batch" in batch.stderr
    tz = _check(env, "tz", celery_timezone="Asia/Nowhere")
    assert tz.returncode == 1 and "celery_timezone" in tz.stderr, tz.stderr


# --- End to end (needs the lead's procedures writing `opn$outbox`) -------

def test_e2e_retry_wakes_engine(env):
    """A retry of act_failed in task 12 through nginx: within a second the
    Celery worker runs pipeline.eri.celery.tasks.execute for that node, with
    its process, root and parent pipeline."""
    env.db.reset_demo()
    seen = len(S["worker"].by_node("act_failed"))
    t0 = time.monotonic()
    r = S["service"].post("/operate_node/2/12/", {
        "bk_app_code": TRUSTED[0], "bk_app_secret": TRUSTED[1],
        "bk_username": "admin", "node_id": "act_failed", "action": "retry"})
    assert r.json["result"] is True, r
    calls = wait_calls("act_failed", seen + 1, timeout=5)
    took = time.monotonic() - t0
    call = calls[-1]
    assert call["task"] == EXECUTE
    assert call["kwargs_order"] == EXECUTE_ORDER
    assert call["routing_key"].startswith("er_execute")
    assert isinstance(call["kwargs"]["process_id"], int)
    assert call["kwargs"]["root_pipeline_id"] == task_pipeline_ids(env.db, 12)
    assert call["kwargs"]["parent_pipeline_id"]
    assert took < 1.0, took



# --- One row never holds the others (issue 21) -----------------------------------

def row(db, row_id):
    """(attempts, last_error, parked, dispatched, task_id) of a row."""
    r = db.one("SELECT attempts AS a, COALESCE(last_error, '') AS e, "
               "parked_time IS NOT NULL AS p, dispatched_time IS NOT NULL AS d, "
               "task_id AS t FROM `opn$outbox` WHERE id = %s", row_id)
    return (r["a"], r["e"], r["p"], r["d"], r["t"])


def parked(db, row_id):
    return row(db, row_id)[2] == 1


def admin(*args):
    return subprocess.run([os.path.join(harness.BUILD, "operate-node-admin"),
                           "-c", S["service"].pool.conf] + list(args),
                          capture_output=True, text=True)


def metric(name):
    m = S["service"].status("/metrics").raw.decode()
    found = re.search(r"^%s (\d+)$" % re.escape(name), m, re.M)
    return int(found.group(1)) if found else None


@contextlib.contextmanager
def alone(env, name, **conf):
    """Another pool's dispatcher alone on the outbox: the module's service
    is stopped meanwhile, so that it cannot send the rows instead."""
    S["service"].stop()
    other = harness.Pool(env, name=name, broker_url=S["rabbit"].pool_url,
                         broker_password_file=S["rabbit"].password_file,
                         redis_url=S["redis"].url, workers=1, **conf)
    web = None
    try:
        other.start()
        web = harness.Nginx(env, other, name="nginx_" + name).start()
        other.web = web
        yield other
    finally:
        if web is not None:
            web.stop()
        other.stop()
        start_service(env)


def test_redis_down_engine_rows_still_flow(env):
    """Redis stopped: 250 ZREM rows (more than a batch) stand first in the
    outbox, then execute rows of 20 processes; each execute reaches the
    worker within seconds while the ZREM rows wait, and after
    dispatch_give_up they are given up (dispatched, with why), counted."""
    wait_for(lambda: undispatched(env.db) == 0, 20, "an empty outbox")
    before = metric("operate_node_outbox_given_up_total") or 0
    S["redis"].stop()
    try:
        t_zrem = time.monotonic()
        zrems = [insert_redis(env.db, "ZREM", POOL_KEY, ["n_rdown_%d_1" % i])
                 for i in range(250)]
        t0 = time.monotonic()
        nodes = ["n_rdown_%d" % i for i in range(20)]
        for i, node in enumerate(nodes):
            insert_celery(env.db, EXECUTE, "er_execute",
                          execute_kwargs(node, process_id=1000 + i))
        for node in nodes:
            wait_calls(node, timeout=max(0.5, 5 - (time.monotonic() - t0)))
        took = time.monotonic() - t0
        print("     redis down: 20 executes behind 250 ZREMs in %.0f ms"
              % (took * 1000))
        assert not dispatched(env.db, zrems[0]) or \
            time.monotonic() - t_zrem >= GIVE_UP
        wait_for(lambda: all(dispatched(env.db, z) for z in zrems),
                 GIVE_UP + 30, "the ZREM rows given up")
        attempts, why, _, _, task_id = row(env.db, zrems[-1])
        assert "redis" in why and task_id is None, why
        wait_for(lambda: (metric("operate_node_outbox_given_up_total") or 0)
                 >= before + 250, 5, "given_up_total")
    finally:
        S["redis"].start()
    # Back: ZREM rows run again.
    S["redis"].cli("ZADD", POOL_KEY, "1", "n_rback_1")
    z = insert_redis(env.db, "ZREM", POOL_KEY, ["n_rback_1"])
    wait_for(lambda: dispatched(env.db, z), 15, "a ZREM after Redis is back")
    assert S["redis"].cli("ZSCORE", POOL_KEY, "n_rback_1") == ""


def test_returned_row_steps_aside_keeping_its_process_order(env):
    """A row for a queue nobody bound comes back (mandatory): it is put off
    with attempts and last_error on the row; a row of another process goes
    out at once; the next row of its own process waits behind it and goes
    out after it once the queue is bound."""
    q = "er_execute_nobody_po"
    a = insert_celery(env.db, EXECUTE, q, execute_kwargs("n_po_a", 601))
    b = insert_celery(env.db, EXECUTE, "er_execute",
                      execute_kwargs("n_po_b", 601))
    insert_celery(env.db, EXECUTE, "er_execute", execute_kwargs("n_po_c", 602))
    wait_calls("n_po_c", timeout=3)
    wait_for(lambda: row(env.db, a)[0] >= 1, 5, "a's first attempt")
    time.sleep(0.5)
    assert not S["worker"].by_node("n_po_b"), "b overtook a of its process"
    attempts, why, is_parked, done, _ = row(env.db, a)
    assert "returned" in why and q in why and not done, why
    assert "waiting behind row %d" % a in row(env.db, b)[1], row(env.db, b)
    conn, ch = _capture_queue(S["rabbit"], q)
    try:
        wait_for(lambda: dispatched(env.db, a), 15, "a once its queue is bound")
        assert json.loads(_get(ch, q).body)[1]["node_id"] == "n_po_a"
        wait_calls("n_po_b", timeout=10)
        assert env.db.scalar(
            "SELECT a.dispatched_time <= b.dispatched_time FROM `opn$outbox` a "
            "JOIN `opn$outbox` b ON b.id = %s WHERE a.id = %s", b, a) == 1
        assert row(env.db, a)[4] and len(row(env.db, a)[4]) == 36  # task id
    finally:
        ch.queue_delete(q)
        conn.close()


def test_parked_rows_are_listed_and_sent_again_with_the_admin_tool(env):
    """A row returned for longer than dispatch_give_up is parked, as are a
    body that is no JSON and an unknown kind at once; rows behind them go
    out; /status and /metrics count them; `outbox list` shows them and
    `outbox retry ID` sends one again."""
    q = "er_execute_nobody_park"
    a = insert_celery(env.db, EXECUTE, q, execute_kwargs("n_park", 701))
    env.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, "
                      "routing_key, priority, body, request_id, created_time) "
                      "VALUES ('celery', %s, 'default', 'er_execute', 100, "
                      "'not json', 'req-bad', UTC_TIMESTAMP(6))", EXECUTE)
    bad = env.db.scalar("SELECT MAX(id) FROM `opn$outbox` WHERE request_id = "
                        "'req-bad'")
    env.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "body, request_id, created_time) VALUES ('smtp', 'x', '', "
                "'x', '[]', 'req-odd', UTC_TIMESTAMP(6))")
    odd = env.db.scalar("SELECT MAX(id) FROM `opn$outbox` WHERE request_id = "
                        "'req-odd'")
    insert_celery(env.db, EXECUTE, "er_execute", execute_kwargs("n_park_ok", 702))
    wait_calls("n_park_ok", timeout=3)
    wait_for(lambda: parked(env.db, bad) and parked(env.db, odd), 5,
             "bad body and unknown kind parked")
    wait_for(lambda: parked(env.db, a), GIVE_UP + 20, "the returned row parked")
    time.sleep(1.2)     # the counts are measured once a second
    d = status()["dispatcher"]
    assert d["parked"] >= 3 and d["rejected"] >= 3, d
    assert metric("operate_node_outbox_parked") >= 3
    assert metric("operate_node_outbox_parked_total") >= 3
    p = admin("outbox", "list")
    assert p.returncode == 0, p.stderr
    lines = {int(l.split("\t")[0]): l.split("\t") for l in
             p.stdout.splitlines()[1:]}
    assert p.stdout.startswith("id\tstate\tkind\tname\trouting_key\tattempts")
    assert lines[a][1] == "parked" and lines[a][4] == q, lines[a]
    assert "returned" in lines[a][7], lines[a]
    assert lines[odd][1] == "parked" and "unknown kind" in lines[odd][7]
    assert lines[bad][1] == "parked" and lines[bad][7], lines[bad]
    conn, ch = _capture_queue(S["rabbit"], q)
    try:
        p = admin("outbox", "retry", str(a))
        assert p.returncode == 0, p.stderr
        wait_for(lambda: dispatched(env.db, a), 10, "the retried row")
        assert json.loads(_get(ch, q).body)[1]["node_id"] == "n_park"
    finally:
        ch.queue_delete(q)
        conn.close()
    p = admin("outbox", "retry", str(a))
    assert p.returncode == 1 and "no undispatched outbox row" in p.stderr
    assert admin("outbox", "retry", "x").returncode == 2
    # Leave nothing parked for the tests after.
    env.db.exec("UPDATE `opn$outbox` SET dispatched_time = UTC_TIMESTAMP(6) "
                "WHERE id IN (%s, %s)", bad, odd)


def _declare_plain(rabbit, name):
    """A queue as bk-sops declares 'default': durable, no arguments."""
    import amqp
    c = amqp.Connection("127.0.0.1:%d" % rabbit.port, userid="guest",
                        password="guest")
    c.connect()
    ch = c.channel()
    ch.exchange_declare("default", "direct", durable=True, auto_delete=False)
    ch.queue_declare(name, durable=True, auto_delete=False)
    ch.queue_bind(name, "default", name)
    return c, ch


def test_broker_declare_yes_with_bk_sops_default_queue(env):
    """broker_declare = yes on a broker where bk-sops declared 'default'
    (no x-max-priority): send_taskflow_message goes to it; a queue a site
    declared with other arguments is reported once by name, used as it is,
    and holds no other row."""
    conn, ch = _declare_plain(S["rabbit"], "default")
    ch.queue_purge("default")
    _declare_plain(S["rabbit"], "er_execute_odd")
    try:
        with alone(env, "pool_decl", broker_declare="yes") as other:
            m = insert_celery(env.db, "gcloud.taskflow3.celery.tasks."
                              "send_taskflow_message", "default",
                              {"task_id": 12, "msg_type": "atom_failed",
                               "node_name": "n"}, priority=None)
            odd = [insert_celery(env.db, EXECUTE, "er_execute_odd",
                                 execute_kwargs("n_odd_%d" % i, 800 + i))
                   for i in range(3)]
            insert_celery(env.db, EXECUTE, "er_execute",
                          execute_kwargs("n_decl_ok", 810))
            wait_calls("n_decl_ok", timeout=5)
            wait_for(lambda: dispatched(env.db, m), 5, "the default row")
            for r in odd:
                wait_for(lambda: dispatched(env.db, r), 5, "er_execute_odd rows")
            got = _get(ch, "default")
            assert json.loads(got.body)[1]["msg_type"] == "atom_failed"
            msgs = [l.get("msg", "") for l in other.log_lines()]
            refusals = [x for x in msgs if "er_execute_odd" in x and
                        "not declared" in x]
            assert len(refusals) == 1, msgs
            assert not [x for x in msgs if "queue default" in x], msgs
        out = S["rabbit"].ctl("list_queues", "-q", "name", "arguments").stdout
        line = [l for l in out.splitlines() if l.startswith("default\t")]
        assert line and "x-max-priority" not in line[0], out
    finally:
        ch.queue_delete("er_execute_odd")
        ch.queue_delete("default")
        conn.close()


def test_retention_deletes_old_rows_in_batches(env):
    """Dispatched outbox rows older than outbox_retention_days and replay
    records older than replay_retention_days are deleted at start, in
    batches; younger and undispatched ones stay; /metrics counts them."""
    env.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "body, request_id, created_time, dispatched_time) "
                "SELECT 'redis', 'ZREM', '', 'k', '[]', 'req-old', "
                "UTC_TIMESTAMP(6) - INTERVAL 10 DAY, UTC_TIMESTAMP(6) - "
                "INTERVAL 10 DAY FROM seq_1_to_1200")
    env.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "body, request_id, created_time, dispatched_time) VALUES "
                "('redis', 'ZREM', '', 'k', '[]', 'req-young', "
                "UTC_TIMESTAMP(6) - INTERVAL 1 DAY, UTC_TIMESTAMP(6) - "
                "INTERVAL 1 DAY)")
    env.db.exec("INSERT INTO `opn$replay` (app_code, request_id, action, "
                "task_id, node_id, created_time) SELECT 'ret_app', "
                "CONCAT('old-', seq), 'retry', 1, 'n', UTC_TIMESTAMP(6) - "
                "INTERVAL 30 DAY FROM seq_1_to_700")
    env.db.exec("INSERT INTO `opn$replay` (app_code, request_id, action, "
                "task_id, node_id, created_time) VALUES ('ret_app', 'young', "
                "'retry', 1, 'n', UTC_TIMESTAMP(6) - INTERVAL 1 DAY)")
    with alone(env, "pool_purge", outbox_retention_days=2,
               replay_retention_days=7) as other:
        wait_for(lambda: env.db.scalar(
            "SELECT COUNT(*) FROM `opn$outbox` WHERE request_id = 'req-old'")
            == 0, 20, "old outbox rows deleted")
        wait_for(lambda: env.db.scalar(
            "SELECT COUNT(*) FROM `opn$replay` WHERE app_code = 'ret_app' "
            "AND request_id LIKE 'old-%%'") == 0, 20, "old replays deleted")
        wait_for(lambda: other.web.status("/status").json["dispatcher"]
                 ["outbox_rows"] >= 0, 10, "the table sizes")
        st = other.web.status("/status").json["dispatcher"]
        assert st["purged_outbox"] >= 1200 and st["purged_replay"] >= 700, st
        m = other.web.status("/metrics").raw.decode()
        assert re.search(r'operate_node_purged_total\{table="opn\$outbox"\} '
                         r'\d{4}', m), m
        assert 'operate_node_table_rows{table="opn$replay"}' in m, m
    assert env.db.scalar("SELECT COUNT(*) FROM `opn$outbox` WHERE request_id "
                         "= 'req-young'") == 1
    assert env.db.scalar("SELECT COUNT(*) FROM `opn$replay` WHERE request_id "
                         "= 'young'") == 1
    env.db.exec("DELETE FROM `opn$outbox` WHERE request_id = 'req-young'")
    env.db.exec("DELETE FROM `opn$replay` WHERE app_code = 'ret_app'")
