"""Day-2 operations (issue 25, items 2 and 3): the version (--version, the
log line at start, /status, operate_node_build_info), the command line and
its exit codes, systemd's readiness protocol (READY, RELOADING, STOPPING)
on a notify socket the test binds, a reload with a broken config, journald
priorities on stderr, and the refusal to run as root."""
import json
import os
import re
import signal
import socket
import subprocess
import time

import harness

BINARY = os.path.join(harness.BUILD, "operate-node")
ADMIN = os.path.join(harness.BUILD, "operate-node-admin")


def version():
    with open(os.path.join(harness.ROOT, "VERSION")) as f:
        return f.read().strip()


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


# Version and command line -----------------------------------------------------

def test_version_everywhere(env):
    v = version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v), v
    schema = harness.SCHEMA_VERSION
    for binary, text in ((BINARY, "operate-node %s (schema %d)\n" % (v, schema)),
                         (ADMIN, "operate-node-admin %s\n" % v)):
        for flag in ("--version", "-V"):
            p = run([binary, flag])
            assert (p.returncode, p.stdout, p.stderr) == (0, text, ""), p
    env.db.reset_demo()
    pool = harness.Pool(env, name="version-pool", workers=1).start()
    try:
        status = json.loads(harness.fcgi_get(pool.status_sock, "/status"))
        assert status["version"] == v and status["schema"] == schema, status
        metrics = harness.fcgi_get(pool.status_sock, "/metrics").decode()
        assert '\noperate_node_build_info{version="%s",schema="%d"} 1\n' % (
            v, schema) in metrics, metrics
        assert "# TYPE operate_node_build_info gauge" in metrics
        starts = [l for l in pool.log_lines() if l["msg"].startswith("operate-node ")]
        assert starts and starts[0]["msg"] == \
            "operate-node %s (schema %d) starting, config %s" % (v, schema, pool.conf), starts
        assert starts[0]["pid"] == pool.proc.pid
    finally:
        pool.stop()


# (argv, exit status, where the text goes, a piece of it)
COMMAND_LINES = [
    (["--help"], 0, "stdout", "usage: operate-node"),
    (["-h"], 0, "stdout", "Exit status: 0 done, 1 a bad config"),
    (["--bogus"], 2, "stderr", "usage: operate-node"),
    (["-x"], 2, "stderr", "usage: operate-node"),
    (["-c"], 2, "stderr", "usage: operate-node"),
    (["extra"], 2, "stderr", 'unexpected argument "extra"'),
    (["-t", "-c", "/nonexistent/operate-node.conf"], 1, "stderr",
     "/nonexistent/operate-node.conf"),
    (["--test", "--config", "/nonexistent/x.conf"], 1, "stderr", "/nonexistent/x.conf"),
    (["--config=/nonexistent/y.conf", "-t"], 1, "stderr", "/nonexistent/y.conf"),
]


def command_line_case(argv, rc, stream, text):
    def case(env):
        p = run([BINARY] + argv)
        assert p.returncode == rc, (argv, p)
        assert text in getattr(p, stream), (argv, p)
        if rc == 0:
            assert p.stderr == ""
    return ("operate-node %s exits %d" % (" ".join(argv), rc), case)


CASES = [command_line_case(*c) for c in COMMAND_LINES]


def test_long_options_check_the_config(env):
    conf = harness.pool_config(os.path.join(env.top, "ops-long.conf"), workers=2)
    for argv in (["-t", "-c", conf], ["--test", "--config", conf],
                 ["--config=" + conf, "--test"]):
        p = run([BINARY] + argv)
        assert p.returncode == 0 and p.stdout == "operate-node: %s: ok\n" % conf, p


# sd_notify --------------------------------------------------------------------

class NotifySocket:
    """The socket systemd would pass as NOTIFY_SOCKET: a path, or an
    abstract name ('@...')."""

    def __init__(self, address):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(address if address[0] != "@" else "\0" + address[1:])
        self.address = address

    def recv(self, timeout=15):
        self.s.settimeout(timeout)
        data = self.s.recv(4096).decode()
        return dict(l.split("=", 1) for l in data.split("\n") if l)

    def quiet(self, secs):
        """Nothing arrives for secs."""
        self.s.settimeout(secs)
        try:
            got = self.s.recv(4096)
        except socket.timeout:
            return True
        raise AssertionError("unexpected notification %r" % got)

    def close(self):
        self.s.close()


def start_notified(env, name, address, **conf):
    """A pool started with NOTIFY_SOCKET, and the socket."""
    n = NotifySocket(address)
    os.environ["NOTIFY_SOCKET"] = address
    try:
        pool = harness.Pool(env, name=name, **conf)
        pool.proc = harness.Procs.spawn([pool.binary, "-c", pool.conf],
                                        os.path.join(pool.dir, "stderr.log"))
    finally:
        del os.environ["NOTIFY_SOCKET"]
    return pool, n


def set_key(path, key, value):
    """The config with key's line replaced (a key set twice is an error)."""
    with open(path) as f:
        lines = [l for l in f.read().split("\n") if l and not l.startswith(key + " ")]
    with open(path, "w") as f:
        f.write("\n".join(lines + ["%s = %s" % (key, value)]) + "\n")


def slot_states(pool):
    status = json.loads(harness.fcgi_get(pool.status_sock, "/status"))
    return [s["state"] for s in status["slots"]]


def test_sd_notify_ready_reload_stopping(env):
    env.db.reset_demo()
    d = os.path.join(env.top, "sd")
    os.makedirs(d, exist_ok=True)
    pool, n = start_notified(env, "sd-pool", os.path.join(d, "notify.sock"),
                             workers=2)
    try:
        msg = n.recv()
        # READY once the socket is bound and every worker is past its start
        assert msg == {"READY": "1", "STATUS": "serving on %s with 2 workers"
                       % pool.listen}, msg
        assert os.path.exists(pool.sock)
        assert len(pool.workers()) == 2
        assert "starting" not in slot_states(pool)
        n.quiet(0.5)                    # once, not again
        before = sorted(pool.workers())

        # systemctl reload with a broken config: ExecReload's -t fails
        # visibly, and even a SIGHUP keeps the running config serving
        set_key(pool.conf, "workers", "lots")
        p = run([BINARY, "-t", "-c", pool.conf])
        assert p.returncode == 1 and "workers" in p.stderr, p
        os.kill(pool.proc.pid, signal.SIGHUP)
        msg = n.recv()
        assert msg["RELOADING"] == "1" and int(msg["MONOTONIC_USEC"]) > 0, msg
        msg = n.recv()
        assert msg["READY"] == "1" and msg["STATUS"].startswith("reload failed"), msg
        assert sorted(pool.workers()) == before
        assert any("keeping the running config" in l["msg"] for l in pool.log_lines())
        assert json.loads(harness.fcgi_get(pool.status_sock, "/healthz")) == {"status": "ok"}

        # a good config: RELOADING, then READY once the new workers are up
        set_key(pool.conf, "workers", "3")
        assert run([BINARY, "-t", "-c", pool.conf]).returncode == 0
        os.kill(pool.proc.pid, signal.SIGHUP)
        assert n.recv()["RELOADING"] == "1"
        msg = n.recv()
        assert msg == {"READY": "1", "STATUS": "serving on %s with 3 workers"
                       % pool.listen}, msg
        assert slot_states(pool) == ["idle"] * 3

        os.kill(pool.proc.pid, signal.SIGTERM)
        assert n.recv() == {"STOPPING": "1"}
        pool.proc.wait(30)
        assert pool.proc.returncode == 0
    finally:
        pool.stop()
        n.close()


def test_ready_waits_for_the_workers(env):
    """A database that accepts connections but never greets holds each
    worker at its start for db_connect_timeout: the socket is bound at
    once, READY=1 comes only when the workers are past that."""
    d = os.path.join(env.top, "sd-slow")
    os.makedirs(d, exist_ok=True)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)                   # never accepted: no greeting
    try:
        pool, n = start_notified(env, "sd-slow-pool", os.path.join(d, "notify.sock"),
                                 workers=2, db_socket="", db_host="127.0.0.1",
                                 db_port=silent.getsockname()[1],
                                 db_connect_timeout=2)
        try:
            harness.wait_for(lambda: os.path.exists(pool.sock), 10, "pool socket")
            bound = time.monotonic()
            assert "starting" in slot_states(pool)
            assert n.recv()["READY"] == "1"
            assert time.monotonic() - bound >= 1.5
            assert "starting" not in slot_states(pool)
        finally:
            pool.stop()
            n.close()
    finally:
        silent.close()


def test_sd_notify_abstract_socket(env):
    env.db.reset_demo()
    name = "@operate-node-test-%d" % os.getpid()
    pool, n = start_notified(env, "sd-abstract-pool", name, workers=1)
    try:
        assert n.recv()["READY"] == "1"
    finally:
        pool.stop()
        n.close()


def test_no_notify_socket_no_datagram(env):
    """Without NOTIFY_SOCKET nothing is sent, and a bad one is a warning,
    not a failure."""
    env.db.reset_demo()
    os.environ["NOTIFY_SOCKET"] = "relative/not-a-socket"
    try:
        pool = harness.Pool(env, name="sd-bad-pool", workers=1).start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        harness.wait_for(lambda: any("NOTIFY_SOCKET" in l["msg"] for l in pool.log_lines()),
                         10, "the warning")
        assert json.loads(harness.fcgi_get(pool.status_sock, "/healthz")) == {"status": "ok"}
    finally:
        pool.stop()


# journald ---------------------------------------------------------------------

PRIO = {"error": 3, "warn": 4, "info": 6, "debug": 7}


def stderr_pool(env, name, journal, fmt):
    """A pool logging to stderr (log_file empty), its stderr a file whose
    device:inode is JOURNAL_STREAM when journal is set, as systemd does.
    The database is absent, so each worker warns."""
    d = os.path.join(env.top, name)
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "stderr.log")
    open(out, "w").close()
    st = os.stat(out)
    if journal:
        os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    try:
        pool = harness.Pool(env, name=name, workers=1, log_file="", log_format=fmt,
                            db_socket=os.path.join(d, "no-such.sock"),
                            db_connect_timeout=1)
        pool.proc = harness.Procs.spawn([pool.binary, "-c", pool.conf], out)
    finally:
        os.environ.pop("JOURNAL_STREAM", None)
    harness.wait_for(lambda: "without a database connection" in open(out).read(),
                     15, "the worker's warning")
    pool.stop()
    return [l for l in open(out).read().split("\n") if l]


def test_journald_priorities(env):
    lines = stderr_pool(env, "journal-text", True, "text")
    seen = set()
    for line in lines:
        m = re.match(r"<(\d)>\S+ (\w+) \[\d+\] ", line)
        assert m, line
        assert int(m.group(1)) == PRIO[m.group(2)], line
        seen.add(m.group(2))
    assert {"info", "warn"} <= seen, lines
    for line in stderr_pool(env, "journal-json", True, "json"):
        m = re.match(r"<(\d)>(\{.*\})$", line)
        assert m, line
        assert int(m.group(1)) == PRIO[json.loads(m.group(2))["level"]], line


def test_no_priorities_off_the_journal(env):
    """A terminal or a file gets plain lines, and so does a JOURNAL_STREAM
    inherited with another stderr."""
    for line in stderr_pool(env, "plain-text", False, "text"):
        assert not line.startswith("<"), line
    os.environ["JOURNAL_STREAM"] = "1:1"
    try:
        lines = stderr_pool(env, "stale-stream", False, "json")
    finally:
        os.environ.pop("JOURNAL_STREAM", None)
    for line in lines:
        json.loads(line)


# root -------------------------------------------------------------------------

def test_refuses_root_unless_allowed(env):
    env.db.reset_demo()
    d = os.path.join(env.top, "root")
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "fcgi.sock")
    base = dict(listen="unix:" + sock, db_socket=env.db.sock, db_user="root",
                db_name=harness.DBNAME, workers=1)
    for allow in (None, "no"):
        conf = harness.pool_config(os.path.join(d, "c.conf"), allow_root=allow, **base)
        # -t checks the file, not who runs it
        assert run([BINARY, "-t", "-c", conf]).returncode == 0
        p = subprocess.run([BINARY, "-c", conf], capture_output=True, text=True,
                           timeout=30)
        if os.geteuid() != 0:
            raise AssertionError("the tests run as root (install-deps, nginx)")
        assert p.returncode == 1, p
        assert "refusing to run the workers as root" in p.stderr, p
        assert "allow_root = yes" in p.stderr
        assert not os.path.exists(sock)
    # a reload to a config that no longer allows it is refused, and the
    # running config keeps serving
    pool = harness.Pool(env, name="root-pool", workers=1).start()
    try:
        before = pool.workers()
        set_key(pool.conf, "allow_root", "no")
        os.kill(pool.proc.pid, signal.SIGHUP)
        harness.wait_for(lambda: any("refusing to run the workers as root" in l["msg"]
                                     for l in pool.log_lines()), 10, "the refusal")
        time.sleep(0.3)
        assert pool.workers() == before
        assert json.loads(harness.fcgi_get(pool.status_sock, "/healthz")) == {"status": "ok"}
    finally:
        pool.stop()
