"""Three MariaDB Galera nodes, each in its own network namespace on one
bridge, with two pools and one nginx in the root namespace: races across
nodes, the writer killed under load, its rejoin, and a node cut off.
Run as user mysql (rsync SST fails as root); bootstrapped by the test."""
import collections
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pymysql

import harness
import netns
import test_reliability as reliability
from test_reliability import CRED, assert_consistent, seed_once

# Rounds of the race test across nodes: the issue asks for 200; 60 keep the
# module near 4 minutes (a round takes 0.15 s on a quiet 2-core machine,
# 0.3 s on a busy one). GALERA_RACE_ROUNDS=200 runs the full count.
RACE_ROUNDS = int(os.environ.get("GALERA_RACE_ROUNDS", "60"))
RACERS = 50
WORKERS = 3                 # per pool
LOAD_THREADS = 8
LOAD_SECONDS = 12           # the writer is killed after KILL_AFTER of them
KILL_AFTER = 4
MEASURE_SECONDS = int(os.environ.get("GALERA_MEASURE_SECONDS", "5"))
CONNECT_TIMEOUT = 2         # db_connect_timeout of the pools
FAILBACK = 3                # db_failback_interval of the pools
RECONNECT = 0.25            # store.c's RECONNECT_MS
BACKOFF = 0.05              # a load thread's pause after a failed request
# The nodes' namespaces and links on one bridge (tests/netns.py), in one
# private /24: .1 the bridge, .11-.13 the nodes.
SITE = netns.Site("opng", "10.232")
DB_USER = "opnode"
DB_HOSTS = SITE.octets + ".%"
DB_GRANTS = "SELECT, EXECUTE"
GALERA = "/usr/lib/galera/libgalera_smm.so"

NODES = []
POOLS = []
STATE = {}


# Rows, through helpers kept here: the table names change with the schema --

class On:
    """test_reliability's helpers take an env; this one points at a node."""

    def __init__(self, node):
        self.db = node


def seed_failed(node, n, prefix):
    """n failed nodes of task 12, ready for one retry each, in one
    transaction on the given Galera node, applied on every node."""
    ids = seed_once(On(node), n, prefix)
    wait_applied()
    return ids


def applied(node, prefix):
    """node_id -> request_ids of the actions applied on it, as one node sees
    them (the replay row is written in the action's own transaction)."""
    out = collections.defaultdict(list)
    for r in node.query("SELECT node_id, request_id FROM `opn$replay` "
                        "WHERE node_id LIKE %s", prefix.replace("_", "\\_") + "%"):
        out[r["node_id"]].append(r["request_id"])
    return dict(out)


def retry_call(conn, node_id):
    """The service's own entry point, straight to a node."""
    return harness.call_operate_node(conn, project_id=1, task_id=12,
                                     node_id=node_id, action="retry",
                                     request_id="direct-" + node_id)


def load_database(node):
    """The schema, procedures and demo data, into one node (it replicates
    them): the harness's way when it has one, else sql/load.sh."""
    client = ["mariadb", "--no-defaults", "-S", node.sock, "-uroot"]
    if hasattr(harness, "load_database"):
        harness.load_database(client)
        return
    subprocess.run([os.path.join(harness.ROOT, "sql", "load.sh"), "--force",
                    "--demo", harness.DBNAME] + client[2:], check=True,
                   stderr=subprocess.DEVNULL)


# The nodes -------------------------------------------------------------------

class Node(harness.MariaDB):
    """A Galera node: mariadbd as user mysql in its own namespace, with a
    veth on the bridge; reached by the tests as root on its unix socket."""

    def __init__(self, env, i, net):
        super().__init__(env.top)
        self.i = i
        self.name = "node%d" % i
        self.dir = os.path.join(env.top, "galera-" + self.name)
        self.datadir = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "mysqld.sock")
        self.host = netns.Host(SITE, i, net, bridged=True)
        self.ns = self.host.ns
        self.addr = self.host.ns_ip
        self.port = 3306
        self.cut = []

    def init(self):
        """Starts mariadb-install-db; returns its Popen (all three at once)."""
        os.makedirs(self.dir, exist_ok=True)
        shutil.chown(self.dir, "mysql", "mysql")
        with open(os.path.join(self.dir, "install.log"), "ab") as log:
            return subprocess.Popen(["mariadb-install-db", "--no-defaults",
                                     "--datadir=" + self.datadir, "--user=mysql",
                                     "--auth-root-authentication-method=normal",
                                     "--skip-test-db"],
                                    stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)

    def start(self, peers=None):
        """Bootstraps a new cluster without peers, else joins them."""
        addr = self.addr
        argv = ["ip", "netns", "exec", self.ns, "mariadbd", "--no-defaults",
                "--user=mysql", "--datadir=" + self.datadir,
                "--socket=" + self.sock, "--port=3306", "--bind-address=" + addr,
                "--pid-file=" + os.path.join(self.dir, "mariadbd.pid"),
                "--log-error=" + os.path.join(self.dir, "error.log"),
                "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=64M",
                "--innodb-flush-log-at-trx-commit=1", "--max-connections=200",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--skip-name-resolve",
                "--wsrep-on=ON", "--wsrep-provider=" + GALERA,
                "--wsrep-cluster-name=opnode-test", "--wsrep-node-name=" + self.name,
                "--wsrep-node-address=" + addr,
                "--wsrep-sst-method=rsync",
                "--wsrep-sst-receive-address=%s:4444" % addr,
                "--wsrep-provider-options=gmcast.listen_addr=tcp://%s:4567;"
                "ist.recv_addr=%s:4568;gcache.size=128M" % (addr, addr),
                "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2",
                "--wsrep-cluster-address=gcomm://" +
                ",".join("%s:4567" % p.addr for p in peers or [])]
        if not peers:
            argv.append("--wsrep-new-cluster")
        else:
            pos = self.recovered_position(argv)
            if pos:
                argv.append("--wsrep-start-position=" + pos)
        self.proc = harness.Procs.spawn(argv, os.path.join(self.dir, "stdout.log"))
        harness.wait_for(lambda: self.proc.poll() is None and self.synced(), 120,
                         self.name + " to be synced")
        return self

    def recovered_position(self, argv):
        """What Debian's unit does before a start (galera_recovery): after
        a crash grastate.dat has seqno -1, and the last committed position
        read from InnoDB lets the node rejoin by IST instead of SST."""
        grastate = os.path.join(self.datadir, "grastate.dat")
        if not os.path.exists(grastate):
            return None
        with open(grastate) as f:
            if not re.search(r"^seqno:\s+-1\s*$", f.read(), re.M):
                return None
        log = os.path.join(self.dir, "recover.log")
        subprocess.run(argv + ["--wsrep-recover", "--log-error=" + log],
                       check=True, timeout=120, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(log, errors="replace") as f:
            found = re.findall(r"Recovered position: (\S+:-?\d+)", f.read())
        return found[-1] if found else None

    def kill(self):
        """SIGKILL to mariadbd (ip netns exec has become it)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        harness.Procs.stop(self.proc)
        self.proc = None
        self._conn = None

    def status(self, name):
        with pymysql.connect(unix_socket=self.sock, user="root") as c:
            with c.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
                row = cur.fetchone()
        return row[1] if row else None

    def synced(self):
        return self.status("wsrep_local_state") == "4" and \
            self.status("wsrep_ready") == "ON"

    def hosts_of(self, user=DB_USER):
        """The addresses the service's connections come from (SHOW works
        on a node that is not synced, SELECT does not)."""
        with pymysql.connect(unix_socket=self.sock, user="root") as c:
            with c.cursor() as cur:
                cur.execute("SHOW PROCESSLIST")
                return [r[2] for r in cur.fetchall() if r[1] == user]

    def cut_off(self, others):
        """Inside the namespace: nothing to the other nodes, the pools
        (on the bridge address) still reach it."""
        for o in others:
            netns.ip("route", "add", "prohibit", o.addr + "/32", ns=self.ns)
            self.cut.append(o.addr)

    def heal(self):
        for a in self.cut:
            netns.ip("route", "del", "prohibit", a + "/32", ns=self.ns, check=False)
        self.cut = []

    def checksums(self):
        """CHECKSUM TABLE of every table: what must agree on all nodes."""
        rows = self.query("CHECKSUM TABLE " + ", ".join(
            "`%s`" % t for t in harness.TABLES))
        return {r["Table"].split(".")[-1]: r["Checksum"] for r in rows}


# Pools and nginx ---------------------------------------------------------------

class GPool(harness.Pool):
    """The real pool in the root namespace, reaching the nodes over the
    bridge in the given order of preference."""

    def __init__(self, env, i, order, password_file):
        super().__init__(env, name="gal-pool%d" % i, workers=WORKERS,
                         db_socket="", db_hosts=", ".join(
                             "%s:3306" % n.addr for n in order),
                         db_user=DB_USER, db_password_file=password_file,
                         db_connect_timeout=CONNECT_TIMEOUT,
                         db_failback_interval=FAILBACK)
        self.order = order

    def retries(self):
        return sum(1 for l in self.log_lines()
                   if str(l.get("msg", "")).startswith("transaction retry"))


class Front(harness.Nginx):
    """nginx with the shipped upstream-pools.conf and fastcgi-pools.conf
    before the pools' sockets (harness.Nginx)."""

    def __init__(self, env, pools):
        super().__init__(env, name="gal-nginx", pools=pools)

    def retry(self, node, request_id=None):
        h = {"X-Request-Id": request_id} if request_id else {}
        return harness.http_request(self.port, "POST", "/operate_node/2/12/",
                                    dict(CRED, node_id=node, action="retry"), h)

    def retry_until_answered(self, node, request_id, timeout=30):
        """What a client does after a 502, 503 or 504: the same request,
        same id, a little later."""
        end = time.monotonic() + timeout
        while True:
            r = self.retry(node, request_id)
            if r.status not in (502, 503, 504) or time.monotonic() > end:
                return r
            time.sleep(0.2)


def start_pools(env, orders):
    """Both pools, each with its order of hosts (restarted if running)."""
    for p in POOLS:
        p.stop()
    del POOLS[:]
    for i, order in enumerate(orders, 1):
        POOLS.append(GPool(env, i, order, STATE["pwfile"]).start())
    harness.wait_for(lambda: all(len(p.workers()) == WORKERS for p in POOLS), 10,
                     "the workers")


class Load(reliability.Load):
    """test_reliability's Load through the Front, each node with its own
    request id, recording (node, request id, status, json, sent, done)."""

    def __init__(self, nodes, threads=LOAD_THREADS):
        super().__init__(nodes, threads, svc=STATE["front"])

    def send(self, node):
        """One retry; a failed one pauses the thread for BACKOFF."""
        rid = "gl-" + node
        t0 = time.monotonic()
        try:
            r = self.svc.retry(node, rid)
            item = (node, rid, r.status, r.json, t0, time.monotonic())
        except Exception as e:  # noqa: BLE001
            item = (node, rid, "error " + repr(e), None, t0, time.monotonic())
        if not success(item[2], item[3]):
            time.sleep(BACKOFF)
        return item


def pool_warnings(ids):
    """The pools' warning and error lines about these request ids, for a
    failure's message: they name the MariaDB error."""
    return [l for p in POOLS for l in p.log_lines()
            if l.get("request_id") in ids and l.get("level") in ("warn", "error")]


def success(status, j):
    return status == 200 and j is not None and j.get("code") == 0


def measure(prefix, secs=MEASURE_SECONDS):
    """Successful actions per second through nginx: (rate, replies)."""
    nodes = seed_failed(NODES[0], 800 * secs, prefix)
    with Load(nodes) as load:
        time.sleep(secs)
    bad = [r for r in load.replies if not success(r[2], r[3])]
    assert not bad, bad[:5]
    assert len(load.replies) < len(nodes), "ran out of nodes"
    return len(load.replies) / secs, load.replies


# Setup --------------------------------------------------------------------------

def setup_module(env):
    try:
        SITE.remove_stale()
        net = SITE.free_nets(1)[0]
        SITE.create_bridge(net)
        # mysql must reach its node's folder under the run's private one.
        STATE["top_mode"] = os.stat(env.top).st_mode & 0o777
        os.chmod(env.top, 0o711)
        t0 = time.monotonic()
        for i in (1, 2, 3):
            NODES.append(Node(env, i, net))
            NODES[-1].host.create()
        # All three at once; one that fails (it happened once in 20 runs,
        # with the machine shared) is done again alone.
        for n, p in [(n, n.init()) for n in NODES]:
            tries = 1
            while p.wait(180) != 0:
                log = open(os.path.join(n.dir, "install.log"), errors="replace").read()
                assert tries < 3, "mariadb-install-db failed 3 times: " + log[-2000:]
                shutil.rmtree(n.datadir, ignore_errors=True)
                time.sleep(1)
                p, tries = n.init(), tries + 1
        NODES[0].start()
        load_database(NODES[0])
        pwfile = os.path.join(env.top, "gal-db-password")
        STATE["pwfile"] = pwfile
        NODES[0].add_user(DB_USER, DB_HOSTS, DB_GRANTS, pwfile)
        # The rule: every pool lists the hosts in the same order.
        start_pools(env, [NODES, NODES])
        STATE["front"] = Front(env, POOLS).start()
        STATE["one_node"] = measure("g1_")[0]
        t1 = time.monotonic()
        for n in NODES[1:]:
            n.start(peers=NODES)
        STATE["bootstrap"] = (t1 - t0, time.monotonic() - t1)
    except BaseException:
        teardown_module(env)
        raise


def teardown_module(env):
    """Leaves the machine as it was: no pools, nodes, namespaces or links."""
    step = harness.Teardown()
    if "front" in STATE:
        step(STATE.pop("front").stop)
    for p in POOLS:
        step(p.stop)
    del POOLS[:]
    for n in NODES:
        step(n.stop)
    for n in NODES:
        step(n.host.remove)
    del NODES[:]
    step(SITE.remove_bridge)
    step(SITE.remove_stale)
    if "top_mode" in STATE:
        step(os.chmod, env.top, STATE.pop("top_mode"))
    left = SITE.left()
    assert not left and not step.errors, (left, step.errors)


def wait_synced(nodes, timeout=120):
    harness.wait_for(lambda: all(n.synced() and
                                 n.status("wsrep_cluster_size") == str(len(nodes))
                                 for n in nodes), timeout, "the cluster to be synced")


def wait_applied():
    """Every running node has applied what any of them committed."""
    def same():
        seen = set(n.status("wsrep_last_committed") for n in NODES if n.proc)
        return len(seen) == 1
    harness.wait_for(same, 30, "the nodes to apply the same write sets")


def on_node(node):
    """How many of the pools' connections are on the node."""
    return len(node.hosts_of())


# Tests ----------------------------------------------------------------------------

def test_cluster_and_throughput(env):
    """All pools write on node 1 (the rule); 3 nodes against 1 node."""
    wait_synced(NODES)
    rate, _ = measure("g3_")
    harness.wait_for(lambda: on_node(NODES[0]) == 2 * WORKERS, 5,
                     "every worker on node 1")
    assert on_node(NODES[1]) == on_node(NODES[2]) == 0
    print("     node 1 with data and pools in %.1fs, nodes 2 and 3 joined (SST) in "
          "%.1fs; %.0f actions/s on 1 node, %.0f on 3 nodes (%d threads through "
          "nginx, 2 pools x %d workers, %ds each)"
          % (STATE["bootstrap"] + (STATE["one_node"], rate, LOAD_THREADS, WORKERS,
                                   MEASURE_SECONDS)))


def race(rounds, prefix):
    """RACERS identical retries of one failed node at once through nginx,
    round after round: exactly one success each time, applied once on
    every node. Returns the replies counted, the pools' deadlock retries
    and the time taken."""
    nodes = seed_failed(NODES[0], rounds, prefix)
    before = sum(p.retries() for p in POOLS)
    outcomes = collections.Counter()
    t0 = time.monotonic()
    for node in nodes:
        barrier = threading.Barrier(RACERS)
        replies = []

        def racer():
            barrier.wait()
            try:
                r = STATE["front"].retry(node)
                replies.append((r.status, r.json and r.json.get("code")))
            except Exception as e:  # noqa: BLE001
                replies.append((repr(e), None))
        threads = [threading.Thread(target=racer) for _ in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes.update(replies)
        wins = sum(1 for r in replies if r == (200, 0))
        assert wins == 1, (node, collections.Counter(replies))
    took = time.monotonic() - t0
    retries = sum(p.retries() for p in POOLS) - before
    for n in NODES:
        assert sorted(applied(n, prefix)) == sorted(nodes), n.name
        assert_consistent(On(n), nodes)
    print("     %d rounds of %d in %.1fs: %s; %d deadlock retries (%.1f per 1000 "
          "requests)" % (rounds, RACERS, took, ", ".join(
              "%s/%s x%d" % (k[0], k[1], v) for k, v in sorted(outcomes.items(), key=str)),
              retries, 1000.0 * retries / (rounds * RACERS)))


def test_races_one_writer(env):
    """The rule: both pools on node 1, the task row lock orders the racers."""
    assert on_node(NODES[0]) == 2 * WORKERS
    race(max(1, RACE_ROUNDS // 4), "go_")


def test_split_writers_distinct_actions(env):
    """Pool 1 writes on node 1, pool 2 on node 2: distinct actions all
    succeed; certification conflicts are retried by the pools."""
    start_pools(env, [NODES, [NODES[1], NODES[2], NODES[0]]])
    before = sum(p.retries() for p in POOLS)
    rate, replies = measure("gs_")
    retries = sum(p.retries() for p in POOLS) - before
    assert on_node(NODES[0]) == WORKERS and on_node(NODES[1]) == WORKERS
    ok = {r[0]: r[1] for r in replies}
    for n in NODES:
        assert {k: v for k, v in applied(n, "gs_").items()} == \
            {k: [v] for k, v in ok.items()}, n.name
    assert_consistent(On(NODES[2]), list(ok))
    STATE["split_retries"] = 1000.0 * retries / len(replies)
    print("     %d actions at %.0f/s, %d certification retries (%.1f per 1000 actions)"
          % (len(replies), rate, retries, STATE["split_retries"]))


def test_races_across_nodes(env):
    """Pool 1 on node 1, pool 2 on node 2: certification decides."""
    assert on_node(NODES[1]) == WORKERS, "pool 2 is not on node 2"
    race(RACE_ROUNDS, "gr_")


def test_writer_killed_under_load(env):
    """SIGKILL the node every pool writes on, under load: every reply is a
    success, a clean 503 or nginx's 502/504; every success is applied once
    on the survivors; a retry with the same id gets the first outcome."""
    start_pools(env, [NODES, NODES])
    harness.wait_for(lambda: on_node(NODES[0]) == 2 * WORKERS, 5, "pools on node 1")
    nodes = seed_failed(NODES[0], 800 * LOAD_SECONDS, "gk_")
    with Load(nodes) as load:
        time.sleep(KILL_AFTER)
        t_kill = time.monotonic()
        NODES[0].kill()
        time.sleep(LOAD_SECONDS - KILL_AFTER)
    replies = load.replies
    assert len(replies) < len(nodes), "ran out of nodes"
    kinds = collections.Counter()
    for node, rid, status, j, t0, t1 in replies:
        if success(status, j):
            kinds["success"] += 1
        elif status == 503 and j and j.get("code") == 3555000:
            kinds["503"] += 1
        elif status in (502, 504):
            kinds[str(status)] += 1
        else:
            raise AssertionError("reply %r %r for %s" % (status, j, node))
    after = sorted(t1 - t_kill for _, _, s, j, t0, t1 in replies
                   if t0 >= t_kill and success(s, j))
    assert after, "no success after the kill"
    survivors = NODES[1:]
    ok = {node: rid for node, rid, s, j, _, _ in replies if success(s, j)}
    for n in survivors:
        got = applied(n, "gk_")
        assert all(got.get(k) == [v] for k, v in ok.items()), n.name
        assert all(len(v) == 1 for v in got.values()), n.name
    # The same request ids again, through nginx, to whichever node: the
    # successes are answered from the replay record, the others applied now.
    again = [r for r in replies if not success(r[2], r[3])] + \
        [r for r in replies if success(r[2], r[3])][::max(1, len(ok) // 100)]
    for node, rid, status, j, _, _ in again:
        r = STATE["front"].retry_until_answered(node, rid)
        assert success(r.status, r.json) and r.json["request_id"] == rid, (node, r)
    everyone = [r[0] for r in replies]
    for n in survivors:
        got = applied(n, "gk_")
        assert all(got.get(r[0]) == [r[1]] for r in again), n.name
        assert all(len(v) == 1 for v in got.values()), n.name
        assert_consistent(On(n), everyone)
    STATE["failover"] = after[0]
    print("     %d replies in %ds (%s); first success of a request sent after "
          "the kill %.2fs after it; "
          "%d retried with their ids: all successes, applied once"
          % (len(replies), LOAD_SECONDS, ", ".join(
              "%s %d" % kv for kv in sorted(kinds.items())), after[0], len(again)))


def test_rejoin(env):
    """The killed node comes back (IST or SST), nothing diverges, and the
    pools move back to it."""
    t0 = time.monotonic()
    errlog = os.path.join(NODES[0].dir, "error.log")
    seen = os.path.getsize(errlog)
    NODES[0].start(peers=NODES)
    wait_synced(NODES)
    took = time.monotonic() - t0
    with open(errlog, errors="replace") as f:
        log = f.read()[seen:]
    how = "IST" if "IST received" in log else "SST" if "SST" in log else "?"
    sums = [n.checksums() for n in NODES]
    assert sums[0] == sums[1] == sums[2], sums
    assert len(sums[0]) == len(harness.TABLES) and None not in sums[0].values()
    # Each worker looks again after FAILBACK seconds, after its next request.
    nodes = seed_failed(NODES[1], 1000, "gb_")
    t1 = time.monotonic()
    while on_node(NODES[0]) < 2 * WORKERS and time.monotonic() < t1 + FAILBACK + 10:
        node = nodes.pop()
        r = STATE["front"].retry_until_answered(node, "gl-" + node)
        assert success(r.status, r.json), r
        time.sleep(0.02)
    back = time.monotonic() - t1
    assert on_node(NODES[0]) == 2 * WORKERS, [n.hosts_of() for n in NODES]
    print("     node 1 synced again by %s in %.1fs; %d tables agree on all nodes; "
          "pools back on node 1 %.1fs later (db_failback_interval %d)"
          % (how, took, len(sums[0]), back, FAILBACK))


def test_partition(env):
    """Node 1, where the pools write, is cut off from the other two: it
    refuses writes, the pools move off it within db_connect_timeout plus
    one reconnect interval of its refusal, and every request succeeds."""
    n1, rest = NODES[0], NODES[1:]
    assert on_node(n1) == 2 * WORKERS
    nodes = seed_failed(n1, 6000, "gp_")
    probe = nodes.pop()
    # More threads than workers: every worker gets a request while some
    # wait for the majority to form its primary component again.
    with Load(nodes, threads=LOAD_THREADS) as load:
        time.sleep(1)
        t_cut = time.monotonic()
        n1.cut_off(rest)
        harness.wait_for(lambda: n1.status("wsrep_cluster_status") != "Primary",
                         60, "node 1 to leave the primary component")
        t_minority = time.monotonic()
        harness.wait_for(lambda: on_node(n1) == 0, 30, "the pools to leave node 1")
        t_moved = time.monotonic()
        # Requests wait until nodes 2 and 3 have formed a primary component
        # without node 1; then one sent after the move succeeds.
        harness.wait_for(lambda: any(r[4] > t_moved and success(r[2], r[3])
                                     for r in list(load.replies)), 30,
                         "a success of a request sent after the move")
    replies = load.replies
    with pymysql.connect(unix_socket=n1.sock, user="root",
                         database=harness.DBNAME) as c:
        try:
            retry_call(c, probe)
            refused = None
        except pymysql.err.MySQLError as e:
            refused = e.args[0]
    assert refused == 1047, refused
    # A refused statement is run again on the next host: no request fails.
    failed = [r for r in replies if not success(r[2], r[3])]
    assert not failed, (failed[:5], pool_warnings({r[1] for r in failed}))
    moved = t_moved - t_minority
    assert moved <= CONNECT_TIMEOUT + RECONNECT + 0.5, moved
    # Heal: node 1 catches up, nothing applied twice, nothing diverges.
    n1.heal()
    t_heal = time.monotonic()
    wait_synced(NODES)
    healed = time.monotonic() - t_heal
    ok = {r[0]: r[1] for r in replies if success(r[2], r[3])}
    for n in NODES:
        got = applied(n, "gp_")
        assert all(got.get(k) == [v] for k, v in ok.items()), n.name
        assert all(len(v) == 1 for v in got.values()) and probe not in got
    sums = [n.checksums() for n in NODES]
    assert sums[0] == sums[1] == sums[2]
    slow = max(r[5] - r[4] for r in replies)
    print("     node 1 non-primary %.1fs after the cut; pools off it %.2fs later; "
          "it refused a write with 1047; %d replies, all successes (slowest %.1fs); "
          "healed and in sync %.1fs later" % (t_minority - t_cut, moved, len(replies),
                                               slow, healed))
