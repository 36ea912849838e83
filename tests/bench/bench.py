"""make bench: throughput and latency of operate-node on this machine, with
a private MariaDB, the pool and nginx from tests/harness.py (stopped at the
end, also on failure or Ctrl-C). Prints a report and writes it as JSON to
results/bench-<timestamp>.json.

Workloads, each BENCH_SECONDS at each of BENCH_CONNS connections, BENCH_RUNS
times (the median counts), interleaved so that drift hits all alike:
  a  success mix through nginx (success.lua): every request a real action on
     a node of its own; every reply checked
  b  the database-only ceiling: the same two round trips straight on
     MariaDB (dbdriver.c)
  b2 a design-independent ceiling: the same actions as the minimal plain
     SQL statements a careful client would send, one transaction per
     action, no procedure (dbdriver.c -m plain; what it leaves out is
     said there)
  b3 the two-round-trip floor (issue 26): b2's statements in two round
     trips per action, the reads (FOR UPDATE) in one multi-statement, the
     checks in the client, then the writes and COMMIT in another
     (dbdriver.c -m floor; what it leaves out is said there)
  c  reject path: a body with a duplicate key through nginx (reject.lua)
  d  transport floor: a bare libfcgi pool (hello.c) behind the same nginx
  e  a again once the tables hold BENCH_SCALE_NODES nodes
  t  the tail: a at the most connections for BENCH_TAIL_SECONDS right after
     the pool starts on a freshly seeded database, right after a reset of
     the tables (sql/demo.sql, then the seed), and beside a CPU-bound
     sha256sum; a probe samples the server during each

For a, b, b2 and b3 the report gives MariaDB's CPU per successful action
(mariadbd's utime + stime from /proc over the run) and the statements per
action the server counted (the sum of its Com_* counters, which count the
statements inside procedures too; Queries adds their SET/IF steps).

Settings (environment): BENCH_SECONDS (10), BENCH_CONNS ("16 64"),
BENCH_RUNS (3), BENCH_WORKERS (the service's default: 4 per CPU, at most 32), BENCH_TASKS (1000: the tasks the nodes
are spread over; each action locks its task row, so concurrent requests
must hit different tasks), BENCH_SCALE_NODES (1000000), BENCH_RATE (req/s
guessed before the first run, to size its seed: 3000), BENCH_WARMUP
(seconds, 2), BENCH_ONLY (e.g. "a b2 b3": a subset of a b b2 b3 c d e t o),
BENCH_TAIL_SECONDS (20), BENCH_PERF (1:
a perf profile of the whole machine during the last run of a at the most
connections), BENCH_KEEP (1: keep the temporary folder with the logs),
BENCH_BUFFER_POOL (MiB: MariaDB's buffer pool; default 4096, so that the
1M-node tables of e fit in memory as a production server's working set
does; 0 keeps the harness's 256 MiB to see what tables larger than memory
cost), BENCH_AHI (1, the default: innodb_adaptive_hash_index on, which
MariaDB 10.11 ships off; it turns the point lookups by id on big B-trees
into hash probes).

The slot map (success.lua and dbdriver.c build the same): slot s is node
n<hash(s)>b<s> of task TASK_BASE + s % BENCH_TASKS, its action the
(s % 10)th of KINDS. Slots are handed out in increasing order and never
twice; a run that reaches the end of the seeded ones fails. Each run of a
or b gets its nodes seeded right before it (room for twice the best rate
yet), e's are seeded with the scale filler; every run of a, b and e starts
after a flush of InnoDB's dirty pages.
"""
import collections
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
import pymysql  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name, default))


SECONDS = env_int("BENCH_SECONDS", 10)
CONNS = [int(c) for c in os.environ.get("BENCH_CONNS", "16 64").split()]
RUNS = env_int("BENCH_RUNS", 3)
# the service's own default (workers = 0): four per CPU, at most 32
WORKERS = env_int("BENCH_WORKERS", min(32, 4 * (os.cpu_count() or 1)))
TASKS = env_int("BENCH_TASKS", 1000)
SCALE_NODES = env_int("BENCH_SCALE_NODES", 1000000)
RATE = env_int("BENCH_RATE", 3000)
WARMUP = env_int("BENCH_WARMUP", 2)
ONLY = os.environ.get("BENCH_ONLY", "a b b2 b3 c d e t o")
# "b2" and "b3" are one workload each: ONLY is read as the names it lists
# ("ab2" is a and b2).
ONLYSET = set(re.findall(r"b[23]|[a-eto]", ONLY))
# Overload (BENCH_ONLY "o"; issue 22): a at these multiples of the pool's
# capacity (its workers), every reply checked: a success, or a truthful
# "nothing was applied" from nginx when the listen queue is full (shed).
OVERLOAD = [int(x) for x in os.environ.get("BENCH_OVERLOAD", "1 5 20 100").split()]
WORKLOADS = ["a", "b", "b2", "b3", "c", "d"]
PERF = os.environ.get("BENCH_PERF", "0") == "1"
KEEP = os.environ.get("BENCH_KEEP", "0") == "1"
# MiB; empty: tests/harness.py's 256 MiB as it is (resized online if set).
BUFFER_POOL = env_int("BENCH_BUFFER_POOL", 4096)
AHI = env_int("BENCH_AHI", 1)
WRK_THREADS = 2             # one per core: wrk shares the machine too

TASK_BASE = 100000          # bench tasks: above the demo's ids
FILL_TASK_BASE = 10000000   # filler tasks for the scale workload
PROC_BASE = 1000000000      # eri_process.id of slot s: PROC_BASE + s
FILL_PROC_BASE = 3000000000  # and of filler process i: FILL_PROC_BASE + i
NODES_PER_FILL_TASK = 20
SLOT_HEADROOM = 2.0         # seed for runs this much faster than any yet

BUILD = harness.BUILD
DBDRIVER = os.path.join(BUILD, "tests", "bench", "dbdriver")
HELLO = os.path.join(BUILD, "tests", "bench", "hello")
KINDS = ["retry", "retry_inputs", "skip", "callback", "retry", "skip_exg",
         "callback", "retry_inputs", "skip", "callback"]

TARGETS = {"a/b": 0.8, "c/d": 0.9, "e/a": 0.9, "p99/p50": 3.0,
           "round_trips": 2.0, "rss_kib": 8 * 1024,
           "cpu a/b2": 0.6, "statements": 25}
# The tail phases (BENCH_ONLY "t"; issue 17): a at the most connections for
# BENCH_TAIL_SECONDS (20) right after the pool starts on a freshly seeded
# database, right after a reset of the tables (sql/demo.sql's TRUNCATEs,
# then the bench's seed again), and beside a CPU-bound sha256sum.
TAIL_SECONDS = env_int("BENCH_TAIL_SECONDS", 20)


def log(msg):
    print(msg, flush=True)


# SQL for the 33-character ids (success.lua's id33, dbdriver.c's spread).
def sql_id(prefix, tag, expr, width=27):
    return ("CONCAT('%s', LPAD(LOWER(HEX(MOD((%s) * 40503, 65536))), 4, '0'), "
            "'%s', LPAD(%s, %d, '0'))" % (prefix, expr, tag, expr, width))


def sql_pipe(expr):
    """32 characters: pipeline_pipelineinstance.instance_id is varchar(32)."""
    return sql_id("p", "t", expr, 26)


# Database side -------------------------------------------------------------

STATUS_VARS = ["Questions", "Queries", "Com_stmt_execute", "Com_call_procedure",
               "Com_delete",
               "Innodb_data_fsyncs", "Innodb_deadlocks",
               "Innodb_buffer_pool_reads", "Innodb_buffer_pool_read_requests"]
# Statements the server executed, counted server-side: the sum of the Com_*
# counters, which count every SQL statement, also those a stored program
# runs (not its SET of a local variable, IF, loops: Queries counts those
# too). Com_stmt_* are left out: they count the protocol's prepare/execute
# commands, whose statement is counted again under its own Com_*.
COM_SUM = "Com_statements"
COM_SQL = ("SELECT '%s', 'COM_STATEMENTS', SUM(VARIABLE_VALUE) FROM "
           "information_schema.%s_STATUS WHERE VARIABLE_NAME LIKE 'COM\\_%%' "
           "AND VARIABLE_NAME NOT LIKE 'COM\\_STMT\\_%%'")


class Control:
    """The bench's own connection: seeding, counters, EXPLAIN."""

    def __init__(self, db):
        self.db = db
        self.c = pymysql.connect(unix_socket=db.sock, user="root",
                                 database=harness.DBNAME, autocommit=True,
                                 charset="utf8mb4")

    def new_conn(self):
        return pymysql.connect(unix_socket=self.db.sock, user="root",
                               database=harness.DBNAME, autocommit=True,
                               charset="utf8mb4")

    def rows(self, sql):
        with self.c.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def scalar(self, sql):
        return self.rows(sql)[0][0]

    def variables(self, names):
        out = {}
        for name in names:
            out[name] = self.scalar("SELECT @@GLOBAL.%s" % name)
        return out

    def snapshot(self):
        """The server's counters: global ("g"), and this connection's own
        ("s") for those that have a session value."""
        names = ",".join("'%s'" % v.upper() for v in STATUS_VARS)
        rows = self.rows(
            "SELECT 'g', VARIABLE_NAME, VARIABLE_VALUE FROM "
            "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN (%s) "
            "UNION ALL SELECT 's', VARIABLE_NAME, VARIABLE_VALUE FROM "
            "information_schema.SESSION_STATUS WHERE VARIABLE_NAME IN (%s) "
            "UNION ALL %s UNION ALL %s "
            "UNION ALL SELECT 'r', 'OPERATE_RECORD', COALESCE(MAX(id), 0) "
            "FROM operate_record_taskoperaterecord"
            % (names, names, COM_SQL % ("g", "GLOBAL"), COM_SQL % ("s", "SESSION")))
        snap = {"g": {}, "s": {}}
        names = {v.upper(): v for v in STATUS_VARS + [COM_SUM]}
        for kind, name, value in rows:
            if kind == "r":
                snap["record"] = int(value)
            else:
                snap[kind][names[name]] = int(value)
        return snap

    @staticmethod
    def others(before, after):
        """What every connection but this one did between two snapshots.
        Questions and Com_* have session values: this connection's own are
        taken off. Queries has none (a session read gives the global value):
        this connection's own statements (its Questions: it calls no
        procedure) are taken off. The InnoDB counters are the server's."""
        d = {}
        for v in STATUS_VARS + [COM_SUM]:
            g = after["g"][v] - before["g"][v]
            if v == "Questions" or v.startswith("Com_"):
                g -= after["s"][v] - before["s"][v]
            elif v == "Queries":
                g -= after["s"]["Questions"] - before["s"]["Questions"]
            d[v] = g
        return d

    # The tables b2 and b3 write to by auto-increment id (check_rows).
    ID_TABLES = ("eri_executionhistory", "eri_callbackdata", "`opn$outbox`",
                 "operate_record_taskoperaterecord")

    def max_ids(self):
        return {t: self.scalar("SELECT COALESCE(MAX(id), 0) FROM %s" % t)
                for t in self.ID_TABLES}

    def applied_since(self, snap):
        return self.scalar("SELECT COUNT(*) FROM operate_record_taskoperaterecord WHERE id > %d"
                           % snap["record"])

    def wait_idle(self, timeout=10):
        """Until no other connection has run a statement for 0.2 s (the last
        requests of a run have finished, both their round trips)."""
        end = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < end and quiet < 4:
            running = int(self.rows("SHOW GLOBAL STATUS LIKE 'Threads_running'")[0][1])
            quiet = quiet + 1 if running <= 1 else 0
            time.sleep(0.05)

    def resize_buffer_pool(self, mib, timeout=120):
        self.rows("SET GLOBAL innodb_buffer_pool_size = %d" % (mib * 1048576))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if int(self.scalar("SELECT @@GLOBAL.innodb_buffer_pool_size")) >= mib * 1048576:
                status = self.rows("SHOW GLOBAL STATUS LIKE "
                                   "'Innodb_buffer_pool_resize_status'")
                if not status or "ompleted" in status[0][1] or not status[0][1]:
                    return
            time.sleep(0.2)
        raise RuntimeError("buffer pool resize to %d MiB did not finish" % mib)

    def settle(self, timeout=90):
        """Flushes the dirty pages (the seeding's, the last run's), so that
        a run neither pays for earlier writes nor starts in a different
        state from the others. Returns the seconds it took."""
        t0 = time.monotonic()
        # The page cleaner writes at most innodb_io_capacity pages a second
        # (200 by default): lift that while it catches up.
        keep = ["innodb_io_capacity_max", "innodb_io_capacity",
                "innodb_max_dirty_pages_pct", "innodb_max_dirty_pages_pct_lwm"]
        old = self.variables(keep)
        with self.c.cursor() as cur:
            cur.execute("SET GLOBAL innodb_io_capacity_max = 40000")
            cur.execute("SET GLOBAL innodb_io_capacity = 20000")
            cur.execute("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0")
            cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = 0")
        try:
            end = t0 + timeout
            while time.monotonic() < end:
                dirty = int(self.rows("SHOW GLOBAL STATUS LIKE "
                                      "'Innodb_buffer_pool_pages_dirty'")[0][1])
                if dirty < 100:
                    break
                time.sleep(0.2)
        finally:
            with self.c.cursor() as cur:
                # Capacity before its maximum: never max below capacity.
                for name in reversed(keep):
                    cur.execute("SET GLOBAL %s = %s" % (name, old[name]))
        return time.monotonic() - t0


def run_parallel(ctl, batches):
    """Runs lists of statements on two connections at once (2 cores)."""
    errors = []

    def worker(stmts):
        try:
            c = ctl.new_conn()
            with c.cursor() as cur:
                for s in stmts:
                    cur.execute(s)
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(b,), daemon=True)
               for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# Rows as bk-sops and bamboo write them (tests/fixtures/bk-sops-schema.sql;
# eri_node.detail is Python's json.dumps text), in bulk.
T0 = "'2024-05-01 10:00:00.000000'"


def sql_detail(node, pipe, typ, targets):
    """eri_node.detail: targets is a list of (flow SQL, target literal)."""
    t = ", ".join("\"', %s, '\": \"%s\"" % (f, to) for f, to in targets)
    return ("CONCAT('{\"id\": \"', %s, '\", \"type\": \"%s\", \"targets\": {%s}, "
            "\"root_pipeline_id\": \"', %s, '\", \"parent_pipeline_id\": \"', %s, "
            "'\", \"can_skip\": true, \"can_retry\": true}')"
            % (node, typ, t, pipe, pipe))


def sql_tasks(tid, pipe, seq, root_state):
    """pipeline_pipelineinstance (same id as the task), the task (project 1,
    engine v2) and its root pipeline's eri_state row."""
    return [
        "INSERT INTO pipeline_pipelineinstance (id, instance_id, name, creator, "
        "create_time, executor, start_time, finish_time, description, is_started, "
        "is_finished, is_deleted, execution_snapshot_id, snapshot_id, template_id, "
        "tree_info_id, is_revoked, is_expired) SELECT %s, %s, 'bench task', 'admin', "
        "%s, 'admin', %s, NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0 FROM %s"
        % (tid, pipe, T0, T0, seq),
        "INSERT INTO taskflow3_taskflowinstance (id, category, template_id, "
        "create_method, create_info, flow_type, current_flow, is_deleted, "
        "pipeline_instance_id, template_source, project_id, engine_ver, "
        "recorded_executor_proxy, is_child_taskflow, extra_info) SELECT %s, "
        "'Default', '1', 'api', '', 'common', 'execute_task', 0, %s, 'project', 1, "
        "2, NULL, 0, NULL FROM %s" % (tid, tid, seq),
        sql_state(pipe, pipe, "'%s'" % root_state, seq, archived="NULL"),
    ]


def sql_state(node, pipe, name, src, archived=T0, where=""):
    return ("INSERT INTO eri_state (node_id, root_id, parent_id, name, version, "
            "`loop`, retry, skip, error_ignored, created_time, started_time, "
            "archived_time, inner_loop) SELECT %s, %s, %s, %s, CONCAT('v', "
            "SUBSTR(%s, 2)), 1, 0, 0, 0, %s, %s, %s, 1 FROM %s %s"
            % (node, pipe, pipe, name, node, T0, T0, archived, src, where))


def sql_process(pid, node, pipe, src, asleep=1, dead=0):
    return ("INSERT INTO eri_process (id, parent_id, ack_num, need_ack, asleep, "
            "suspended, frozen, dead, last_heartbeat, destination_id, current_node_id, "
            "root_pipeline_id, suspended_by, priority, queue, pipeline_stack) SELECT "
            "%s, -1, 0, -1, %d, 0, 0, %d, %s, '', %s, %s, '', 100, '', CONCAT('[\"', "
            "%s, '\"]') FROM %s" % (pid, asleep, dead, T0, node, pipe, pipe, src))


def seed_tasks(ctl, n):
    """n running tasks of project 1 (cmdb business 2, where admin may
    operate), each with its root pipeline's state row."""
    for sql in sql_tasks("%d + seq" % TASK_BASE, sql_pipe("%d + seq" % TASK_BASE),
                         "seq_0_to_%d" % (n - 1), "RUNNING"):
        ctl.rows(sql)


def seed_slots(ctl, lo, hi):
    """The nodes of slots lo..hi-1, each ready for its one action (as
    tests/rows.py's seed makes them, in bulk)."""
    x = ("(SELECT seq AS s, MOD(seq, 10) AS k, %s AS node, %s AS pipe "
         "FROM seq_%d_to_%d) x" % (sql_id("n", "b", "seq"),
                                   sql_pipe("%d + MOD(seq, %d)" % (TASK_BASE, TASKS)),
                                   lo, hi - 1))
    callback = "k IN (3, 6, 9)"
    exg = "k = 5"
    inputs = ('{"a": {"need_render": true, "value": "x"}, '
              '"b": {"need_render": false, "value": 1}, '
              '"__executor_proxy": {"need_render": true, "value": ""}}')
    flow_a, flow_z = sql_id("l", "a", "s"), sql_id("l", "z", "s")
    a = [
        "INSERT INTO eri_node (node_id, detail) SELECT node, IF(%s, %s, %s) FROM %s"
        % (exg, sql_detail("node", "pipe", "ExclusiveGateway",
                           [(flow_a, "bench_next"), (flow_z, "bench_branch")]),
           sql_detail("node", "pipe", "ServiceActivity", [(flow_a, "bench_next")]), x),
        sql_state("node", "pipe", "IF(%s, 'RUNNING', 'FAILED')" % callback, x,
                  archived="IF(%s, NULL, %s)" % (callback, T0)),
        sql_process("%d + s" % PROC_BASE, "node", "pipe", x),
        "INSERT INTO eri_schedule (type, process_id, node_id, finished, expired, "
        "scheduling, version, schedule_times) SELECT 1, %d + s, node, 0, 0, 0, "
        "CONCAT('v', SUBSTR(node, 2)), 0 FROM %s WHERE %s" % (PROC_BASE, x, callback),
    ]
    b = [
        "INSERT INTO eri_data (node_id, inputs, outputs) SELECT node, '%s', "
        "'{}' FROM %s WHERE NOT %s" % (inputs, x, exg),
        "INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, "
        "inputs, outputs) SELECT node, 'json', 'json', '{\"a\": \"x\", \"b\": 1}', "
        "'{\"ex_data\": \"bench failure\", \"_result\": false}' FROM %s WHERE NOT %s"
        % (x, callback),
    ]
    run_parallel(ctl, [a, b])


def fill(ctl, n):
    """n nodes more, with what a busy installation keeps around them:
    finished tasks and states, data, processes, history, outbox, operate
    records, replay records, schedules and callbacks. Only rows that make
    the tables big; none is operable. Inserted in key order. Called once
    per bench."""
    start = 0
    lo, hi = start, start + n - 1
    ntask = max(1, n // NODES_PER_FILL_TASK)
    tlo = FILL_TASK_BASE + start // NODES_PER_FILL_TASK
    node = sql_id("n", "f", "seq")
    pipe = sql_pipe("%d + MOD(seq, %d)" % (tlo, ntask))
    seq = "seq_%d_to_%d" % (lo, hi)
    half = "seq_%d_to_%d" % (lo, lo + n // 2 - 1)
    tenth = "seq_%d_to_%d" % (lo, lo + max(1, n // 10) - 1)
    inputs = ('{"ip_list": {"need_render": true, "value": "10.0.0.1,10.0.0.2"}, '
              '"script": {"need_render": true, "value": "echo ${bk_biz_id}"}, '
              '"timeout": {"need_render": false, "value": 600}}')
    rid = "MD5(CONCAT('fill', seq))"
    nodes = "(SELECT seq, %s AS node, %s AS pipe FROM %s ORDER BY node) x" % (node, pipe, seq)
    a = sql_tasks("%d + seq" % tlo, sql_pipe("%d + seq" % tlo),
                  "seq_0_to_%d" % (ntask - 1), "FINISHED") + [
        "INSERT INTO eri_node (node_id, detail) SELECT node, %s FROM %s"
        % (sql_detail("node", "pipe", "ServiceActivity",
                      [(sql_id("l", "f", "seq"), "old_next")]), nodes),
        sql_state("node", "pipe", "'FINISHED'", nodes),
        "INSERT INTO eri_data (node_id, inputs, outputs) SELECT node, '%s', "
        "'{\"_result\": true}' FROM %s" % (inputs, nodes),
        "INSERT INTO eri_schedule (type, process_id, node_id, finished, expired, "
        "scheduling, version, schedule_times) SELECT 1, seq, %s, 1, 0, 0, "
        "CONCAT('v', SUBSTR(%s, 2)), 1 FROM %s" % (node, node, tenth),
    ]
    b = [
        "INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, "
        "inputs, outputs) SELECT node, 'json', 'json', '{\"ip_list\": "
        "\"10.0.0.1,10.0.0.2\", \"timeout\": 600}', '{\"_result\": true, \"_loop\": 1}' "
        "FROM %s" % nodes,
        sql_process("%d + seq" % FILL_PROC_BASE, node, pipe, half, asleep=0, dead=1),
        "INSERT INTO eri_executionhistory (node_id, `loop`, retry, skip, version, "
        "started_time, archived_time, inputs_serializer, outputs_serializer, inputs, "
        "outputs) SELECT %s, 1, 0, 0, CONCAT('v', SUBSTR(%s, 2)), %s, %s, 'json', "
        "'json', '{}', '{}' FROM %s" % (node, node, T0, T0, half),
        "INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, "
        "countdown, request_id, created_time, dispatched_time) SELECT 'celery', "
        "'pipeline.eri.celery.tasks.execute', 'default', 'er_execute', 100, "
        "CONCAT('{\"process_id\": ', seq, ', \"node_id\": \"', %s, '\"}'), NULL, %s, "
        "%s, %s FROM %s" % (node, rid, T0, T0, seq),
        "INSERT INTO operate_record_taskoperaterecord (operator, operate_type, "
        "operate_source, instance_id, project_id, operate_date, node_id, extra_info) "
        "SELECT 'admin', 'retry', 'api', %d + MOD(seq, %d), 1, %s, %s, '{}' FROM %s"
        % (tlo, ntask, T0, node, seq),
        "INSERT INTO `opn$replay` (app_code, request_id, action, task_id, node_id, "
        "created_time) SELECT 'demo_app', %s AS id, 'retry', %d + MOD(seq, %d), %s, "
        "UTC_TIMESTAMP(6) FROM %s ORDER BY id" % (rid, tlo, ntask, node, seq),
        "INSERT INTO eri_callbackdata (node_id, version, data) SELECT %s, "
        "CONCAT('v', SUBSTR(%s, 2)), '{\"status\": \"done\"}' FROM %s"
        % (node, node, tenth),
    ]
    run_parallel(ctl, [a, b])


def table_sizes(ctl):
    """Rows of the big tables, and the size of all of them on disk (the
    .ibd files: information_schema's figures lag behind bulk inserts)."""
    out = {}
    for t in ("eri_node", "eri_state", "eri_process", "eri_executionhistory",
              "opn$outbox", "operate_record_taskoperaterecord", "opn$replay"):
        out[t] = ctl.scalar("SELECT COUNT(*) FROM `%s`" % t)
    d = os.path.join(ctl.db.datadir, harness.DBNAME)
    out["total_mib"] = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                           if f.endswith(".ibd")) // 1048576
    return out


# The resolve SELECT (app/store_sql.h, as dbdriver -p prints it) -----------

def driver_resolve_sql(variant):
    return subprocess.run([DBDRIVER, "-p", variant], check=True,
                          capture_output=True, text=True).stdout.strip()


def explain_resolve(ctl, sql):
    """EXPLAIN of the prepared statement, run as a prepared statement."""
    with ctl.c.cursor() as cur:
        # A user and a token both given, so that every join is looked up.
        cur.execute("SET @u = 'admin', @a = 'demo_app', @b = 2, @t = CONCAT("
                    "'sha256:', SHA2('demo-token-admin', 256))")
        cur.execute("PREPARE bench_explain FROM %s", ("EXPLAIN " + sql,))
        cur.execute("EXECUTE bench_explain USING @u, @b, @a, @t, @b")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        cur.execute("DEALLOCATE PREPARE bench_explain")
    return rows


# Processes -----------------------------------------------------------------

def cpu_ticks(pids):
    """utime + stime of processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_ticks():
    """CPU ticks spent by anything on the machine (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]     # minus idle and iowait


class Probe:
    """Samples the server every 0.25 s during a tail run (its own
    connection): threads running, InnoDB's history list (purge lag), row
    lock waits, and the server's table and procedure cache misses, so that
    a tail can be laid next to what the server was doing."""

    VARS = ("Threads_running", "Innodb_row_lock_waits", "Innodb_row_lock_time",
            "Opened_tables", "Opened_table_definitions", "Table_open_cache_misses",
            "Innodb_history_list_length", "Handler_read_rnd_next")

    def __init__(self, ctl):
        self.conn = ctl.new_conn()
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def sample(self):
        with self.conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                        % ",".join("'%s'" % v for v in self.VARS))
            return {k: int(v) for k, v in cur.fetchall()}

    def loop(self):
        t0 = time.monotonic()
        while not self.done.is_set():
            try:
                x = self.sample()
            except Exception:  # noqa: BLE001
                break
            x["t"] = round(time.monotonic() - t0, 2)
            self.samples.append(x)
            self.done.wait(0.25)

    def stop(self):
        self.done.set()
        self.thread.join()
        self.conn.close()

    def result(self):
        if len(self.samples) < 2:
            return None
        a, z = self.samples[0], self.samples[-1]
        out = {"max_threads_running": max(x.get("Threads_running", 0) for x in self.samples),
               "max_history_list": max(x.get("Innodb_history_list_length", 0)
                                       for x in self.samples)}
        for k in ("Innodb_row_lock_waits", "Innodb_row_lock_time", "Opened_tables",
                  "Opened_table_definitions", "Table_open_cache_misses"):
            if k in a and k in z:
                out[k] = z[k] - a[k]
        # the first second against the rest: a start-up cost shows here
        first = [x for x in self.samples if x["t"] <= 1.0]
        if first and "Opened_tables" in first[-1]:
            out["opened_tables_first_s"] = first[-1]["Opened_tables"] - a["Opened_tables"]
        return out


class Bench:
    def __init__(self):
        self.env = harness.Env()
        self.db = self.env.db
        self.ctl = None
        self.svc = None
        self.hello = None
        self.hello_nginx = None
        self.seeded_hi = 0          # slots [0, seeded_hi) exist
        self.next_slot = 0          # the first slot no run has taken
        self.top_rate = 0           # the highest req/s a consuming run saw
        self.runs = []
        self.tail_runs = []
        self.overload_runs = []
        self.rss = []
        self.notes = []
        self.seed_log = []
        self.scale_log = None
        self.sizes = {}
        self.failed = False

    # -- setup --

    def start(self):
        log("MariaDB, schema and demo data in %s ..." % self.env.top)
        self.db.start()
        self.db.load()
        self.db.reset_demo()
        self.ctl = Control(self.db)
        if BUFFER_POOL:
            self.ctl.resize_buffer_pool(BUFFER_POOL)
            self.notes.append("buffer pool resized to %d MiB (BENCH_BUFFER_POOL)"
                              % BUFFER_POOL)
        if AHI:
            self.ctl.rows("SET GLOBAL innodb_adaptive_hash_index = ON")
            self.notes.append("innodb_adaptive_hash_index ON (BENCH_AHI)")
        seed_tasks(self.ctl, TASKS)
        self.svc = harness.Service(self.env, name="bench-pool", workers=WORKERS,
                                   log_level="warn", max_requests=0)
        self.env.service = self.svc
        sock = os.path.join(self.env.top, "hello.sock")
        self.hello = harness.Procs.spawn([HELLO, sock, str(WORKERS)],
                                         os.path.join(self.env.top, "hello.log"))
        harness.wait_for(lambda: os.path.exists(sock), 10, "hello socket")
        upstream = types.SimpleNamespace(listen="unix:" + sock, sock=sock)
        self.hello_nginx = harness.Nginx(self.env, upstream, name="nginx-hello").start()
        harness.wait_for(lambda: len(self.svc.pool.workers()) == WORKERS, 10,
                         "pool workers")
        self.record_rss("start")

    def stop(self):
        if self.hello_nginx:
            self.hello_nginx.stop()
        if self.hello:
            harness.Procs.stop(self.hello)
        self.env.close(keep=KEEP or self.failed)

    def seed(self, slots):
        t0 = time.monotonic()
        seed_slots(self.ctl, self.seeded_hi, self.seeded_hi + slots)
        self.seeded_hi += slots
        return time.monotonic() - t0

    def prepare(self, seconds):
        """Before each run that uses nodes: seeds what it may use if the
        seed runs low (room for twice the best rate seen so far, or the
        guess before any run, so that a run runs out only if it is twice as
        fast as any before), then flushes the dirty pages, so that every
        such run starts from the same state."""
        target = int((self.top_rate or RATE) * seconds * SLOT_HEADROOM) + 1000
        slots = target - (self.seeded_hi - self.next_slot)
        secs = self.seed(slots) if slots > 0 else 0.0
        took = self.ctl.settle()
        if slots > 0:
            self.seed_log.append({"slots": slots, "seconds": secs,
                                  "flush_seconds": took})
        return {"slots": max(0, slots), "seconds": round(secs, 2),
                "flush_seconds": round(took, 2)}

    def record_rss(self, when):
        pids = self.svc.pool.workers()
        self.rss.append({"when": when, "pids": sorted(pids),
                         "kib": [rss_kib(p) for p in sorted(pids)]})

    def component_pids(self, workload):
        pool = [self.svc.pool.proc.pid] + self.svc.pool.workers()
        if workload == "d":
            ng = self.hello_nginx.proc.pid
            app = [self.hello.pid] + children(self.hello.pid)
        else:
            ng = self.svc.nginx.proc.pid
            app = pool
        return {"nginx": [ng] + children(ng), "app": app,
                "mariadbd": [self.db.proc.pid]}

    # -- one run --

    def client_argv(self, workload, conns, seconds, lo, hi):
        wrk = ["wrk", "-t", str(min(WRK_THREADS, conns)), "-c", str(conns),
               "-d", "%ds" % seconds, "-T", "10s", "--latency"]
        if workload in ("a", "e", "o"):
            return wrk + ["-s", os.path.join(HERE, "success.lua"),
                          "http://127.0.0.1:%d/" % self.svc.nginx.port, "--",
                          str(lo), str(hi), str(min(WRK_THREADS, conns)),
                          str(TASKS), str(TASK_BASE)] + \
                (["shed"] if workload == "o" else [])
        if workload in ("c", "d"):
            port = self.svc.nginx.port if workload == "c" else self.hello_nginx.port
            expect = '"code":3540000' if workload == "c" else '"data":"hello"'
            return wrk + ["-s", os.path.join(HERE, "reject.lua"),
                          "http://127.0.0.1:%d/api/c/compapi/v2/sops/operate_node/"
                          % port, "--", expect]
        return [DBDRIVER, "-S", self.db.sock, "-D", harness.DBNAME, "-u", "root",
                "-c", str(conns), "-d", str(seconds), "-l", str(lo), "-h", str(hi),
                "-n", str(TASKS), "-b", str(TASK_BASE)] + \
            (["-m", "plain"] if workload == "b2" else
             ["-m", "floor"] if workload == "b3" else [])

    def run(self, workload, conns, seconds, record=True, run_no=0, phase=None):
        """One run of a workload: the client for a fixed time, with the
        server's counters and every process's CPU time read around it."""
        label = "%s@%d" % (workload, conns)
        consuming = workload in ("a", "b", "b2", "b3", "e", "o")
        seeded = self.prepare(seconds) if consuming else None
        lo, hi = self.next_slot, self.seeded_hi
        argv = self.client_argv(workload, conns, seconds, lo, hi)
        pids = self.component_pids(workload)
        driver = workload in ("b", "b2", "b3")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE if driver else subprocess.DEVNULL,
                                text=True)
        try:
            if driver and proc.stdout.readline().strip() != "ready":
                raise RuntimeError("dbdriver did not start: " + proc.stderr.read()[-300:])
            before = self.ctl.snapshot()
            ids0 = self.ctl.max_ids() if workload in ("b2", "b3") else None
            gone0 = self.abandoned(workload)
            cpu0 = {k: cpu_ticks(v) for k, v in pids.items()}
            busy0 = machine_busy_ticks()
            perf = None
            if PERF and record and workload == "a" and run_no == RUNS - 1 \
                    and conns == max(CONNS):
                perf = self.start_perf(seconds)
            probe = Probe(self.ctl) if phase else None
            t0 = time.monotonic()
            if driver:
                proc.stdin.write("go\n")
                proc.stdin.flush()
                out = proc.stdout.readline()
            else:
                out = proc.stdout.read()
            wall = time.monotonic() - t0
            if probe:
                probe.stop()
            cpu1 = {k: cpu_ticks(v) for k, v in pids.items()}
            busy1 = machine_busy_ticks()
            self.ctl.wait_idle()
            after = self.ctl.snapshot()
            gone = self.abandoned(workload) - gone0
            if driver:
                proc.stdin.close()
            out += proc.stdout.read()
            err = proc.stderr.read()
            _, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            if phase and probe:
                probe.stop()
            proc.kill()
            proc.wait()
            raise
        if perf:
            self.finish_perf(perf)
        res = {"workload": workload, "conns": conns, "seconds": seconds,
               "run": run_no, "slot_lo": lo, "slot_hi": hi, "seeded": seeded}
        self.client_result(res, workload, proc.returncode, out, err)
        if ids0 is not None and not res.get("failed"):
            self.check_rows(res, lo, ids0)
        # Database work per request, from the server's own counters.
        delta = Control.others(before, after)
        applied = self.ctl.applied_since(before) if consuming else 0
        res["db"] = delta
        res["db_applied"] = applied
        base = applied if consuming else res.get("requests", 0)
        if base:
            # The service's only DELETE is in opn_purge_replay (its
            # housekeeping, after a reply): one per purge CALL.
            # A request wrk stopped waiting for when its time was up is
            # resolved, then not applied (its client is gone): its one
            # round trip is no action's.
            res["purge_calls"] = delta["Com_delete"]
            res["abandoned"] = gone
            res["round_trips_per_req"] = (delta["Questions"] - delta["Com_delete"]
                                          - gone) / base
            for key, var in (("questions", "Questions"), ("queries", "Queries"),
                             ("statements", COM_SUM),
                             ("stmt_execute", "Com_stmt_execute"),
                             ("calls", "Com_call_procedure"),
                             ("fsyncs", "Innodb_data_fsyncs"),
                             ("page_reads", "Innodb_buffer_pool_reads")):
                res[key + "_per_req"] = delta[var] / base
        # CPU per request of each component, the client's, and the rest
        # (per applied action where there are some: it counts the last
        # requests a client stopped waiting for, whose work was done too).
        n = max(res.get("requests") or 0, applied)
        if n and consuming and applied:
            # MariaDB CPU per successful action (the measure)
            res["mariadb_cpu_us_per_action"] = round(
                (cpu1["mariadbd"] - cpu0["mariadbd"]) / TICK / applied * 1e6, 1)
        if n:
            cpu = {k: (cpu1[k] - cpu0[k]) / TICK for k in cpu0}
            cpu["client"] = ru.ru_utime + ru.ru_stime
            res["cpu_us_per_req"] = {k: round(v / n * 1e6, 1) for k, v in cpu.items()}
            res["cpu_busy"] = round(sum(cpu.values()) / wall / os.cpu_count(), 2)
            # Everything else on the machine (other people's work included).
            other = (busy1 - busy0) / TICK - sum(cpu.values())
            res["cpu_other"] = round(max(0.0, other) / wall / os.cpu_count(), 2)
        if workload == "o":
            self.overload_runs.append(res)
            if res.get("failed"):
                self.failed = True
            state = "FAILED: " + res["why"] if res.get("failed") else \
                "goodput %6.0f/s  shed %6.0f/s  p50 %7.2f ms  p99 %7.2f ms" % (
                    res["goodput"], res["shed"] / res["wall"], res["p50_ms"],
                    res["p99_ms"])
            log("  overload %-6s %s" % (label, state))
            return res
        if phase:
            res["phase"] = phase
            res["probe"] = probe.result() if probe else None
            self.tail_runs.append(res)
            if res.get("failed"):
                self.failed = True
            state = "FAILED: " + res["why"] if res.get("failed") else \
                "%8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  p99/p50 %5.2f  max %6.1f ms" % (
                    res["rps"], res["p50_ms"], res["p99_ms"],
                    res["p99_ms"] / res["p50_ms"], res["max_ms"])
            log("  tail %-7s %-5s %s" % (phase, label, state))
            return res
        if res.get("failed") and record:
            self.failed = True
        if record:
            self.runs.append(res)
            state = "FAILED: " + res["why"] if res.get("failed") else \
                "%8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (other load %2.0f%%)" % (
                    res["rps"], res["p50_ms"], res["p99_ms"],
                    100 * res.get("cpu_other", 0))
            log("  run %d  %-5s %s" % (run_no + 1, label, state))
        elif res.get("failed"):
            log("  warm-up %s FAILED: %s" % (label, res["why"]))
        if consuming and res.get("rps"):
            self.top_rate = max(self.top_rate, res["rps"])
        return res

    def client_result(self, res, workload, rc, out, err):
        """The client's figures into res; failed and why if it was not clean."""
        why = []
        if workload in ("b", "b2", "b3"):
            try:
                m = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
            except (ValueError, IndexError):
                m = None
            if rc != 0 or m is None:
                res.update(failed=True, why="dbdriver: exit %d: %s"
                           % (rc, (err or out)[-300:]))
                return
            res.update(requests=m["requests"], ok=m["ok"], rps=m["rps"],
                       p50_ms=m["p50_us"] / 1000, p99_ms=m["p99_us"] / 1000,
                       max_ms=m["max_us"] / 1000)
            res["next_slot"] = m["next_slot"]
            self.next_slot = max(self.next_slot, m["next_slot"])
            if m["fails"]:
                why.append("%d failed requests (first: %s)"
                           % (m["fails"], m["first_error"]))
            if m["exhausted"]:
                why.append("seeded nodes exhausted")
        else:
            m = None
            for line in out.splitlines():
                if line.startswith("BENCH_JSON "):
                    m = json.loads(line[len("BENCH_JSON "):])
            first = [ln[len("BENCH_FAIL "):] for ln in out.splitlines()
                     if ln.startswith("BENCH_FAIL ")]
            if rc != 0 or m is None:
                res.update(failed=True, why="wrk: exit %d: %s" % (rc, (err or out)[-300:]))
                return
            secs = m["duration_us"] / 1e6
            shed = m.get("shed", 0)
            res.update(requests=m["requests"], ok=m["requests"] - m["fails"] - shed,
                       shed=shed, wall=secs,
                       goodput=(m["requests"] - m["fails"] - shed) / secs,
                       rps=m["requests"] / secs, p50_ms=m["p50_us"] / 1000,
                       p99_ms=m["p99_us"] / 1000, max_ms=m["max_us"] / 1000)
            if m["max_slot"] >= 0:
                self.next_slot = max(self.next_slot, m["max_slot"] + 1)
            if m["fails"]:
                why.append("%d replies were not a success (first: %s)"
                           % (m["fails"], first[0] if first else "?"))
            if m["socket_errors"] or m["timeouts"]:
                why.append("%d socket errors, %d timeouts"
                           % (m["socket_errors"], m["timeouts"]))
            if m["exhausted"]:
                why.append("seeded nodes exhausted (%d requests past the end)"
                           % m["exhausted"])
        if not res.get("requests"):
            why.append("no replies")
        if why:
            res.update(failed=True, why="; ".join(why))

    def check_rows(self, res, lo, ids0):
        """b2 and b3: the rows a run wrote are those its actions must write,
        as many per action as the procedure writes: per slot one opn$replay
        row; one history row for retry and skip; one eri_callbackdata row
        for callback, whose id the schedule message names; one outbox row,
        two for skips (the ZREM); one operation record with extra_info ''
        (sql/actions.sql); the state the action leaves. Every slot of the
        run succeeded (else the run has failed already)."""
        hi = res["next_slot"]
        # the action each slot's kind sends (retry_inputs is a retry)
        action = collections.Counter(
            "retry" if KINDS[s % 10] == "retry_inputs" else KINDS[s % 10]
            for s in range(lo, hi))
        n = hi - lo
        ctl = self.ctl
        h0, c0, o0, r0 = (ids0[t] for t in Control.ID_TABLES)
        rid = lambda s: "'dbdrv%027d'" % s  # noqa: E731
        got = {
            "replay": ctl.scalar("SELECT COUNT(*) FROM `opn$replay` WHERE "
                                 "request_id BETWEEN %s AND %s" % (rid(lo), rid(hi - 1))),
            "history": ctl.scalar("SELECT COUNT(*) FROM eri_executionhistory "
                                  "WHERE id > %d" % h0),
            "callbackdata": ctl.scalar("SELECT COUNT(*) FROM eri_callbackdata "
                                       "WHERE id > %d" % c0),
            "outbox": ctl.scalar("SELECT COUNT(*) FROM `opn$outbox` WHERE id > %d "
                                 "AND request_id BETWEEN %s AND %s"
                                 % (o0, rid(lo), rid(hi - 1))),
            "zrem": ctl.scalar("SELECT COUNT(*) FROM `opn$outbox` WHERE id > %d "
                               "AND kind = 'redis'" % o0),
            "schedule names its callback data": ctl.scalar(
                "SELECT COUNT(*) FROM `opn$outbox` o JOIN eri_callbackdata c ON "
                "c.id = CAST(JSON_VALUE(o.body, '$.callback_data_id') AS UNSIGNED) "
                "AND c.node_id = JSON_VALUE(o.body, '$.node_id') WHERE o.id > %d "
                "AND o.name = 'pipeline.eri.celery.tasks.schedule'" % o0),
            "records": dict(ctl.rows(
                "SELECT CONCAT(operate_type, IF(extra_info = '', '', ' extra_info!')), "
                "COUNT(*) FROM operate_record_taskoperaterecord WHERE id > %d "
                "GROUP BY 1" % r0)),
            "states": dict(ctl.rows(
                "SELECT CONCAT(r.action, ' ', s.name), COUNT(*) FROM `opn$replay` r "
                "JOIN eri_state s ON s.node_id = r.node_id WHERE r.request_id "
                "BETWEEN %s AND %s GROUP BY 1" % (rid(lo), rid(hi - 1)))),
        }
        skips = action["skip"] + action["skip_exg"]
        want = {
            "replay": n, "history": n - action["callback"],
            "callbackdata": action["callback"], "outbox": n + skips, "zrem": skips,
            "schedule names its callback data": action["callback"],
            "records": {k: v for k, v in action.items() if v},
            "states": {"%s %s" % (k, {"retry": "READY", "callback": "RUNNING"}.get(
                k, "FINISHED")): v for k, v in action.items() if v},
        }
        got["records"] = {k: int(v) for k, v in got["records"].items()}
        got["states"] = {k: int(v) for k, v in got["states"].items()}
        res["rows_check"] = {"ok": got == want, "slots": n}
        if got != want:
            bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            res["rows_check"]["mismatch (got, want)"] = bad
            res.update(failed=True, why="rows written: %s" % bad)

    def abandoned(self, workload):
        """The pool's operate_node_abandoned_total (0 for the drivers)."""
        if workload not in ("a", "e"):
            return 0
        r = self.svc.nginx.status("/metrics")
        raw = r.raw.decode() if isinstance(r.raw, bytes) else r.raw
        m = re.search(r"^operate_node_abandoned_total (\d+)$", raw, re.M)
        if r.status != 200 or m is None:
            raise RuntimeError("no operate_node_abandoned_total in /metrics")
        return int(m.group(1))

    def start_perf(self, seconds):
        """perf over the whole machine (software clock: this VM has no
        hardware counters) for the length of the run."""
        data = os.path.join(self.env.top, "perf.data")
        p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "499",
                              "-a", "-g", "-o", data, "--", "sleep",
                              str(max(1, seconds - 1))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return (p, data)

    def finish_perf(self, perf):
        p, data = perf
        p.wait()
        out = []
        for sort, limit in (("comm", "1"), ("comm,dso,symbol", "0.7")):
            rep = subprocess.run(["perf", "report", "-i", data, "--stdio",
                                  "--no-children", "--sort", sort, "-g", "none",
                                  "--percent-limit", limit],
                                 capture_output=True, text=True).stdout
            out += [ln.rstrip() for ln in rep.splitlines()
                    if ln.strip() and not ln.startswith("#")]
            out.append("")
        self.perf_report = "\n".join(out)

    # -- the whole bench --

    def main(self):
        t_start = time.monotonic()
        self.start()
        self.settings = self.db_settings()
        self.explain = self.check_resolve()
        top = max(CONNS)
        if "t" in ONLYSET:
            log("tail: a at %d connections, %ds, right after the start ..."
                % (top, TAIL_SECONDS))
            self.run("a", top, TAIL_SECONDS, phase="fresh")
        if WARMUP:
            log("warm-up (%ds each, not counted) ..." % WARMUP)
            for c in CONNS:
                for w in ("a", "b", "b2", "b3"):
                    if w in ONLYSET:
                        self.run(w, c, WARMUP, record=False)
            for w in "cd":
                if w in ONLYSET:
                    self.run(w, max(CONNS), WARMUP, record=False)
        self.record_rss("after warm-up")
        self.sizes["a-d start"] = table_sizes(self.ctl)
        log("workloads %s: %d runs x %s connections x %ds"
            % ("-".join(w for w in WORKLOADS if w in ONLYSET), RUNS, CONNS, SECONDS))
        for r in range(RUNS):
            for c in CONNS:
                for w in WORKLOADS:
                    if w in ONLYSET:
                        self.run(w, c, SECONDS, run_no=r)
        if "t" in ONLYSET:
            self.tails(top)
        if "o" in ONLYSET:
            log("overload: a at %s x %d workers, %ds each ..."
                % (OVERLOAD, WORKERS, SECONDS))
            for k in OVERLOAD:
                self.run("o", k * WORKERS, SECONDS)
        self.record_rss("after a-d")
        self.sizes["a-d end"] = table_sizes(self.ctl)
        if "e" in ONLYSET:
            self.scale()
            for r in range(RUNS):
                for c in CONNS:
                    self.run("e", c, SECONDS, run_no=r)
            self.record_rss("after e")
            self.sizes["e end"] = table_sizes(self.ctl)
        self.elapsed = time.monotonic() - t_start
        return self.report()

    def tails(self, top):
        """a right after a reset of the tables, and beside a CPU hog."""
        log("tail: a at %d connections, %ds, right after a reset of the tables ..."
            % (top, TAIL_SECONDS))
        self.db.reset_demo()
        seed_tasks(self.ctl, TASKS)
        self.seeded_hi = self.next_slot = 0
        self.run("a", top, TAIL_SECONDS, phase="reset")
        log("tail: a at %d connections, %ds, beside a CPU-bound sha256sum ..."
            % (top, TAIL_SECONDS))
        hog = subprocess.Popen(["sha256sum", "/dev/zero"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            self.run("a", top, TAIL_SECONDS, phase="cpu hog")
        finally:
            hog.kill()
            hog.wait()

    def scale(self):
        """e's nodes (for its runs at a's best rate: e is not faster), then
        filler up to BENCH_SCALE_NODES nodes. Seeding e's nodes first is
        faster, and costs nothing in realism: with random ids, a run's
        nodes are spread over more leaf pages than the buffer pool holds,
        however recently they were written."""
        have = self.ctl.scalar("SELECT COUNT(*) FROM eri_node")
        slots = int((self.top_rate or RATE) * (SECONDS * RUNS * len(CONNS) + WARMUP)
                    * 1.25) + 1000 - (self.seeded_hi - self.next_slot)
        filler = max(0, SCALE_NODES - have - max(0, slots))
        log("scale: %d nodes now; adding %d for e and %d filler ..."
            % (have, max(0, slots), filler))
        t0 = time.monotonic()
        secs = self.seed(slots) if slots > 0 else 0.0
        t1 = time.monotonic()
        if filler:
            fill(self.ctl, filler)
        t2 = time.monotonic()
        took = self.ctl.settle(timeout=120)
        self.scale_log = {"e_nodes": max(0, slots), "e_seconds": round(secs, 1),
                          "filler_nodes": filler, "filler_seconds": round(t2 - t1, 1),
                          "flush_seconds": round(took, 1)}
        self.sizes["e start"] = sz = table_sizes(self.ctl)
        log("scale: %d nodes, %d MiB of tables, in %.1fs + %.1fs flush"
            % (sz["eri_node"], sz["total_mib"], t2 - t0, took))
        if WARMUP:
            self.run("e", max(CONNS), WARMUP, record=False)

    def db_settings(self):
        v = self.ctl.variables(["version", "innodb_buffer_pool_size",
                                "innodb_flush_log_at_trx_commit", "innodb_log_file_size",
                                "innodb_flush_method", "innodb_doublewrite",
                                "log_bin", "sync_binlog", "max_connections"])
        return v

    def check_resolve(self):
        out = {}
        for variant in ("cmdb", "project"):
            sql = driver_resolve_sql(variant)
            rows = explain_resolve(self.ctl, sql)
            full = [r["table"] for r in rows if r.get("type") in ("ALL", "index")]
            out[variant] = {"sql": sql, "explain": rows, "full_scans": full}
        return out

    # -- report --

    def point(self, w, c):
        runs = [r for r in self.runs if r["workload"] == w and r["conns"] == c]
        if not runs:
            return None
        failed = [r for r in runs if r.get("failed")]
        p = {"workload": w, "conns": c, "runs": len(runs),
             "rps_runs": [round(r.get("rps", 0), 1) for r in runs]}
        if failed:
            p["failed"] = True
            p["why"] = failed[0]["why"]
            return p
        med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
        p.update(rps=med("rps"), p50_ms=med("p50_ms"), p99_ms=med("p99_ms"))
        p["p99_p50"] = p["p99_ms"] / p["p50_ms"] if p["p50_ms"] else None
        if all("questions_per_req" in r for r in runs):
            for k in ("round_trips_per_req", "questions_per_req",
                      "queries_per_req", "calls_per_req", "statements_per_req",
                      "stmt_execute_per_req", "fsyncs_per_req",
                      "page_reads_per_req"):
                p[k] = med(k)
        if all("cpu_us_per_req" in r for r in runs):
            p["cpu_us_per_req"] = {k: statistics.median(r["cpu_us_per_req"][k]
                                                        for r in runs)
                                   for k in runs[0]["cpu_us_per_req"]}
            p["cpu_busy"] = med("cpu_busy")
            p["cpu_other"] = max(r["cpu_other"] for r in runs)
        if all("mariadb_cpu_us_per_action" in r for r in runs):
            p["mariadb_cpu_us_per_action"] = med("mariadb_cpu_us_per_action")
            p["mariadb_cpu_us_runs"] = [r["mariadb_cpu_us_per_action"] for r in runs]
        p["deadlocks"] = sum(r["db"]["Innodb_deadlocks"] for r in runs)
        p["requests_total"] = sum(r.get("requests", 0) for r in runs)
        p["db_applied_total"] = sum(r.get("db_applied", 0) for r in runs)
        return p

    def report(self):
        points = {}
        for w in WORKLOADS + ["e"]:
            for c in CONNS:
                p = self.point(w, c)
                if p:
                    points["%s@%d" % (w, c)] = p
        top = max(CONNS)

        def ratio(x, y):
            px, py = points.get("%s@%d" % (x, top)), points.get("%s@%d" % (y, top))
            if not px or not py or px.get("failed") or py.get("failed"):
                return None
            return px["rps"] / py["rps"]

        ratios = {"a/b": ratio("a", "b"), "c/d": ratio("c", "d"),
                  "e/a": ratio("e", "a")}
        pa = points.get("a@%d" % top)
        ratios["p99/p50"] = pa.get("p99_p50") if pa and not pa.get("failed") else None
        # MariaDB CPU per action, and statements per action (Com_*), of a
        # against b and b2; p99/p50 of every run of a at the most
        # connections, the tail phases included.
        def cpu(w):
            p = points.get("%s@%d" % (w, top))
            return p.get("mariadb_cpu_us_per_action") if p and not p.get("failed") else None
        ca, cb, cb2, cb3 = cpu("a"), cpu("b"), cpu("b2"), cpu("b3")
        ratios["cpu a/b2"] = ca / cb2 if ca and cb2 else None
        ratios["cpu a/b"] = ca / cb if ca and cb else None
        # against the two-round-trip floor (issue 26)
        ratios["cpu a/b3"] = ca / cb3 if ca and cb3 else None
        ratios["cpu b/b3"] = cb / cb3 if cb and cb3 else None
        ratios["cpu b3 us"] = cb3
        ratios["statements a"] = pa.get("statements_per_req") if pa else None
        pb3 = points.get("b3@%d" % top)
        ratios["statements b3"] = pb3.get("statements_per_req") \
            if pb3 and not pb3.get("failed") else None
        every = [r for r in self.runs + self.tail_runs
                 if r["workload"] == "a" and r["conns"] == top and not r.get("failed")]
        ratios["p99/p50 worst run"] = max((r["p99_ms"] / r["p50_ms"] for r in every
                                           if r.get("p50_ms")), default=None)
        pe = points.get("e@%d" % top)
        ratios["p99/p50 (e)"] = pe.get("p99_p50") if pe and not pe.get("failed") else None

        # Round trips: the service's statements per applied action, with the
        # one housekeeping CALL per 1000 actions per worker allowed for.
        rt_runs = [r for r in self.runs if r["workload"] in ("a", "e")
                   and "round_trips_per_req" in r and not r.get("failed")]
        rt = max((r["round_trips_per_req"] for r in rt_runs), default=None)
        applied = sum(r["db_applied"] for r in rt_runs)
        purges = sum(r["purge_calls"] for r in rt_runs)
        rss_all = [k for s in self.rss for k in s["kib"] if k]
        rss_warm = [s for s in self.rss if s["when"] == "after warm-up"]
        rss_end = self.rss[-1]
        growth = None
        if rss_warm and rss_warm[0]["pids"] == rss_end["pids"]:
            growth = max(e - w for w, e in zip(rss_warm[0]["kib"], rss_end["kib"]))
        verdict = {}

        def check(name, value, ok):
            verdict[name] = None if value is None else bool(ok)

        check("a/b", ratios["a/b"], ratios["a/b"] and ratios["a/b"] >= TARGETS["a/b"])
        check("c/d", ratios["c/d"], ratios["c/d"] and ratios["c/d"] >= TARGETS["c/d"])
        check("e/a", ratios["e/a"], ratios["e/a"] and ratios["e/a"] >= TARGETS["e/a"])
        check("p99/p50", ratios["p99/p50"],
              ratios["p99/p50"] and ratios["p99/p50"] <= TARGETS["p99/p50"])
        check("cpu a/b2", ratios["cpu a/b2"], ratios["cpu a/b2"] is not None
              and ratios["cpu a/b2"] <= TARGETS["cpu a/b2"])
        check("statements", ratios["statements a"], ratios["statements a"] is not None
              and ratios["statements a"] <= TARGETS["statements"])
        check("p99/p50 every run", ratios["p99/p50 worst run"],
              ratios["p99/p50 worst run"] is not None
              and ratios["p99/p50 worst run"] <= TARGETS["p99/p50"])
        check("round_trips", rt, rt is not None and rt <= TARGETS["round_trips"])
        check("rss", rss_all or None, rss_all and max(rss_all) <= TARGETS["rss_kib"])
        # Flat: the same workers (max_requests = 0: none is recycled) grew by
        # at most one allocation chunk between the warm-up and the end.
        check("rss_flat", growth, growth is not None and growth <= 256)
        # Overload: goodput at 20x the capacity within 10% of 1x's.
        ov = {r["conns"] // WORKERS: r for r in self.overload_runs
              if not r.get("failed")}
        ratios["goodput 20x/1x"] = ov[20]["goodput"] / ov[1]["goodput"] \
            if 1 in ov and 20 in ov and ov[1]["goodput"] else None
        check("goodput 20x/1x", ratios["goodput 20x/1x"],
              ratios["goodput 20x/1x"] is not None
              and ratios["goodput 20x/1x"] >= 0.9)

        result = {
            "time": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
            "config": {"seconds": SECONDS, "conns": CONNS, "runs": RUNS,
                       "workers": WORKERS, "tasks": TASKS, "scale_nodes": SCALE_NODES,
                       "warmup": WARMUP, "wrk_threads": WRK_THREADS,
                       "rate_guess": RATE, "only": ONLY,
                       "mix": {k: KINDS.count(k) * 10 for k in sorted(set(KINDS))}},
            "mariadb": self.settings,
            "seeding": {"before_runs": len(self.seed_log),
                        "slots": sum(x["slots"] for x in self.seed_log),
                        "seconds": round(sum(x["seconds"] for x in self.seed_log), 1),
                        "flush_seconds": round(sum(x["flush_seconds"]
                                                   for x in self.seed_log), 1),
                        "scale": self.scale_log},
            "table_sizes": self.sizes,
            "points": points, "ratios": ratios,
            "round_trips": {"max_per_success": rt, "applied": applied,
                            "purge_calls": purges},
            "worker_rss": self.rss, "worker_rss_growth_kib": growth,
            "resolve": self.explain, "targets": TARGETS, "verdict": verdict,
            "notes": self.notes, "runs": self.runs, "tail_runs": self.tail_runs,
            "overload_runs": self.overload_runs,
            "elapsed_seconds": round(self.elapsed, 1),
            "failed": self.failed,
        }
        if getattr(self, "perf_report", None):
            result["perf"] = self.perf_report
        # At log_level warn the pool logs only what went wrong.
        lines = self.svc.pool.log_lines()
        result["pool_log"] = {"lines": len(lines), "first": lines[:5]}
        self.print_report(result)
        dest = os.path.join(harness.ROOT, "results")
        os.makedirs(dest, exist_ok=True)
        path = os.path.join(dest, "bench-%s.json"
                            % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
        with open(path, "w") as f:
            json.dump(result, f, indent=1, default=str)
        log("\nwritten to %s" % os.path.relpath(path, harness.ROOT))
        return 1 if self.failed else 0

    def print_report(self, r):
        P = print
        mark = {True: "ok", False: "MISSED", None: "n/a"}
        s = r["mariadb"]
        P("\n" + "=" * 78)
        P("operate-node bench: %d CPUs, %d workers, %ds x %d runs per point (medians), "
          "%s" % (r["machine"]["cpus"], WORKERS, SECONDS, RUNS, s["version"]))
        P("=" * 78)
        others = [x["cpu_other"] for x in r["runs"] if "cpu_other" in x]
        if others and statistics.median(others) > 0.10:
            P("WARNING: the machine was busy with other work during the runs: other\n"
              "processes took %.0f%% of the CPUs in the median run (up to %.0f%%). The\n"
              "absolute figures are disturbed; the ratios less so (runs interleave)."
              % (100 * statistics.median(others), 100 * max(others)))
        names = {"a": "success mix via nginx", "b": "database only (dbdriver)",
                 "b2": "plain SQL, no procedure",
                 "b3": "plain SQL, 2 round trips",
                 "c": "reject path via nginx", "d": "libfcgi hello via nginx",
                 "e": "a at scale"}
        P("%-28s %5s %9s %7s %7s %7s  %s" % ("workload", "conns", "req/s", "p50 ms",
                                           "p99 ms", "p99/p50", "runs (req/s)"))
        for key, p in r["points"].items():
            w = p["workload"]
            head = "%-2s %-25s %5d" % (w, names[w], p["conns"])
            runs = " ".join("%.0f" % x for x in p["rps_runs"])
            if p.get("failed"):
                P("%s  FAILED: %s" % (head, p["why"][:200]))
                continue
            P("%s %9.0f %7.2f %7.2f %7.2f  %s" % (head, p["rps"], p["p50_ms"],
                                                  p["p99_ms"], p["p99_p50"], runs))
        P("(b runs as many transactions at once as it has connections; a and e at\n"
          " most %d, one per pool worker, the rest wait in nginx and the socket's\n"
          " backlog)" % WORKERS)
        P("\nmix of a/b/e: " + ", ".join("%s %d%%" % kv for kv in r["config"]["mix"].items()))
        top = max(CONNS)
        P("\ntargets (at %d connections)         value      target" % top)
        v = r["verdict"]
        rt = r["ratios"]

        def line(label, value, target, key, fmt="%.2f"):
            val = "n/a" if value is None else fmt % value
            P("  %-33s %8s   %-10s %s" % (label, val, target, mark[v.get(key)]
                                           if key else ""))
        line("a/b  service / database ceiling", rt["a/b"], ">= 0.8", "a/b")
        line("c/d  reject path / transport floor", rt["c/d"], ">= 0.9", "c/d")
        line("e/a  at scale / at start", rt["e/a"], ">= 0.9", "e/a")
        line("p99/p50 of a", rt["p99/p50"], "<= 3", "p99/p50")
        line("p99/p50 of e", rt["p99/p50 (e)"], "(<= 3)", None)
        line("p99/p50 of a, worst run (+tails)", rt["p99/p50 worst run"], "<= 3",
             "p99/p50 every run")
        line("MariaDB CPU/action a/b2", rt["cpu a/b2"], "<= 0.6", "cpu a/b2")
        line("MariaDB CPU/action a/b", rt["cpu a/b"], "", None)
        line("MariaDB CPU/action a/b3", rt["cpu a/b3"], "(<= 1.1)", None)
        line("MariaDB CPU/action b/b3", rt["cpu b/b3"], "", None)
        line("MariaDB CPU/action of b3 (us)", rt["cpu b3 us"], "", None, "%.0f")
        line("statements per action of b3", rt["statements b3"], "", None, "%.1f")
        line("statements per action of a", rt["statements a"], "<= 25", "statements",
             "%.1f")
        rtr = r["round_trips"]
        line("round trips per success (max)", rtr["max_per_success"],
             "<= 2", "round_trips", "%.4f")
        if rtr["applied"]:
            P("  %-33s %8s   (%d purge CALLs / %d actions, after the reply)"
              % ("  + housekeeping", "%.4f" % (rtr["purge_calls"] / rtr["applied"]),
                 rtr["purge_calls"], rtr["applied"]))
        line("overload goodput 20x / 1x", rt.get("goodput 20x/1x"), ">= 0.9",
             "goodput 20x/1x")
        rss = [k for s_ in r["worker_rss"] for k in s_["kib"] if k]
        line("worker RSS, largest (MiB)", max(rss) / 1024 if rss else None,
             "<= 8", "rss")
        g = r["worker_rss_growth_kib"]
        P("  %-33s %8s   %-10s %s" % ("worker RSS growth after warm-up",
                                      "n/a" if g is None else "%+d KiB" % g,
                                      "flat", mark[v.get("rss_flat")]))
        P("\nworker RSS (KiB) by moment, workers %s:" % r["worker_rss"][0]["pids"])
        for s_ in r["worker_rss"]:
            same = "" if s_["pids"] == r["worker_rss"][0]["pids"] else \
                "  (other pids: %s)" % s_["pids"]
            P("  %-16s %s%s" % (s_["when"], " ".join(str(k) for k in s_["kib"]), same))

        P("\ndatabase work per request (server counters; applied actions for a/b/e):")
        P("  %-8s %7s %9s %13s %7s %6s %7s %6s %9s" % (
            "point", "round", "Questions", "Com_stmt_exec", "Queries", "CALLs",
            "fsyncs", "page", "deadlocks"))
        P("  %-8s %7s %9s %13s %7s %6s %7s %6s" % ("", "trips", "", "", "", "",
                                                 "", "reads"))
        for key, p in r["points"].items():
            if "questions_per_req" in p:
                P("  %-8s %7.4f %9.4f %13.4f %7.1f %6.1f %7.3f %6.2f %9d" % (
                    key, p["round_trips_per_req"], p["questions_per_req"],
                    p["stmt_execute_per_req"], p["queries_per_req"], p["calls_per_req"],
                    p["fsyncs_per_req"], p["page_reads_per_req"], p["deadlocks"]))
        P("  Round trips = Questions - housekeeping - abandoned (the resolve of a\n"
          "  request wrk gave up on when its time ended; the pool then applies\n"
          "  nothing). MariaDB's Questions counts each\n"
          "  command a client sends (COM_QUERY; COM_STMT_EXECUTE: one per CALL,\n"
          "  however much the procedure does), not prepares, closes or pings, and not\n"
          "  what a stored program runs. Com_stmt_execute agrees, and b, which sends\n"
          "  exactly 2 per request, shows 2.0000. Queries does count every statement\n"
          "  inside the procedures (SET and IF too), Com_call_procedure every nested\n"
          "  CALL. Housekeeping: CALL opn_purge_replay, once per 1000 actions per\n"
          "  worker after the reply, counted by its DELETE (Com_* count statements\n"
          "  inside procedures; no action deletes). The bench's own statements are\n"
          "  taken off (this connection's session counters).")

        P("\nMariaDB per successful action (mariadbd utime+stime from /proc over the run;\n"
          "statements: the sum of the server's Com_* counters but Com_stmt_*, which\n"
          "count statements inside procedures too; Queries adds the procedures' SET,\n"
          "IF and loop steps):")
        P("  %-8s %10s %10s %10s %8s  %s" % ("point", "CPU us", "statements", "Queries",
                                          "req/s", "CPU us by run"))
        for key, p in r["points"].items():
            if p.get("mariadb_cpu_us_per_action") is not None:
                P("  %-8s %10.0f %10.1f %10.1f %8.0f  %s" % (
                    key, p["mariadb_cpu_us_per_action"], p.get("statements_per_req", 0),
                    p.get("queries_per_req", 0), p["rps"],
                    " ".join("%.0f" % x for x in p["mariadb_cpu_us_runs"])))
        tr = r.get("tail_runs") or []
        if tr:
            P("\ntail phases (a at %d connections, %ds each):" % (top, TAIL_SECONDS))
            P("  %-8s %8s %7s %7s %7s %8s %7s  %s" % ("phase", "req/s", "p50 ms", "p99 ms",
                                                  "p99/p50", "max ms", "CPU us",
                                                  "server during the run"))
            for x in tr:
                if x.get("failed"):
                    P("  %-8s FAILED: %s" % (x["phase"], x["why"][:200]))
                    continue
                P("  %-8s %8.0f %7.2f %7.2f %7.2f %8.1f %7s  %s" % (
                    x["phase"], x["rps"], x["p50_ms"], x["p99_ms"],
                    x["p99_ms"] / x["p50_ms"], x["max_ms"],
                    "%.0f" % x["mariadb_cpu_us_per_action"]
                    if x.get("mariadb_cpu_us_per_action") else "n/a",
                    json.dumps(x.get("probe"))))

        if r["overload_runs"]:
            P("\noverload: a at multiples of the pool's %d workers, %ds each; goodput: "
              "successes/s;\n  shed: nginx's \"nothing was applied\" replies/s "
              "(listen queue full); latency of all replies" % (WORKERS, SECONDS))
            P("  %-8s %8s %9s %8s %9s %9s %6s" % ("load", "conns", "goodput", "shed/s",
                                               "p50 ms", "p99 ms", "fails"))
            for x in r["overload_runs"]:
                if x.get("failed"):
                    P("  %-8s FAILED: %s" % ("%dx" % (x["conns"] // WORKERS), x["why"]))
                    continue
                P("  %-8s %8d %9.0f %8.0f %9.1f %9.1f %6d" % (
                    "%dx" % (x["conns"] // WORKERS), x["conns"], x["goodput"],
                    x["shed"] / x["wall"], x["p50_ms"], x["p99_ms"],
                    x["requests"] - x["ok"] - x["shed"]))

        P("\nCPU per request (us; process CPU time / replies), and how busy the %d CPUs were:"
          % r["machine"]["cpus"])
        P("  %-8s %8s %8s %9s %8s %8s %6s %6s" % ("point", "nginx", "app", "mariadbd",
                                                "client", "total", "busy", "other"))
        for key, p in r["points"].items():
            cu = p.get("cpu_us_per_req")
            if cu:
                P("  %-8s %8.0f %8.0f %9.0f %8.0f %8.0f %5.0f%% %5.0f%%" % (
                    key, cu["nginx"], cu["app"], cu["mariadbd"], cu["client"],
                    sum(cu.values()), p["cpu_busy"] * 100, p["cpu_other"] * 100))
        P("  (app: the pool for a/c/e, hello for d, none for b; client: wrk or dbdriver;\n"
          "  busy: the bench's processes, median; other: the rest of the machine, worst\n"
          "  run -- anything above a few % there means the figures are disturbed)")

        P("\nresolve SELECT (app/store_sql.h), EXPLAIN as prepared:")
        for variant, x in r["resolve"].items():
            P("  scope %s: %s" % (variant, "no full scans" if not x["full_scans"]
                                 else "FULL SCANS of %s" % x["full_scans"]))
            for row in x["explain"]:
                P("    %-2s %-12s %-10s %-7s %-22s %-5s %s" % (
                    row.get("id"), row.get("select_type"), row.get("table"),
                    row.get("type"), row.get("key"), row.get("rows"),
                    row.get("Extra") or ""))

        P("\nMariaDB: buffer pool %d MiB, innodb_flush_log_at_trx_commit=%s, redo log "
          "%d MiB, flush method %s, doublewrite %s, binlog %s"
          % (int(s["innodb_buffer_pool_size"]) // 1048576,
             s["innodb_flush_log_at_trx_commit"],
             int(s["innodb_log_file_size"]) // 1048576, s["innodb_flush_method"],
             "on" if str(s["innodb_doublewrite"]) in ("1", "ON") else "off",
             "on" if str(s["log_bin"]) in ("1", "ON") else "off"))
        bp = int(s["innodb_buffer_pool_size"]) // 1048576
        P("  tests/harness.py's private server %s%s.\n"
          "  Every commit is durable (an fsync per commit group), as production must\n"
          "  run; the headline figures need that. The buffer pool holds the 1M-node\n"
          "  tables of e, as a production server holds its working set (with the\n"
          "  harness's 256 MiB, BENCH_BUFFER_POOL=0, e measures the disk instead:\n"
          "  random ids put every lookup on a leaf page of its own). Sessions as\n"
          "  the service opens them: utf8mb4, READ COMMITTED."
          % ("as it is" if bp == 256 else "with the buffer pool resized to %d MiB" % bp,
             ", adaptive hash index on" if AHI else ""))
        sz = r["table_sizes"]
        P("  tables (nodes, MiB on disk): %s" % "; ".join(
            "%s %d, %d" % (k, v["eri_node"], v["total_mib"]) for k, v in sz.items()))
        pe = [p for p in r["points"].values() if p["workload"] == "e"
              and p.get("page_reads_per_req") is not None]
        if pe and "e start" in sz:
            P("  e reads %.2f pages per request from disk (a: %.2f), with %d MiB of\n"
              "  tables against a %d MiB buffer pool: ids are random like bk-sops'\n"
              "  uuids, so each lookup by node id (node, state, data, execution data,\n"
              "  schedule, process) and each insert by request id (opn$replay,\n"
              "  opn$outbox) lands on a leaf page of its own."
              % (max(p["page_reads_per_req"] for p in pe),
                 max((p.get("page_reads_per_req") or 0) for p in r["points"].values()
                     if p["workload"] == "a"),
                 sz["e start"]["total_mib"], int(s["innodb_buffer_pool_size"]) // 1048576))
        sd = r["seeding"]
        P("  seeding before runs: %d times, %d nodes in all, %.1fs (each run of a, b\n"
          "  and e also starts after a flush of the dirty pages)"
          % (sd["before_runs"], sd["slots"], sd["seconds"]))
        if sd["scale"]:
            P("  scale: %(e_nodes)d nodes for e in %(e_seconds).1fs, %(filler_nodes)d "
              "filler nodes in %(filler_seconds).1fs, %(flush_seconds).1fs flush"
              % sd["scale"])
        if r.get("perf"):
            P("\nperf, whole machine, last run of a at %d connections (by process, "
              "then by symbol):\n%s" % (top, r["perf"]))
        pl = r["pool_log"]
        P("\npool log (level warn): %d lines%s" % (pl["lines"], "".join(
            "\n  " + json.dumps(x)[:200] for x in pl["first"])))
        for n in r["notes"]:
            P("note: " + n)
        met = [x for x in v.values() if x]
        if others and statistics.median(others) > 0.10:
            P("\nWARNING: other work took %.0f%% of the CPUs in the median run (see top)."
              % (100 * statistics.median(others)))
        P("\n%s; targets met: %d of %d; %.0fs in all" % (
            "FAILED runs (their figures are not used)" if r["failed"] else "all runs clean",
            len(met), len(v), r["elapsed_seconds"]))


def main():
    for b in (DBDRIVER, HELLO, os.path.join(BUILD, "operate-node")):
        if not os.access(b, os.X_OK):
            print("bench: %s is missing: run it with make bench" % b, file=sys.stderr)
            return 2
    if shutil.which("wrk") is None:
        print("bench: wrk is missing (tests/install-deps.sh)", file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    # Also when started as a background job, which inherits SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    bench = Bench()
    try:
        return bench.main()
    except KeyboardInterrupt:
        bench.failed = True
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception:
        bench.failed = True
        raise
    finally:
        if bench.failed or KEEP:
            print("logs kept in " + bench.env.top, file=sys.stderr)
        bench.stop()


if __name__ == "__main__":
    sys.exit(main())
