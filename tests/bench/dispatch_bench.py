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

Settings (environment): DISPATCH_N (300), DISPATCH_BACKLOG (20000),
DISPATCH_RUNS (3), DISPATCH_SECONDS (5), DISPATCH_CONNS (16),
DISPATCH_BATCH (the pool's dispatch_batch; empty: its default), BENCH_KEEP.
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

    def retry(self, node):
        r = self.svc.post("/operate_node/2/12/", {
            "bk_app_code": DEMO[0], "bk_app_secret": DEMO[1],
            "bk_username": "admin", "node_id": node, "action": "retry"})
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

    def actions(self):
        import bench
        ctl = bench.Control(self.db)
        bench.seed_tasks(ctl, bench.TASKS)
        slots = 3000 * SECONDS
        bench.seed_slots(ctl, 0, slots)
        first = self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM `opn$outbox`")
        threads = min(2, CONNS)
        argv = ["wrk", "-t", str(threads), "-c", str(CONNS), "-d",
                "%ds" % SECONDS, "-T", "10s", "-s",
                os.path.join(HERE, "success.lua"),
                "http://127.0.0.1:%d/" % self.svc.nginx.port, "--", "0",
                str(slots), str(threads), str(bench.TASKS), str(bench.TASK_BASE)]
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
        self.res["actions"] = dict(
            conns=CONNS, seconds=secs, requests=m["requests"], fails=m["fails"],
            actions_per_s=(m["requests"] - m["fails"]) / secs,
            reply_p50_ms=m["p50_us"] / 1000, reply_p99_ms=m["p99_us"] / 1000,
            outbox_rows=nrows, rows_per_s=nrows / secs,
            lat_p50_ms=pct(lat, 50) if lat else None,
            lat_p99_ms=pct(lat, 99) if lat else None)

    def report(self):
        r = self.res
        L, A = r["latency"], r["actions"]
        P = log
        P("")
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
        ok = ratio >= 1 and r["dispatch_msgs_per_s"] >= A["rows_per_s"]
        r["ratio"] = ratio
        P("  dispatcher msgs/s / actions/s = %.2f  (target >= 1: %s; "
          "vs outbox rows/s %.2f)"
          % (ratio, "PASS" if ok else "FAIL",
             r["dispatch_msgs_per_s"] / max(A["rows_per_s"], 1e-9)))
        os.makedirs(os.path.join(harness.ROOT, "results"), exist_ok=True)
        path = os.path.join(harness.ROOT, "results", "dispatch-%s.json"
                            % time.strftime("%Y%m%d-%H%M%S"))
        with open(path, "w") as f:
            json.dump(r, f, indent=1, default=str)
        P("  (written to %s)" % os.path.relpath(path, harness.ROOT))
        return ok


def main():
    b = Bench()
    ok = False
    try:
        b.start()
        b.latency()
        b.actions()
        b.throughput()
        ok = b.report()
    finally:
        b.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
