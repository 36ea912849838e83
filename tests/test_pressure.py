"""Truthful under pressure (issue 22, items 1 and 2):

- an action that waits on a row lock longer than db_read_timeout (the task
  row, the node's state row, its process row, held by another session with
  SELECT ... FOR UPDATE, under READ COMMITTED and REPEATABLE READ) is
  answered truthfully, and the rows afterwards, also once the lock is
  released, agree with the reply: the server gives up first
  (innodb_lock_wait_timeout and max_statement_time per session), and when
  it does not (both off), the worker kills the abandoned statement before
  it settles the outcome;
- /healthz follows the schema (a renamed table) and answers while peers
  stall on the status socket."""
import socket
import threading
import time

import pymysql

import harness
import rows

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
NOTHING = {"database timed out, nothing was applied",
           "database unavailable, nothing was applied"}
READ_TIMEOUT = 2        # db_read_timeout in these pools: keeps the cases short
HOLD = READ_TIMEOUT + 3  # each lock is held longer than a read

# What another session locks: the three rows a retry of act_failed needs.
LOCKS = {
    "task": "SELECT * FROM taskflow3_taskflowinstance WHERE id = 12 FOR UPDATE",
    "state": "SELECT * FROM eri_state WHERE node_id = 'act_failed' FOR UPDATE",
    "process": "SELECT * FROM eri_process WHERE id = 1 FOR UPDATE",
}
ISOLATIONS = ("READ COMMITTED", "REPEATABLE READ")


def held_lock(env, isolation, sql, seconds):
    """Another session holds sql's rows for seconds, then rolls back."""
    c = pymysql.connect(unix_socket=env.db.sock, user="root", database=harness.DBNAME)
    with c.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL " + isolation)
        cur.execute("BEGIN")
        cur.execute(sql)

    def release():
        time.sleep(seconds)
        c.rollback()
        c.close()
    t = threading.Thread(target=release)
    t.start()
    return t


def lock_cases(env, nginx, pool, label):
    """Every lock under both isolation levels: each reply says what the
    rows then show, and still show once the lock is gone; the same request
    sent again after that is applied once."""
    old = env.db.scalar("SELECT @@GLOBAL.tx_isolation")
    try:
        for isolation in ISOLATIONS:
            env.db.exec("SET GLOBAL TRANSACTION ISOLATION LEVEL " + isolation)
            for what, sql in LOCKS.items():
                env.db.reset_demo()
                case = "%s, %s lock, %s" % (label, what, isolation)
                rid = "lock-%s-%s-%s" % (label, what, isolation.split()[0].lower())
                body = dict(CRED, node_id="act_failed", action="retry")
                before = env.db.snapshot()
                t = held_lock(env, isolation, sql, HOLD)
                t0 = time.monotonic()
                r = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                         body, {"X-Request-Id": rid})
                took = time.monotonic() - t0
                t.join()
                time.sleep(1)           # anything abandoned would commit now
                state = rows.state_name(env.db, "act_failed")
                applied = rows.replay(env.db, rid)
                if r.status == 200 and r.json["code"] == 0:
                    assert state == "READY" and applied, (case, r, state)
                else:
                    assert r.status == 503 and r.json["code"] == 3555000, (case, r)
                    assert r.json["message"] in NOTHING, (case, r)
                    assert state == "FAILED" and not applied, \
                        ("%s: answered %r, and then it was applied" % (case, r.json["message"]),
                         state, applied)
                    assert harness.diff_snapshots(before, env.db.snapshot()) == [], case
                    assert took < HOLD, (case, took)
                # sent again: applied once, or answered from its record
                r2 = harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                          body, {"X-Request-Id": rid})
                assert r2.status == 200 and r2.json["code"] == 0, (case, r2)
                assert rows.state_name(env.db, "act_failed") == "READY", case
                assert len(rows.records(env.db, "act_failed")) == 1, case
                print("     %s: %d %s in %.1fs" % (case, r.status, r.json["message"], took))
    finally:
        env.db.exec("SET GLOBAL tx_isolation = '%s'" % old)
        env.db.reset_demo()


def lock_pool(env, name, **conf):
    pool = harness.Pool(env, name=name, workers=1, db_read_timeout=READ_TIMEOUT,
                        **conf).start()
    nginx = harness.Nginx(env, pool, name=name + "-nginx").start()
    return pool, nginx


def test_lock_held_past_the_read_timeout_server_gives_up(env):
    """The defaults: the session's lock wait and statement time are below
    db_read_timeout, so the server ends the CALL and rolls it back before
    the client stops reading."""
    pool, nginx = lock_pool(env, "lock-limits")
    try:
        lock_cases(env, nginx, pool, "limits")
        lost = [l for l in pool.log_lines() if "lost its connection" in l.get("msg", "")
                or "connection lost during" in l.get("msg", "")]
        assert lost == [], lost[:3]
    finally:
        nginx.stop()
        pool.stop()


def test_lock_held_past_the_read_timeout_statement_time_limit(env):
    """The server's lock wait left long (50 s), only MariaDB's
    max_statement_time (db_statement_timeout) below db_read_timeout: the
    server ends the whole CALL and rolls it back."""
    pool, nginx = lock_pool(env, "lock-stmt", db_lock_wait_timeout=-1)
    try:
        lock_cases(env, nginx, pool, "statement")
        ended = [l for l in pool.log_lines() if "ended the action at its time limit"
                 in l.get("msg", "")]
        assert len(ended) == len(LOCKS) * len(ISOLATIONS), pool.log_lines()[-6:]
    finally:
        nginx.stop()
        pool.stop()


def test_lock_held_past_the_read_timeout_abandoned_call_is_killed(env):
    """Without server-side limits (as on MySQL, whose max_execution_time
    covers only SELECT): the read times out, and the worker kills the
    abandoned CALL and waits for its thread to end before it answers."""
    pool, nginx = lock_pool(env, "lock-kill", db_lock_wait_timeout=-1,
                            db_statement_timeout=-1)
    try:
        lock_cases(env, nginx, pool, "kill")
        ended = [l for l in pool.log_lines() if "was ended and had not committed"
                 in l.get("msg", "")]
        assert len(ended) == len(LOCKS) * len(ISOLATIONS), pool.log_lines()[-6:]
    finally:
        nginx.stop()
        pool.stop()


# /healthz (item 2) ------------------------------------------------------------

def healthz_until(svc, want, timeout):
    """Polls /healthz until it answers want (status, json); returns the
    seconds it took, or fails with the last answer."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = svc.status("/healthz")
        if (last.status, last.json) == want:
            return time.monotonic() - t0
        time.sleep(0.2)
    raise AssertionError("/healthz did not answer %r within %.0fs: %r" % (want, timeout, last))


def test_healthz_follows_a_renamed_table(env):
    """A table renamed away after the status process connected: /healthz
    says "schema" within the workers' recheck interval (5 s), as every
    action then fails; renamed back, "ok" again."""
    env.db.reset_demo()
    svc = harness.Service(env, name="health-rename", workers=1)
    renamed = False
    try:
        assert healthz_until(svc, (200, {"status": "ok"}), 10) < 10
        env.db.exec("RENAME TABLE eri_state TO eri_state_away")
        renamed = True
        took = healthz_until(svc, (500, {"status": "schema"}), 12)
        r = svc.post("/operate_node/2/12/", dict(CRED, node_id="act_failed", action="retry"))
        assert r.status == 500 and r.json["code"] == 3599999, r
        env.db.exec("RENAME TABLE eri_state_away TO eri_state")
        renamed = False
        back = healthz_until(svc, (200, {"status": "ok"}), 12)
        print("     /healthz said schema %.1fs after the rename, ok %.1fs after it was undone"
              % (took, back))
    finally:
        if renamed:
            env.db.exec("RENAME TABLE eri_state_away TO eri_state")
        svc.stop()


def test_healthz_answers_beside_stalled_status_peers(env):
    """Three peers connect to the status socket and send nothing, and
    reconnect as they are cut off: every /healthz still answers, quickly."""
    env.db.reset_demo()
    svc = harness.Service(env, name="health-stall", workers=1)
    stop = threading.Event()
    cut = [0]

    def staller():
        while not stop.is_set():
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(svc.pool.status_sock)
                s.settimeout(30)
                s.recv(1)           # until the pool cuts it off
                cut[0] += 1
            except OSError:
                time.sleep(0.05)
            finally:
                s.close()
    threads = [threading.Thread(target=staller) for _ in range(3)]
    try:
        assert svc.status("/healthz").status == 200
        for t in threads:
            t.start()
        time.sleep(0.5)
        worst = 0.0
        for _ in range(10):
            t0 = time.monotonic()
            h = svc.status("/healthz")
            worst = max(worst, time.monotonic() - t0)
            assert (h.status, h.json) == (200, {"status": "ok"}), h
            time.sleep(0.2)
        assert worst < 1.5, worst
        assert cut[0] >= 3, cut        # the stalls were cut at the short deadline
        print("     slowest /healthz %.2fs; stalled connections cut: %d" % (worst, cut[0]))
    finally:
        stop.set()
        for t in threads:
            if t.is_alive():
                t.join(40)
        svc.stop()
