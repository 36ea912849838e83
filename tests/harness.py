"""Test harness: real MariaDB, pool and web servers on private sockets and
loopback ports under one temporary folder, each stopped by its pid.

Every process a test starts is registered in Procs; the runner stops them all
at the end, also when a test fails or the run is interrupted.
"""
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pymysql

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("OPERATE_NODE_BUILD", "build"))
DBNAME = "operate_node"


def _schema_version():
    """The version of sql/actions.sql's routines (its opn_schema_version)."""
    with open(os.path.join(ROOT, "sql", "actions.sql")) as f:
        m = re.search(r"^CREATE FUNCTION opn_schema_version\(\).*?RETURN (\d+);",
                      f.read(), re.M | re.S)
    return int(m.group(1))


SCHEMA_VERSION = _schema_version()


def routine(name):
    """A routine's name as sql/load.sh installs it: opn_check_v3."""
    return "%s_v%d" % (name, SCHEMA_VERSION)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Skip(Exception):
    """Raised by a module's setup_module (or a test) that cannot run here:
    the runner reports it skipped, with the reason, and not failed."""


def wait_for(pred, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


class Teardown:
    """A teardown's steps: each runs even when one before it failed;
    errors holds what they raised, for one assertion at the end."""

    def __init__(self):
        self.errors = []

    def __call__(self, fn, *args):
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))


class Procs:
    """Every process the tests start, so that all are stopped by pid."""

    live = []

    @classmethod
    def spawn(cls, argv, log, **kw):
        f = open(log, "ab")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True, **kw)
        f.close()
        cls.live.append(p)
        return p

    @classmethod
    def stop(cls, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in cls.live:
            cls.live.remove(p)

    @classmethod
    def stop_all(cls):
        for p in reversed(list(cls.live)):
            cls.stop(p)


class MariaDB:
    """A private mariadbd: its own datadir, unix socket and loopback port.
    bind is mariadbd's --bind-address (MariaDB 10.11 takes a comma-separated
    list); set it before start() to reach the server from other hosts."""

    def __init__(self, top, bind="127.0.0.1"):
        self.bind = bind
        self.dir = os.path.join(top, "mariadb")
        self.datadir = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "mysqld.sock")
        self.port = free_port()
        self.proc = None
        self._conn = None

    def init(self):
        os.makedirs(self.dir, exist_ok=True)
        subprocess.run(["mariadb-install-db", "--no-defaults",
                        "--datadir=" + self.datadir, "--user=root",
                        "--auth-root-authentication-method=normal",
                        "--skip-test-db"],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def start(self):
        if not os.path.isdir(self.datadir):
            self.init()
        self.proc = Procs.spawn(
            ["mariadbd", "--no-defaults", "--datadir=" + self.datadir,
             "--socket=" + self.sock, "--port=%d" % self.port,
             "--bind-address=" + self.bind, "--user=root",
             "--pid-file=" + os.path.join(self.dir, "mariadbd.pid"),
             "--innodb-buffer-pool-size=256M",
             "--innodb-log-file-size=128M",
             "--innodb-flush-log-at-trx-commit=1",
             "--max-connections=500",
             "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci",
             "--skip-name-resolve", "--log-error=" + os.path.join(self.dir, "error.log")],
            os.path.join(self.dir, "stdout.log"))
        wait_for(lambda: self.proc.poll() is None and self._ping(), 60,
                 "mariadbd to accept connections")

    def stop(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
        if self.proc is not None:
            Procs.stop(self.proc, timeout=60)
            self.proc = None

    def _ping(self):
        c = pymysql.connect(unix_socket=self.sock, user="root")
        c.close()
        return True

    def client(self, *args, stdin=None, db=DBNAME):
        argv = ["mariadb", "--no-defaults", "-S", self.sock, "-uroot"]
        argv += list(args)
        if db:
            argv.append(db)
        return subprocess.run(argv, input=stdin, check=True,
                              capture_output=True).stdout

    def load(self):
        """bk-sops' tables as its migrations create them (the fixture DDL),
        then the service's install script with the demo data."""
        load_database(["mariadb", "--no-defaults", "-S", self.sock, "-uroot"])

    def reset_demo(self):
        with open(os.path.join(ROOT, "sql", "demo.sql"), "rb") as f:
            self.client(stdin=f.read())

    def conn(self):
        if self._conn is None:
            self._conn = pymysql.connect(unix_socket=self.sock, user="root",
                                         database=DBNAME, autocommit=True,
                                         charset="utf8mb4")
        return self._conn

    def query(self, sql, *args):
        """All rows as dicts."""
        with self.conn().cursor(pymysql.cursors.DictCursor) as c:
            c.execute(sql, args)
            return list(c.fetchall())

    def one(self, sql, *args):
        rows = self.query(sql, *args)
        assert len(rows) == 1, "expected one row, got %d: %s" % (len(rows), sql)
        return rows[0]

    def scalar(self, sql, *args):
        return list(self.one(sql, *args).values())[0]

    def exec(self, sql, *args):
        with self.conn().cursor() as c:
            c.execute(sql, args)

    def add_user(self, user, hosts, grants, password_file):
        """user@hosts (again, if it was there) with grants on the test
        database, and a new random password in password_file, mode 0600
        as the pool's db_password_file wants it."""
        password = secrets.token_hex(16)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (password + "\n").encode())
        os.close(fd)
        self.exec("DROP USER IF EXISTS %s@%s", user, hosts)
        self.exec("CREATE USER %s@%s IDENTIFIED BY %s", user, hosts, password)
        self.exec("GRANT %s ON `%s`.* TO %%s@%%s" % (grants, DBNAME), user, hosts)

    def snapshot(self):
        """Every row of every pipeline table, to prove that nothing changed."""
        out = {}
        for t in TABLES:
            out[t] = self.query("SELECT * FROM `%s` ORDER BY 1, 2" % t)
        return out

    def call_action(self, conn=None, **kw):
        """CALL operate_node(...) on a fresh or given connection. Returns
        None on success, or (code, message) parsed from a SQLSTATE 45000."""
        return call_operate_node(conn or self.conn(), **kw)


# bk-sops' and bamboo's tables the actions read or write, then the service's.
BKSOPS_TABLES = ["core_project", "core_environmentvariables",
                 "taskflow3_taskflowinstance", "pipeline_pipelineinstance",
                 "operate_record_taskoperaterecord", "eri_node", "eri_state",
                 "eri_process", "eri_schedule", "eri_data", "eri_executiondata",
                 "eri_executionhistory", "eri_callbackdata", "eri_logentry",
                 "taskflow3_taskcallbackrecord", "taskflow3_taskflowrelation",
                 "taskflow3_autoretrynodestrategy",
                 "taskflow3_timeoutnodeconfig"]
OWN_TABLES = ["opn$app", "opn$token", "opn$grant", "opn$replay", "opn$outbox"]
TABLES = BKSOPS_TABLES + OWN_TABLES
BKSOPS_DDL = os.path.join(ROOT, "tests", "fixtures", "bk-sops-schema.sql")


def load_database(client, db=DBNAME, demo=True):
    """A bk-sops database as an operator has it, with the service installed
    by the README's command: client is the mariadb argv without a database
    (e.g. ["mariadb", "--no-defaults", "-S", sock, "-uroot"])."""
    subprocess.run(client + ["-e", "DROP DATABASE IF EXISTS `%s`; CREATE DATABASE "
                             "`%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
                             % (db, db)], check=True, capture_output=True)
    with open(BKSOPS_DDL, "rb") as f:
        subprocess.run(client + [db], stdin=f, check=True, capture_output=True)
    argv = [os.path.join(ROOT, "sql", "load.sh")] + (["--demo", "--force"] if demo else [])
    opts = [a for a in client[1:] if a != "--no-defaults"]
    p = subprocess.run(argv + [db] + opts, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("sql/load.sh failed: " + p.stderr)


def ver(label):
    """A demo version: the fixture writes "v2-cb_wait" as 'v' + md5 hex."""
    return "v" + hashlib.md5(label.encode()).hexdigest()


CALL_ARGS = ["project_id", "task_id", "node_id", "action", "operator", "app",
             "request_id", "flow_id", "data", "inputs", "flow_ids",
             "converge_gateway_id"]


# The details column of the last answer call_operate_node read (a JSON
# object's text, or None).
last_details = None


def call_operate_node(conn, **kw):
    """CALL opn_operate_node(...). Returns None when applied (or replayed),
    else (code, message) from its answer row (its details: last_details)."""
    args = []
    for a in CALL_ARGS:
        v = kw.get(a)
        if isinstance(v, (dict, list)):
            v = json.dumps(v)
        args.append(v)
    args[CALL_ARGS.index("request_id")] = kw.get("request_id", "req-test")
    args[CALL_ARGS.index("operator")] = kw.get("operator", "admin")
    args[CALL_ARGS.index("app")] = kw.get("app", "demo_app")
    with conn.cursor() as c:
        c.execute("CALL %s(%s)" % (routine("opn_operate_node"),
                                   ",".join(["%s"] * len(args))), args)
        row = c.fetchone()
        while c.nextset():
            pass
    code, msg = row[0], row[1]
    global last_details
    last_details = row[3] if len(row) > 3 else None
    if code == 0:
        return None
    return int(code), msg


def diff_snapshots(a, b):
    """Tables whose rows differ: empty when nothing changed."""
    return [t for t in a if a[t] != b[t]]


class Env:
    """What the tests share: the temporary folder and the database."""

    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="opnode-test-")
        self.db = MariaDB(self.top)
        self.service = None

    def close(self, keep=False):
        if self.service is not None:
            self.service.stop()
            self.service = None
        self.db.stop()
        Procs.stop_all()
        if not keep:
            shutil.rmtree(self.top, ignore_errors=True)


def pool_config(path, **kw):
    """A config file for the pool: the shipped sample's keys, overridden."""
    # The tests run as root: the service refuses that unless told.
    kw.setdefault("allow_root", "yes")
    lines = ["%s = %s" % (k, v) for k, v in kw.items() if v is not None]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Pool:
    """The real operate-node master and its workers."""

    def __init__(self, env, name="pool", binary=None, **conf):
        self.dir = os.path.join(env.top, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "fcgi.sock")
        self.status_sock = os.path.join(self.dir, "status.sock")
        self.log = os.path.join(self.dir, "pool.log")
        self.binary = binary or os.path.join(BUILD, "operate-node")
        settings = dict(listen="unix:" + self.sock, workers=2,
                        db_socket=env.db.sock, db_user="root",
                        db_name=DBNAME, log_level="info", log_format="json",
                        log_file=self.log, shutdown_timeout=10,
                        status_listen="unix:" + self.status_sock)
        settings.update(conf)
        self.listen = settings["listen"]
        self.settings = settings
        self.conf = pool_config(os.path.join(self.dir, "operate-node.conf"),
                                **settings)
        self.proc = None

    def start(self):
        self.proc = Procs.spawn([self.binary, "-c", self.conf],
                                os.path.join(self.dir, "stderr.log"))
        if self.listen.startswith("unix:"):
            wait_for(lambda: os.path.exists(self.sock), 10, "pool socket")
        else:
            host, port = self.listen.rsplit(":", 1)
            def up():
                socket.create_connection((host, int(port)), 0.2).close()
                return True
            wait_for(up, 10, "pool port")
        self.wait_workers_started()
        return self

    def wait_workers_started(self, timeout=5.0):
        """Until every worker has said something in the log (connected to
        the database, or why not), at most timeout seconds: a worker checks
        the schema when it connects, and a test that reloads the demo data
        (TRUNCATE) at that very moment would make it find tables without
        columns. Without info lines in the log or a fixed worker count it
        does not wait."""
        try:
            n = int(self.settings.get("workers"))
        except (TypeError, ValueError):
            return
        if n <= 0 or self.settings.get("log_level") not in ("info", "debug") \
                or self.settings.get("log_format") != "json":
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                lines = self.log_lines()
            except ValueError:          # a line being written
                lines = []
            pids = {l.get("pid") for l in lines
                    if l.get("msg") == "connected to the database"
                    or (l.get("level") in ("warn", "error")
                        and "dispatcher" not in l.get("msg", ""))}
            if len(pids - {self.proc.pid}) >= n:
                return
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            Procs.stop(self.proc, sig, timeout=30)
            self.proc = None

    def children(self):
        """The master's children, from /proc (pgrep costs 70 ms on a busy
        machine, which slows the loops that poll this)."""
        pid = self.proc.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            out = subprocess.run(["pgrep", "-P", str(pid)],
                                 capture_output=True, text=True).stdout
            return [int(x) for x in out.split()]

    @staticmethod
    def _comm(pid):
        try:
            with open("/proc/%d/comm" % pid) as f:
                return f.read().strip()
        except OSError:
            return ""

    def workers(self):
        """pids of the master's workers (not its status process)."""
        return [p for p in self.children() if self._comm(p) != "operate-status"]

    def status_process(self):
        """pid of the process serving status_listen, or None."""
        ps = [p for p in self.children() if self._comm(p) == "operate-status"]
        return ps[0] if ps else None

    def log_lines(self):
        """The pool's JSON log lines; a last line still being written (no
        newline yet) is left for the next read."""
        try:
            with open(self.log) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(l) for l in text.split("\n")[:-1] if l.strip()]

    def request_line(self, request_id, timeout=10.0):
        """The "request" log line of a request (written just after its
        reply, so waited for)."""
        found = []

        def seen():
            found[:] = [l for l in self.log_lines() if l.get("msg") == "request"
                        and l.get("request_id") == request_id]
            return found
        wait_for(seen, timeout, "the log line of request " + request_id)
        assert len(found) == 1, found
        return found[0]


NGINX_CONF = """
daemon off;
worker_processes 2;
user root root;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 4096; }}
http {{
    {access_log}
    client_body_temp_path {dir}/body;
    fastcgi_temp_path {dir}/fastcgi;
    proxy_temp_path {dir}/proxy;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    {upstream}
{servers}
}}
"""

# One pool: the status routes on a private server, the shipped locations.
ONE_POOL_SERVERS = """
    server {{
        listen 127.0.0.1:{status_port};
        location / {{ include {root}/conf/nginx/status.conf; }}
    }}
    server {{
        listen 127.0.0.1:{port};
        include {root}/conf/nginx/errors.conf;
        location /pools/ {{ include {root}/conf/nginx/fastcgi-pools.conf; }}
        location /api/c/compapi/v2/sops/ {{ include {root}/conf/nginx/fastcgi.conf; }}
        location /prod/ {{ include {root}/conf/nginx/fastcgi.conf; }}
        location / {{ include {root}/conf/nginx/fastcgi.conf; }}
    }}"""

# Several pools: every path through the failover snippet.
POOLS_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        location / {{ include {snippet}; }}
    }}"""


def pools_upstream(pools):
    """The shipped upstream-pools.conf with the pools' addresses on its
    sample server lines, in order; sample lines beyond them are dropped."""
    with open(os.path.join(ROOT, "conf/nginx/upstream-pools.conf")) as f:
        up = f.read()
    servers = re.findall(r"^([ \t]*server )(\S+)( .*)$", up, re.M)
    assert len(servers) >= len(pools), servers
    for (head, addr, tail), pool in zip(servers, pools):
        up = up.replace(head + addr + tail, head + pool.listen + tail)
    for head, addr, tail in servers[len(pools):]:
        up = up.replace(head + addr + tail + "\n", "")
    return up


class Nginx:
    """Real nginx with the shipped snippets; only addresses are replaced by
    the test's own. One pool: upstream-unix.conf or upstream-tcp.conf (the
    pool's socket path or port), the shipped locations and the private
    status server. Several (pools=): upstream-pools.conf (pools_upstream)
    and every path through fastcgi-pools.conf, or through snippet, a
    changed copy of it. log_format: the access log's instead of nginx's
    combined one."""

    def __init__(self, env, pool=None, name="nginx", port=None, pools=None,
                 snippet=None, log_format=None):
        self.dir = os.path.join(env.top, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.access = os.path.join(self.dir, "access.log")
        shutil.copy("/etc/nginx/fastcgi_params", self.dir)
        if pools:
            self.status_port = None
            up = pools_upstream(pools)
            servers = POOLS_SERVER.format(port=self.port, snippet=snippet or
                                          os.path.join(ROOT, "conf/nginx/fastcgi-pools.conf"))
        else:
            self.status_port = free_port()
            up = self._one_pool_upstream(pool)
            servers = ONE_POOL_SERVERS.format(port=self.port, root=ROOT,
                                              status_port=self.status_port)
        if log_format:
            access_log = "log_format test '%s';\n    access_log %s test;" % (
                log_format, self.access)
        else:
            access_log = "access_log %s;" % self.access
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, access_log=access_log,
                                      upstream=up, servers=servers))
        self.proc = None

    def _one_pool_upstream(self, pool):
        # a pool's status socket; a bare upstream (spawn-fcgi) has none
        status_sock = getattr(pool, "status_sock", os.path.join(self.dir, "none.sock"))
        if pool.listen.startswith("unix:"):
            with open(os.path.join(ROOT, "conf/nginx/upstream-unix.conf")) as f:
                up = f.read().replace("/run/operate-node/operate-node.sock",
                                      pool.sock)
            return up.replace("/run/operate-node/status.sock", status_sock)
        with open(os.path.join(ROOT, "conf/nginx/upstream-tcp.conf")) as f:
            up = f.read().replace("127.0.0.1:9000", pool.listen)
        return up.replace("127.0.0.1:9001", "unix:" + status_sock)

    def start(self):
        self.proc = Procs.spawn(["nginx", "-p", self.dir, "-c", self.conf],
                                os.path.join(self.dir, "stderr.log"))
        def up():
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        wait_for(up, 10, "nginx")
        return self

    def stop(self):
        if self.proc is not None:
            Procs.stop(self.proc, signal.SIGQUIT)
            self.proc = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def status(self, path):
        """GET a status route through the shipped private server."""
        return http_request(self.status_port, "GET", path)


def recv_all(s):
    """Everything the peer sends until it closes."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def fcgi_get(sock_path, path, timeout=10):
    """GET path straight from a pool's unix socket over FastCGI (no web
    server); returns the reply's body."""
    def rec(t, c=b""):
        return struct.pack(">BBHHBB", 1, t, 1, len(c), 0, 0) + c
    params = b"".join(bytes([len(k), len(v)]) + k + v for k, v in (
        (b"REQUEST_METHOD", b"GET"), (b"DOCUMENT_URI", path.encode())))
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, params) + rec(4) + rec(5))
        data = recv_all(s)
    finally:
        s.close()
    out = b""
    while len(data) >= 8:
        _, t, _, n, pad = struct.unpack(">BBHHB", data[:7])
        if t == 6:
            out += data[8:8 + n]
        data = data[8 + n + pad:]
    return out.split(b"\r\n\r\n", 1)[-1]


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.raw[:300])


def http_request(port, method, path, body=None, headers=None, timeout=30):
    """One HTTP/1.1 request on a fresh connection; body: dict, str or bytes."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()},
                     r.read())
    finally:
        c.close()


class Service:
    """MariaDB (shared) + a pool + nginx in front of it."""

    def __init__(self, env, port=None, **conf):
        self.env = env
        self.pool = Pool(env, **conf).start()
        self.nginx = Nginx(env, self.pool, port=port).start()

    def stop(self):
        self.nginx.stop()
        self.pool.stop()

    def post(self, path, body=None, headers=None, method="POST"):
        return http_request(self.nginx.port, method, path, body, headers)

    def status(self, path):
        return self.nginx.status(path)
