"""TLS to the database and to the broker (db_ssl*, broker_ssl*): a test CA,
server and client certificates made here with the openssl CLI, a private
MariaDB that requires an X.509 client certificate, and a private RabbitMQ
with a TLS listener that requires one too. Each side: it works with the
right CA, it refuses a server the CA did not sign, and -t checks the files.
"""
import os
import subprocess
import time
import types

import harness
import test_dispatch
from harness import wait_for, free_port

S = {}
QUEUE = "er_execute_tls"
CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True)


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", crt, "-days", "2", "-subj", "/CN=opn test " + name)
    return key, crt


def make_cert(d, name, ca, cn, san=None):
    """A certificate signed by ca (key, crt); returns (crt, key), the key
    mode 0600 as a private key should be."""
    key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
    crt, ext = os.path.join(d, name + ".crt"), os.path.join(d, name + ".ext")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        if san:
            f.write("subjectAltName=%s\n" % san)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0],
            "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    os.chmod(key, 0o600)
    return crt, key


class TlsMariaDB(harness.MariaDB):
    """The harness's private mariadbd, with TLS on its port."""

    def __init__(self, top, ca, crt, key):
        super().__init__(top, bind="127.0.0.1,127.0.0.2")
        self.tls = ["--ssl-ca=" + ca, "--ssl-cert=" + crt, "--ssl-key=" + key]

    def start(self):
        # harness.MariaDB.start with the TLS options: Procs.spawn is
        # wrapped for the one call.
        spawn = harness.Procs.spawn
        tls = self.tls

        def with_tls(argv, log, **kw):
            return spawn(argv + tls, log, **kw)
        harness.Procs.spawn = with_tls
        try:
            super().start()
        finally:
            harness.Procs.spawn = spawn


class TlsRabbitMQ(test_dispatch.RabbitMQ):
    """The dispatch tests' private RabbitMQ with a TLS listener that wants
    a client certificate from the test CA; plain TCP stays for the test's
    own look at the queue."""

    def __init__(self, top, ca, crt, key):
        super().__init__(top)
        self.tls_port = free_port()
        with open(self.env["RABBITMQ_CONFIG_FILE"], "a") as f:
            f.write("listeners.ssl.default = %d\n" % self.tls_port)
            f.write("ssl_options.cacertfile = %s\n" % ca)
            f.write("ssl_options.certfile = %s\n" % crt)
            f.write("ssl_options.keyfile = %s\n" % key)
            f.write("ssl_options.verify = verify_peer\n")
            f.write("ssl_options.fail_if_no_peer_cert = true\n")
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", self.dir],
                       check=True)


def setup_module(env):
    d = os.path.join(env.top, "tls")
    os.makedirs(d)
    os.chmod(d, 0o755)         # the broker (user rabbitmq) reads its files
    ca = make_ca(d, "ca")
    other = make_ca(d, "other")
    srv = make_cert(d, "server", ca, "localhost",
                    "DNS:localhost,IP:127.0.0.1")
    S["dir"], S["ca"], S["other_ca"] = d, ca[1], other[1]
    S["client"] = make_cert(d, "client", ca, "operate-node")
    # The broker's copies, its own (a key readable by user rabbitmq only).
    rd = os.path.join(env.top, "rabbitmq")
    os.makedirs(rd, exist_ok=True)
    rfiles = []
    for src in (ca[1], srv[0], srv[1]):
        dst = os.path.join(rd, "tls-" + os.path.basename(src))
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        os.chmod(dst, 0o600)
        rfiles.append(dst)
    S["db"] = TlsMariaDB(env.top + "/tlsdb", ca[1], srv[0], srv[1])
    os.makedirs(env.top + "/tlsdb")
    S["db"].start()
    S["db"].load()
    pw = os.path.join(d, "db.pw")
    S["db"].add_user("opn_tls", "%", "SELECT, EXECUTE", pw)
    S["db"].exec("ALTER USER 'opn_tls'@'%%' REQUIRE X509")
    S["db_pw"] = pw
    S["rabbit"] = TlsRabbitMQ(env.top, *rfiles).start()


def teardown_module(env):
    for k in ("rabbit", "db"):
        if k in S:
            S.pop(k).stop()


def db_settings(**kw):
    crt, key = S["client"]
    conf = dict(db_socket=None, db_hosts="127.0.0.1:%d" % S["db"].port,
                db_user="opn_tls", db_password_file=S["db_pw"],
                db_ssl_ca=S["ca"], db_ssl_cert=crt, db_ssl_key=key)
    conf.update(kw)
    return {k: v for k, v in conf.items() if v is not None}


def tls_service(env, name, **kw):
    """A pool and nginx on the TLS database (an env whose db is it)."""
    e = types.SimpleNamespace(top=env.top, db=S["db"], service=None)
    pool = harness.Pool(e, name=name, **db_settings(**kw))
    # db_socket=None drops the harness's default: db_hosts means TCP.
    pool.settings.pop("db_socket", None)
    pool.conf = harness.pool_config(pool.conf, **pool.settings)
    pool.start()
    nginx = harness.Nginx(e, pool).start()
    return pool, nginx


def admin(conf, *args):
    return subprocess.run([os.path.join(harness.BUILD, "operate-node-admin"),
                           "-c", conf] + list(args), capture_output=True,
                          text=True, timeout=60)


def post(nginx, body):
    return harness.http_request(nginx.port, "POST", "/operate_node/2/12/",
                                dict(CRED, **body))


def stop(*procs):
    for p in procs:
        p.stop()


def check_t(env, name, expect_ok, **kw):
    """operate-node -t on a config with these settings."""
    conf = harness.pool_config(os.path.join(env.top, name + ".conf"),
                               listen="unix:" + os.path.join(env.top, "x.sock"),
                               **kw)
    r = subprocess.run([os.path.join(harness.BUILD, "operate-node"), "-t",
                        "-c", conf], capture_output=True, text=True)
    assert (r.returncode == 0) == expect_ok, (kw, r.stdout, r.stderr)
    return r.stdout + r.stderr


# The database ------------------------------------------------------------

def test_db_over_tls_with_a_client_certificate(env):
    """The account REQUIRE X509: the action succeeds only over TLS with
    the client certificate, and the server says the session is TLS."""
    pool, nginx = tls_service(env, "tls_ok")
    try:
        r = post(nginx, dict(node_id="act_failed", action="retry"))
        assert r.status == 200 and r.json["result"] is True, r
        # The status process and operate-node-admin, on the same config.
        assert b'"ok"' in harness.fcgi_get(pool.status_sock, "/healthz")
        p = admin(pool.conf, "app", "list")
        assert p.returncode == 0 and "demo_app" in p.stdout, p
    finally:
        stop(nginx, pool)


def test_db_wrong_ca_is_refused(env):
    """A server certificate the configured CA did not sign: no connection,
    503 to the caller, and the log says why."""
    pool, nginx = tls_service(env, "tls_wrong_ca", db_ssl_ca=S["other_ca"])
    try:
        r = post(nginx, dict(node_id="act_failed", action="retry"))
        assert r.status == 503, r
        lines = [l.get("msg", "") + " " + str(l.get("error", ""))
                 for l in pool.log_lines()]
        text = "\n".join(lines)
        assert "TLS/SSL error" in text and "certificate" in text, text
        assert b'"ok"' not in harness.fcgi_get(pool.status_sock, "/healthz")
        p = admin(pool.conf, "app", "list")
        assert p.returncode == 1 and "TLS/SSL error" in p.stderr, p
    finally:
        stop(nginx, pool)


def test_db_verify_off_connects_despite_the_ca(env):
    S["db"].reset_demo()
    pool, nginx = tls_service(env, "tls_noverify", db_ssl_ca=S["other_ca"],
                              db_ssl_verify="no")
    try:
        r = post(nginx, dict(node_id="act_failed", action="retry"))
        assert r.status == 200 and r.json["result"] is True, r
    finally:
        stop(nginx, pool)


def test_db_no_ca_means_the_system_store(env):
    """db_ssl = yes without db_ssl_ca: the system's CAs, which do not
    include the test CA: refused."""
    pool, nginx = tls_service(env, "tls_system_ca", db_ssl="yes",
                              db_ssl_ca=None)
    try:
        r = post(nginx, dict(node_id="act_failed", action="retry"))
        assert r.status == 503, r
    finally:
        stop(nginx, pool)


def test_db_host_name_is_verified(env):
    """The right CA, but an address the certificate does not name
    (127.0.0.2: the server listens there too): refused; verify off
    takes it."""
    pool, nginx = tls_service(env, "tls_wrong_name",
                              db_hosts="127.0.0.2:%d" % S["db"].port)
    try:
        r = post(nginx, dict(node_id="act_failed", action="retry"))
        assert r.status == 503, r
    finally:
        stop(nginx, pool)


def test_check_mode_checks_the_files(env):
    crt, key = S["client"]
    base = dict(db_hosts="127.0.0.1:3306")
    check_t(env, "t_ok", True, db_ssl_ca=S["ca"], db_ssl_cert=crt,
            db_ssl_key=key, **base)
    out = check_t(env, "t_missing", False, db_ssl_ca=S["dir"] + "/nope.crt",
                  **base)
    assert "db_ssl_ca" in out and "No such file" in out, out
    out = check_t(env, "t_pair", False, db_ssl_cert=crt, **base)
    assert "db_ssl_key" in out, out
    out = check_t(env, "t_no", False, db_ssl="no", db_ssl_ca=S["ca"], **base)
    assert "db_ssl = no" in out, out
    out = check_t(env, "t_socket", False, db_ssl="yes")
    assert "db_socket" in out, out
    os.chmod(key, 0o644)
    try:
        out = check_t(env, "t_keymode", False, db_ssl_ca=S["ca"],
                      db_ssl_cert=crt, db_ssl_key=key, **base)
        assert "readable by others" in out, out
    finally:
        os.chmod(key, 0o600)
    os.chmod(S["ca"], 0o646)
    try:
        out = check_t(env, "t_camode", False, db_ssl_ca=S["ca"], **base)
        assert "writable by others" in out, out
    finally:
        os.chmod(S["ca"], 0o644)
    fifo = os.path.join(S["dir"], "fifo.crt")
    os.mkfifo(fifo)
    out = check_t(env, "t_fifo", False, db_ssl_ca=fifo, **base)
    assert "not a regular file" in out, out
    out = check_t(env, "t_broker", False,
                  broker_url="amqps://guest@localhost/",
                  broker_ssl_ca=S["dir"] + "/nope.crt")
    assert "broker_ssl_ca" in out, out
    out = check_t(env, "t_broker_no", False,
                  broker_url="amqps://guest@localhost/", broker_ssl="no")
    assert "broker_ssl = no" in out, out
    check_t(env, "t_broker_ok", True, broker_url="amqps://guest@localhost/",
            broker_ssl_ca=S["ca"], broker_ssl_cert=crt, broker_ssl_key=key)


# The broker --------------------------------------------------------------

def broker_pool(env, name, **kw):
    crt, key = S["client"]
    conf = dict(broker_url="amqps://guest@localhost:%d/"
                % S["rabbit"].tls_port,
                broker_password_file=S["rabbit"].password_file,
                broker_ssl_ca=S["ca"], broker_ssl_cert=crt,
                broker_ssl_key=key)
    conf.update(kw)
    return harness.Pool(env, name=name, **conf).start()


def test_broker_amqps_publishes(env):
    env.db.reset_demo()
    conn, ch = test_dispatch._capture_queue(S["rabbit"], QUEUE)
    pool = broker_pool(env, "amqps_ok")
    try:
        row = test_dispatch.insert_celery(
            env.db, test_dispatch.EXECUTE, QUEUE,
            test_dispatch.execute_kwargs("n_tls"))
        wait_for(lambda: test_dispatch.dispatched(env.db, row), 20,
                 "the row to be dispatched over amqps")
        m = test_dispatch._get(ch, QUEUE)
        assert "n_tls" in (m.body.decode() if isinstance(m.body, bytes) else m.body)
        assert any("over TLS" in l.get("msg", "") for l in pool.log_lines())
    finally:
        pool.stop()
        conn.close()


def test_sample_config_documents_the_keys(env):
    with open(os.path.join(harness.ROOT, "conf/operate-node.conf")) as f:
        text = f.read()
    for k in ("db_ssl_ca", "db_ssl_cert", "db_ssl_key", "db_ssl_verify",
              "broker_ssl_ca", "broker_ssl_cert", "broker_ssl_key",
              "broker_ssl_verify"):
        assert "\n%s =" % k in text, k


def test_broker_wrong_ca_is_refused(env):
    msgs = refused_row(env, "amqps_wrong_ca", "n_tls_wrong",
                       broker_ssl_ca=S["other_ca"])
    assert any("verification failed" in m for m in msgs), msgs


def refused_row(env, name, node, **kw):
    """A pool whose dispatcher must not publish: the row stays, the log
    names the broker with (TLS) and why."""
    env.db.reset_demo()
    pool = broker_pool(env, name, **kw)
    try:
        row = test_dispatch.insert_celery(
            env.db, test_dispatch.EXECUTE, QUEUE,
            test_dispatch.execute_kwargs(node))

        def refused():
            return [l["msg"] for l in pool.log_lines()
                    if "(TLS)" in l.get("msg", "")]
        wait_for(refused, 20, "the dispatcher to refuse the broker")
        time.sleep(1)
        assert not test_dispatch.dispatched(env.db, row)
        return refused()
    finally:
        pool.stop()


def test_broker_host_name_is_verified(env):
    """rabbitmq-c matches the URL's host against the certificate's DNS
    names: the certificate's IP address entry does not count, so a URL
    by address is refused (README: write a name)."""
    msgs = refused_row(env, "amqps_by_address", "n_tls_addr",
                       broker_url="amqps://guest@127.0.0.1:%d/"
                       % S["rabbit"].tls_port)
    assert any("hostname" in m for m in msgs), msgs


def test_broker_verify_off_connects_despite_the_ca(env):
    env.db.reset_demo()
    conn, ch = test_dispatch._capture_queue(S["rabbit"], QUEUE)
    pool = broker_pool(env, "amqps_noverify", broker_ssl_ca=S["other_ca"],
                       broker_ssl_verify="no")
    try:
        row = test_dispatch.insert_celery(
            env.db, test_dispatch.EXECUTE, QUEUE,
            test_dispatch.execute_kwargs("n_tls_noverify"))
        wait_for(lambda: test_dispatch.dispatched(env.db, row), 20,
                 "the row to be dispatched over amqps")
        assert any("over TLS, unverified" in l.get("msg", "")
                   for l in pool.log_lines())
    finally:
        pool.stop()
        conn.close()
