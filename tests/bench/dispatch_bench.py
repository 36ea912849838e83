"""make bench, the dispatcher part: how fast the outbox reaches the broker.

A private MariaDB (real schema + demo), RabbitMQ and Redis
(tests/test_dispatch.py's helpers), the pool with broker_url set and nginx in
front. Three figures:

  1 commit-to-confirm latency: DISPATCH_N sequential retries through nginx,
    each on a node of its own (tests/rows.py's seed); per outbox row,
    dispatched_time - created_time (both UTC_TIMESTAMP(6) on the database's
    clock). Also the same figure for the rows of the loaded run of 3.
  2 dispatcher throughput: DISPATCH_BACKLOG execute rows inserted with the
    pool stopped, then the pool started and the backlog timed from the
    rows: confirmed rows after the first batch / (last - first
    dispatched_time). Median of DISPATCH_RUNS runs.
  3 action throughput of a workload-a run (success.lua, bench.py's slot
    seed) through nginx for DISPATCH_SECONDS at DISPATCH_CONNS connections;
    the ratio of 2 to 3 must be >= 1.

One stuck row never holds the others (issue 21), with a real Celery worker:

  4 wake-up latency (each retry's reply to its execute row confirmed, from
    the rows) of WAKE_SKIPS skips then WAKE_RETRIES retries through nginx,
    one at a time: with Redis up; with Redis stopped (the skips' ZREM rows
    stand first in the outbox); with WAKE_STUCK rows for a routing key no
    queue is bound to (broker_declare = no: they come back); and with
    broker_declare = yes on a broker where 'default' was declared as
    bk-sops does (no x-max-priority) and WAKE_STUCK send_taskflow_message
    rows for it. Each p99 against Redis-up's (target <= 2x); every retry's
    message must reach the worker.
  5 workload a's reply p99 while the dispatcher purges PURGE_ROWS
    dispatched outbox rows older than outbox_retention_days, against a run
    without them (target <= 1.2x).

Settings (environment): DISPATCH_N (300), DISPATCH_BACKLOG (20000),
DISPATCH_RUNS (3), DISPATCH_SECONDS (5), DISPATCH_CONNS (16),
DISPATCH_BATCH (the pool's dispatch_batch; empty: its default), WAKE_SKIPS
(1000), WAKE_RETRIES (200), WAKE_STUCK (150), PURGE_ROWS (1000000),
DISPATCH_PARTS (which of latency,actions,throughput,wake,purge to run;
default all), BENCH_KEEP.
"""
import calendar
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import rows  # noqa: E402
import test_dispatch as td  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name, default))


N = env_int("DISPATCH_N", 300)
BACKLOG = env_int("DISPATCH_BACKLOG", 20000)
RUNS = env_int("DISPATCH_RUNS", 3)
SECONDS = env_int("DISPATCH_SECONDS", 5)
CONNS = env_int("DISPATCH_CONNS", 16)
BATCH = os.environ.get("DISPATCH_BATCH", "")
KEEP = os.environ.get("BENCH_KEEP", "0") == "1"
WORKERS = env_int("BENCH_WORKERS", 4)
WAKE_SKIPS = env_int("WAKE_SKIPS", 1000)
WAKE_RETRIES = env_int("WAKE_RETRIES", 200)
WAKE_STUCK = env_int("WAKE_STUCK", 150)
PURGE_ROWS = env_int("PURGE_ROWS", 1000000)
PARTS = os.environ.get("DISPATCH_PARTS",
                       "latency,actions,throughput,wake,purge").split(",")
DEMO = ("demo_app", "demo-app-secret")


def log(msg):
    print(msg, flush=True)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def latencies_ms(db, where="", *args):
    """dispatched_time - created_time of dispatched outbox rows, in ms."""
    r = db.query("SELECT TIMESTAMPDIFF(MICROSECOND, created_time, "
                 "dispatched_time) AS us FROM `opn$outbox` WHERE "
                 "dispatched_time IS NOT NULL " + where, *args)
    return [x["us"] / 1000.0 for x in r]


def undispatched(db):
    return db.scalar("SELECT COUNT(*) FROM `opn$outbox` WHERE "
                     "dispatched_time IS NULL")


def insert_backlog(db, k, tag):
    """k execute rows as the retry procedure writes them (a kwargs object
    with headers), in one multi-row statement per 2000."""
    c = db.conn()
    with c.cursor() as cur:
        for lo in range(0, k, 2000):
            vals = []
            for i in range(lo, min(k, lo + 2000)):
                kw = td.execute_kwargs("n_%s_%d" % (tag, i), process_id=i + 1)
                vals.append(("celery", td.EXECUTE, "default", "er_execute", 100,
                             json.dumps(kw, sort_keys=True), "req-" + tag))
            cur.executemany(
                "INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "priority, body, request_id, created_time) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6))", vals)
    c.commit()


class Bench:
    def __init__(self):
        self.env = harness.Env()
        self.db = self.env.db
        self.rabbit = self.redis = self.svc = None
        self.res = {}

    def pool_conf(self):
        conf = dict(broker_url=self.rabbit.pool_url,
                    broker_password_file=self.rabbit.password_file,
                    broker_declare="yes", redis_url=self.redis.url,
                    workers=WORKERS, log_level="warn", max_requests=0)
        if BATCH:
            conf["dispatch_batch"] = int(BATCH)
        return conf

    def start(self):
        log("dispatch bench: MariaDB, RabbitMQ, Redis, pool and nginx in %s ..."
            % self.env.top)
        self.db.start()
        self.db.load()
        self.db.reset_demo()
        self.rabbit = td.RabbitMQ(self.env.top).start()
        self.redis = td.Redis(self.env.top).start()
        self.svc = harness.Service(self.env, name="dispatch-pool",
                                   **self.pool_conf())
        self.env.service = self.svc

    def stop(self):
        if self.svc:
            self.svc.stop()
            self.env.service = None
        for x in (self.redis, self.rabbit):
            if x:
                x.stop()
        self.env.close(keep=KEEP)

    def drain(self, timeout=120):
        harness.wait_for(lambda: undispatched(self.db) == 0, timeout,
                         "an empty outbox")

    def queues(self):
        """{queue: messages} (rabbitmqctl's -q output keeps a header line)."""
        out = self.rabbit.ctl("list_queues", "-q", "name", "messages").stdout
        return {l.split()[0]: int(l.split()[1]) for l in out.splitlines()
                if len(l.split()) == 2 and l.split()[1].isdigit()}

    def purge(self):
        for q in self.queues():
            self.rabbit.ctl("purge_queue", q)

    # 1: commit to confirm, one action at a time --------------------------

    def retry(self, node, action="retry"):
        r = self.svc.post("/operate_node/2/12/", {
            "bk_app_code": DEMO[0], "bk_app_secret": DEMO[1],
            "bk_username": "admin", "node_id": node, "action": action})
        assert r.json["result"] is True, r

    def latency(self):
        # The dispatcher connects to the broker at its first row: a few
        # actions first, so that the figure is the steady state's.
        for n in rows.seed(self.db, "failed", 5, "n_warm_"):
            self.retry(n)
        self.drain(30)
        nodes = rows.seed(self.db, "failed", N, "n_lat_")
        first = self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM `opn$outbox`")
        replied = {}
        for n in nodes:
            self.retry(n)
            replied[n] = time.time()
        self.drain(30)
        lat = latencies_ms(self.db, "AND id > %s", first)
        assert len(lat) >= N, (len(lat), N)
        # created_time is the procedure's v_now, taken when the action's
        # transaction starts, so the above also counts the action itself.
        # The commit lies between that and the reply: dispatched_time - the
        # reply's arrival (same host, same clock) bounds it from below.
        after = []
        for r in self.db.query(
                "SELECT p.node_id, o.dispatched_time FROM `opn$outbox` o JOIN "
                "`opn$replay` p ON p.request_id = o.request_id WHERE o.id > %s",
                first):
            t = calendar.timegm(r["dispatched_time"].timetuple()) + \
                r["dispatched_time"].microsecond / 1e6
            after.append((t - replied[r["node_id"]]) * 1000)
        self.res["latency"] = dict(actions=N, rows=len(lat), p50_ms=pct(lat, 50),
                                   p99_ms=pct(lat, 99), max_ms=max(lat),
                                   reply_p50_ms=pct(after, 50),
                                   reply_p99_ms=pct(after, 99))

    # 2: a backlog drained -------------------------------------------------

    def throughput_run(self, i):
        self.svc.pool.stop()
        self.purge()
        first = self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM `opn$outbox`")
        insert_backlog(self.db, BACKLOG, "bl%d" % i)
        self.svc.pool.start()
        t0 = time.monotonic()
        self.drain(300)
        wall = time.monotonic() - t0
        # From the rows: the first batch's stamp starts the clock, so the
        # rows confirmed with it are not counted.
        r = self.db.one("SELECT MIN(dispatched_time) AS a, MAX(dispatched_time) "
                        "AS b, TIMESTAMPDIFF(MICROSECOND, MIN(dispatched_time), "
                        "MAX(dispatched_time)) AS us FROM `opn$outbox` WHERE "
                        "id > %s", first)
        head = self.db.scalar("SELECT COUNT(*) FROM `opn$outbox` WHERE id > %s "
                              "AND dispatched_time = %s", first, r["a"])
        got = self.queues().get("er_execute", 0)
        rate = (BACKLOG - head) / (r["us"] / 1e6)
        return dict(rows=BACKLOG, seconds=r["us"] / 1e6, wall_s=wall,
                    msgs_per_s=rate, first_batch=head, in_queue=got)

    def throughput(self):
        runs = [self.throughput_run(i) for i in range(RUNS)]
        self.res["dispatch_runs"] = runs
        self.res["dispatch_msgs_per_s"] = statistics.median(
            r["msgs_per_s"] for r in runs)

    # 3: workload a's action rate, and the latency under it ------------------

    def actions(self, key="actions"):
        import bench
        ctl = bench.Control(self.db)
        if not getattr(self, "slot_base", 0):
            bench.seed_tasks(ctl, bench.TASKS)
            self.slot_base = 0
        slots = 3000 * SECONDS
        lo = self.slot_base
        self.slot_base += slots
        bench.seed_slots(ctl, lo, lo + slots)
        first = self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM `opn$outbox`")
        threads = min(2, CONNS)
        argv = ["wrk", "-t", str(threads), "-c", str(CONNS), "-d",
                "%ds" % SECONDS, "-T", "10s", "-s",
                os.path.join(HERE, "success.lua"),
                "http://127.0.0.1:%d/" % self.svc.nginx.port, "--", str(lo),
                str(lo + slots), str(threads), str(bench.TASKS), str(bench.TASK_BASE)]
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=SECONDS + 60)
        m = None
        for line in p.stdout.splitlines():
            if line.startswith("BENCH_JSON "):
                m = json.loads(line[len("BENCH_JSON "):])
        if p.returncode != 0 or m is None:
            raise RuntimeError("wrk: exit %d: %s" % (p.returncode,
                                                    (p.stderr or p.stdout)[-300:]))
        secs = m["duration_us"] / 1e6
        self.drain(60)
        lat = latencies_ms(self.db, "AND id > %s", first)
        nrows = len(lat)
        self.res[key] = dict(
            conns=CONNS, seconds=secs, requests=m["requests"], fails=m["fails"],
            actions_per_s=(m["requests"] - m["fails"]) / secs,
            reply_p50_ms=m["p50_us"] / 1000, reply_p99_ms=m["p99_us"] / 1000,
            outbox_rows=nrows, rows_per_s=nrows / secs,
            lat_p50_ms=pct(lat, 50) if lat else None,
            lat_p99_ms=pct(lat, 99) if lat else None)
        log("  %s: %s" % (key, json.dumps(self.res[key])))

    # 4: one stuck kind never holds the others (issue 21) -----------------

    def restart(self, **conf):
        """The pool again, with conf over the bench's."""
        self.svc.stop()
        c = self.pool_conf()
        c.update(conf)
        self.svc = harness.Service(self.env, name="dispatch-pool", **c)
        self.env.service = self.svc

    def celery_done(self, timeout=120):
        harness.wait_for(lambda: self.db.scalar(
            "SELECT COUNT(*) FROM `opn$outbox` WHERE dispatched_time IS NULL "
            "AND kind = 'celery' AND routing_key LIKE 'er\\_%%'") == 0,
            timeout, "the engine's rows sent")

    def wake_run(self, tag):
        """WAKE_SKIPS skips then WAKE_RETRIES retries, one at a time;
        returns each retry's reply-to-confirm ms, after checking that every
        retry's execute reached the worker."""
        skips = rows.seed(self.db, "failed", WAKE_SKIPS, "n_s%s_" % tag)
        nodes = rows.seed(self.db, "failed", WAKE_RETRIES, "n_r%s_" % tag)
        for n in skips:
            self.retry(n, "skip")
        first = self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM `opn$outbox`")
        replied = {}
        for n in nodes:
            self.retry(n)
            replied[n] = time.time()
        self.celery_done()
        after = []
        for r in self.db.query(
                "SELECT p.node_id, o.dispatched_time FROM `opn$outbox` o JOIN "
                "`opn$replay` p ON p.request_id = o.request_id WHERE o.id > %s "
                "AND o.kind = 'celery'", first):
            t = calendar.timegm(r["dispatched_time"].timetuple()) + \
                r["dispatched_time"].microsecond / 1e6
            after.append((t - replied[r["node_id"]]) * 1000)
        assert len(after) == WAKE_RETRIES, (len(after), WAKE_RETRIES)
        harness.wait_for(lambda: all(self.worker.by_node(n) for n in nodes),
                         120, "every retry at the worker")
        res = dict(rows=len(after), p50_ms=pct(after, 50),
                   p99_ms=pct(after, 99), max_ms=max(after))
        log("  wake %s: %s" % (tag, json.dumps(res)))
        return res

    def stuck_rows(self, name, queue, kwargs, tag):
        c = self.db.conn()
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, "
                "body, request_id, created_time) VALUES ('celery', %s, "
                "'default', %s, %s, %s, UTC_TIMESTAMP(6))",
                [(name, queue, json.dumps(kwargs), "req-%s" % tag)] * WAKE_STUCK)
        c.commit()

    def wake(self):
        self.worker = td.CeleryWorker(self.env.top, self.rabbit).start()
        res = self.res["wake"] = {}
        try:
            self.drain(60)
            res["redis_up"] = self.wake_run("up")
            self.redis.stop()
            try:
                res["redis_down"] = self.wake_run("rd")
            finally:
                self.redis.start()
            self.drain(60)
            self.restart(broker_declare="no")
            self.stuck_rows("gcloud.taskflow3.celery.tasks.auto_retry_node",
                            "node_auto_retry_unbound",
                            {"taskflow_id": 1, "root_pipeline_id": "p",
                             "node_id": "n", "retry_times": 0,
                             "engine_ver": 2}, "unbound")
            res["unbound"] = self.wake_run("ub")
            self.db.exec("UPDATE `opn$outbox` SET dispatched_time = "
                         "UTC_TIMESTAMP(6) WHERE request_id = 'req-unbound'")
            self.svc.stop()
            self.rabbit.ctl("delete_queue", "default")
            td._declare_plain(self.rabbit, "default")[0].close()
            self.restart(broker_declare="yes")
            self.stuck_rows("gcloud.taskflow3.celery.tasks."
                            "send_taskflow_message", "default",
                            {"task_id": 12, "msg_type": "atom_failed",
                             "node_name": "n"}, "default")
            res["declare_default"] = self.wake_run("dd")
            self.drain(60)
        finally:
            self.worker.stop()
            self.restart()

    # 5: a purge under workload a ---------------------------------------------

    def purge_rows(self):
        self.svc.stop()
        self.db.exec("INSERT INTO `opn$outbox` (kind, name, exchange, "
                     "routing_key, body, request_id, created_time, "
                     "dispatched_time) SELECT 'redis', 'ZREM', '', "
                     "'sops_executing_node_pool', '[\"n_x_1\"]', 'req-old', "
                     "UTC_TIMESTAMP(6) - INTERVAL 10 DAY, UTC_TIMESTAMP(6) - "
                     "INTERVAL 10 DAY FROM seq_1_to_%d" % PURGE_ROWS)

    def purge(self):
        self.restart()
        self.actions("purge_base")
        self.purge_rows()
        t0 = time.monotonic()
        self.restart()          # retention runs at start
        self.actions("purge_during")
        left = self.db.scalar("SELECT COUNT(*) FROM `opn$outbox` WHERE "
                              "request_id = 'req-old'")
        harness.wait_for(lambda: self.db.scalar(
            "SELECT COUNT(*) FROM `opn$outbox` WHERE request_id = 'req-old'")
            == 0, 3600, "the purge")
        self.res["purge"] = dict(rows=PURGE_ROWS, left_after_run=left,
                                 seconds=time.monotonic() - t0)
        log("  purge: %s" % json.dumps(self.res["purge"]))
        self.actions("purge_after")

    def report_issue21(self):
        r, P, ok = self.res, log, True
        if "wake" in r:
            W = r["wake"]
            base = W["redis_up"]["p99_ms"]
            P("  wake-up, %d skips then %d retries through nginx, reply to "
              "confirm of each retry's execute (all reached the worker):"
              % (WAKE_SKIPS, WAKE_RETRIES))
            for k in ("redis_up", "redis_down", "unbound", "declare_default"):
                if k not in W:
                    continue
                x = W[k]
                ratio = x["p99_ms"] / max(base, 1e-9)
                good = ratio <= 2
                ok &= good
                P("    %-16s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  "
                  "p99/up %.2f (%s)" % (k, x["p50_ms"], x["p99_ms"],
                                        x["max_ms"], ratio,
                                        "PASS" if good else "FAIL"))
        if "purge" in r:
            B, D = dict(r["purge_base"]), r["purge_during"]
            # without a purge: before and after it, averaged
            B["reply_p99_ms"] = (B["reply_p99_ms"] +
                                 r["purge_after"]["reply_p99_ms"]) / 2
            B["actions_per_s"] = (B["actions_per_s"] +
                                  r["purge_after"]["actions_per_s"]) / 2
            ratio = D["reply_p99_ms"] / max(B["reply_p99_ms"], 1e-9)
            good = ratio <= 1.2
            ok &= good
            P("  workload a, %d conns, with a purge of %d old rows (%d left "
              "after the run, all gone in %.0f s): p99 %.1f ms vs %.1f ms "
              "without, ratio %.2f (%s); %.0f vs %.0f actions/s"
              % (CONNS, PURGE_ROWS, r["purge"]["left_after_run"],
                 r["purge"]["seconds"], D["reply_p99_ms"], B["reply_p99_ms"],
                 ratio, "PASS" if good else "FAIL", D["actions_per_s"],
                 B["actions_per_s"]))
        return ok

    def report(self):
        r = self.res
        P = log
        P("")
        ok = self.report_issue21()
        if "latency" not in r or "actions" not in r or \
                "dispatch_runs" not in r:
            self.write()
            return ok
        L, A = r["latency"], r["actions"]
        P("dispatcher: the outbox to RabbitMQ (publisher confirms, persistent)")
        P("  commit-to-confirm, %d sequential retries through nginx "
          "(dispatched_time - created_time):" % L["actions"])
        P("    p50 %.2f ms   p99 %.2f ms   max %.2f ms   (%d rows)"
          % (L["p50_ms"], L["p99_ms"], L["max_ms"], L["rows"]))
        P("    (created_time is taken when the action's transaction starts;"
          " from the reply's\n     arrival to dispatched_time, a lower bound:"
          " p50 %.2f ms   p99 %.2f ms)" % (L["reply_p50_ms"], L["reply_p99_ms"]))
        if A.get("lat_p50_ms") is not None:
            P("  commit-to-confirm under workload a (%d conns):"
              "  p50 %.2f ms   p99 %.2f ms   (%d rows)"
              % (A["conns"], A["lat_p50_ms"], A["lat_p99_ms"], A["outbox_rows"]))
        P("  backlog drain, %d execute rows, dispatch_batch %s:"
          % (BACKLOG, BATCH or "default (100)"))
        for i, x in enumerate(r["dispatch_runs"]):
            P("    run %d: %8.0f msgs/s  (%.2f s from first to last confirm, "
              "%.2f s wall from pool start)" % (i + 1, x["msgs_per_s"],
                                                x["seconds"], x["wall_s"]))
        P("    median %.0f msgs/s" % r["dispatch_msgs_per_s"])
        P("  workload a through nginx, %d conns, %.0f s: %.0f actions/s "
          "(%d failed), %.0f outbox rows/s; reply p50 %.1f ms p99 %.1f ms"
          % (A["conns"], A["seconds"], A["actions_per_s"], A["fails"],
             A["rows_per_s"], A["reply_p50_ms"], A["reply_p99_ms"]))
        ratio = r["dispatch_msgs_per_s"] / A["actions_per_s"]
        ok &= ratio >= 1 and r["dispatch_msgs_per_s"] >= A["rows_per_s"]
        r["ratio"] = ratio
        P("  dispatcher msgs/s / actions/s = %.2f  (target >= 1: %s; "
          "vs outbox rows/s %.2f)"
          % (ratio, "PASS" if ok else "FAIL",
             r["dispatch_msgs_per_s"] / max(A["rows_per_s"], 1e-9)))
        self.write()
        return ok

    def write(self):
        r, P = self.res, log
        os.makedirs(os.path.join(harness.ROOT, "results"), exist_ok=True)
        path = os.path.join(harness.ROOT, "results", "dispatch-%s.json"
                            % time.strftime("%Y%m%d-%H%M%S"))
        with open(path, "w") as f:
            json.dump(r, f, indent=1, default=str)
        P("  (written to %s)" % os.path.relpath(path, harness.ROOT))


def main():
    b = Bench()
    ok = False
    try:
        b.start()
        for part in PARTS:
            getattr(b, part)()
        ok = b.report()
    finally:
        b.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
