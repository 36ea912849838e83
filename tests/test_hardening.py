"""Smaller hardening (issue 22, item 6):

- `-t` refuses a FIFO given as the config, password or key file at once
  (it never waits for a writer), a unix socket path too long to bind, and
  a config or password file that others can write;
- app-mode authentication failures are counted per app in /metrics, with
  label values only from apps the database knows, and logged at warn level
  with the app code, rate-limited.

(The JWT iss, aud and lifetime checks are in test_http_jwt.py.)"""
import os
import re
import subprocess

import harness

BINARY = os.path.join(harness.BUILD, "operate-node")


def check(path, timeout=10):
    """operate-node -t: (exit status, output); a hang fails the test."""
    try:
        p = subprocess.run([BINARY, "-t", "-c", path], capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("operate-node -t -c %s hung for %ds" % (path, timeout))
    return p.returncode, (p.stdout + p.stderr).strip()


def conf(env, name, mode=0o644, **kw):
    d = os.path.join(env.top, "hardening")
    os.makedirs(d, exist_ok=True)
    kw.setdefault("listen", "unix:" + os.path.join(d, "x.sock"))
    path = harness.pool_config(os.path.join(d, name + ".conf"), **kw)
    os.chmod(path, mode)
    return path


def secret_file(env, name, mode):
    path = os.path.join(env.top, "hardening", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("secret\n")
    os.chmod(path, mode)
    return path


def fifo(env, name):
    path = os.path.join(env.top, "hardening", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mkfifo(path, 0o600)
    return path


def test_t_fifos_are_refused_at_once(env):
    pw = fifo(env, "db-password.fifo")
    rc, out = check(conf(env, "fifo-password", db_password_file=pw))
    assert rc == 1 and "db_password_file %s: not a regular file" % pw in out, out
    bpw = fifo(env, "broker-password.fifo")
    rc, out = check(conf(env, "fifo-broker", broker_url="amqp://u@127.0.0.1:5672/",
                         broker_password_file=bpw))
    assert rc == 1 and "broker_password_file %s: not a regular file" % bpw in out, out
    key = fifo(env, "apigw.fifo")
    rc, out = check(conf(env, "fifo-key", auth_mode="jwt", jwt_public_key_file=key))
    assert rc == 1 and "%s: not a regular file" % key in out, out
    c = fifo(env, "operate-node.conf.fifo")
    rc, out = check(c)
    assert rc == 1 and "%s: not a regular file" % c in out, out


def test_t_refuses_a_socket_path_too_long_to_bind(env):
    # sun_path holds 107 bytes and a NUL: 108 bytes of path do not bind
    d = os.path.join(env.top, "hardening")
    path = os.path.join(d, "s" * (108 - len(d) - 1))
    assert len(path) == 108
    for key in ("listen", "status_listen"):
        rc, out = check(conf(env, "long-" + key, **{key: "unix:" + path}))
        assert rc == 1 and "%s: \"unix:%s\" is not unix:/path (at most 107 bytes)" \
            % (key, path) in out, out
    ok = path[:-1]
    rc, out = check(conf(env, "long-ok", status_listen="unix:" + ok))
    assert rc == 0, out


def test_t_refuses_world_writable_files(env):
    c = conf(env, "writable", mode=0o666)
    rc, out = check(c)
    assert rc == 1 and "%s is writable by others (mode 0666)" % c in out, out
    os.chmod(c, 0o644)
    assert check(c)[0] == 0
    # not readable by others, but writable: anyone could choose the password
    pw = secret_file(env, "db-password-writable", 0o622)
    rc, out = check(conf(env, "writable-password", db_password_file=pw))
    assert rc == 1 and "db_password_file %s is writable by others (mode 0622)" % pw in out, out
    os.chmod(pw, 0o640)
    assert check(conf(env, "fine-password", db_password_file=pw))[0] == 0


CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin", "node_id": "no_such_node", "action": "retry"}


def failures(svc):
    text = svc.status("/metrics").raw.decode()
    return {(m.group(1), m.group(2)): int(m.group(3)) for m in re.finditer(
        r'^operate_node_auth_failures_total\{app="([^"]*)",what="(\w+)"\} (\d+)$',
        text, re.M)}


def test_app_mode_auth_failures_are_counted_per_app_and_logged(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="auth-failures", workers=2)
    try:
        def post(**body):
            r = svc.post("/operate_node/2/12/", dict(CRED, **body))
            assert r.status == 200 and r.json["code"] == 3540100, r
        for _ in range(3):
            post(bk_app_secret="wrong")
        post(bk_token="no-such-token")
        post(bk_token="no-such-token")
        for i in range(40):     # invented app codes: no label of their own
            post(bk_app_code="made_up_%d" % i)
        post(bk_app_code='x"}\nfake 1')
        f = failures(svc)
        assert f[("demo_app", "app")] == 3, f
        assert f[("demo_app", "user")] == 2, f
        assert f[("_other", "app")] == 41, f
        assert set(a for a, _ in f) == {"demo_app", "_other"}, f
        lines = [l for l in svc.pool.log_lines() if l.get("level") == "warn"
                 and "app authentication refused" in l.get("msg", "")]
        # at most one line per worker every 10 s, each naming the app
        assert 1 <= len(lines) <= 2, lines
        assert 'app "demo_app"' in lines[0]["msg"], lines
        assert not [l for l in svc.pool.log_lines() if "made_up" in l.get("msg", "")
                    or "fake" in l.get("msg", "")]
    finally:
        svc.stop()
