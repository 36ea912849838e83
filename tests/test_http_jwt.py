"""auth_mode = jwt end to end through nginx (README "Authentication"):
tokens signed here with RS512 as the API gateway signs
X-Bkapi-JWT; the key from a file and from bk-sops' apigw_manager_context row;
trusted apps from bk-sops' default whitelist and APP_WHITELIST; grants for the
others; every refusal answered 3540100 with the reason in the log, not the
token."""
import base64
import glob
import json
import os
import subprocess
import time

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import harness

FILE = None      # the pool with jwt_public_key_file
TABLE = None     # the pool with jwt_gateway_name (key in apigw_manager_context)
KEYS = {}        # name -> private key
TOKENS = []      # every token sent, none of which may reach a log
GATEWAY = "bk-sops"
PATH = "/operate_node/2/12/"    # demo: project 1 (cmdb biz 2), task 12
BODY = {"node_id": "act_failed", "action": "retry"}


# --- Database helpers: the only places that know table names --------------

def create_bk_sops_tables(env):
    """apigw-manager's table: bk-sops' DDL fixture does not hold it."""
    env.db.exec("DROP TABLE IF EXISTS apigw_manager_context")
    with open(os.path.join(harness.ROOT, "tests/fixtures/apigw-manager-schema.sql")) as f:
        env.db.exec(f.read())


def set_whitelist(env, value):
    env.db.exec("DELETE FROM core_environmentvariables WHERE `key` = 'APP_WHITELIST'")
    if value is not None:
        env.db.exec("INSERT INTO core_environmentvariables (`key`, name, value) "
                    "VALUES ('APP_WHITELIST', 'trusted apps', %s)", value)


def set_gateway_key(env, name):
    """As apigw-manager's fetch_apigw_public_key stores it."""
    env.db.exec("DELETE FROM apigw_manager_context WHERE scope = 'public_key'")
    env.db.exec("INSERT INTO apigw_manager_context (created_at, updated_at, scope, `key`, value) "
                "VALUES (UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'public_key', %s, %s)",
                GATEWAY, public_pem(KEYS[name]))


def last_operator(env):
    return env.db.scalar("SELECT operator FROM operate_record_taskoperaterecord ORDER BY id DESC LIMIT 1")


def retried(env):
    return env.db.scalar("SELECT name FROM eri_state WHERE node_id='act_failed'") == "READY"


# --- Tokens ------------------------------------------------------------------

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def claims(app="bk_sops", user="admin", app_verified=True, user_verified=True,
           exp=300, **more):
    c = {"iss": "APIGW", "app": {"app_code": app, "verified": app_verified},
         "user": {"username": user, "verified": user_verified},
         "exp": int(time.time()) + exp, "nbf": int(time.time()) - 10}
    c.update(more)
    return c


def token(payload, key="file", alg="RS512"):
    """Signed as bk-apigateway signs (kid = gateway name)."""
    header = {"alg": alg, "typ": "JWT", "kid": GATEWAY}
    signing = (b64url(json.dumps(header).encode()) + "." +
               b64url(json.dumps(payload).encode())).encode()
    if alg == "none":
        sig = b""
    elif alg.startswith("HS"):
        # the classic confusion: the public key PEM as the HMAC secret
        h = hmac.HMAC(public_pem(KEYS[key]).encode(), hashes.SHA512())
        h.update(signing)
        sig = h.finalize()
    else:
        digest = hashes.SHA256() if alg == "RS256" else hashes.SHA512()
        sig = KEYS[key].sign(signing, padding.PKCS1v15(), digest)
    t = signing.decode() + "." + b64url(sig)
    TOKENS.append(t)
    return t


def post(svc, tok, body=None):
    h = {"X-Bkapi-JWT": tok} if tok is not None else {}
    return svc.post(PATH, dict(BODY, **(body or {})), h)


def log_reason(svc, reply):
    """The warn line the pool wrote for this request."""
    rid = reply.json["request_id"]
    for line in svc.pool.log_lines():
        if line.get("request_id") == rid and line["level"] == "warn":
            return line["msg"]
    return None


# --- Setup -------------------------------------------------------------------

def setup_module(env):
    global FILE, TABLE
    env.db.reset_demo()
    create_bk_sops_tables(env)
    set_whitelist(env, " wl_app , other_app,")
    for name in ("file", "table", "rotated", "stranger"):
        KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    set_gateway_key(env, "table")
    keyfile = os.path.join(env.top, "apigw-public.pem")
    with open(keyfile, "w") as f:
        f.write(public_pem(KEYS["file"]))
    FILE = harness.Service(env, name="jwt-file-pool", auth_mode="jwt",
                           jwt_public_key_file=keyfile)
    TABLE = harness.Service(env, name="jwt-table-pool", auth_mode="jwt",
                            jwt_gateway_name=GATEWAY, jwt_key_refresh=1)


def teardown_module(env):
    FILE.stop()
    TABLE.stop()
    logs = glob.glob(env.top + "/jwt-*/*.log") + glob.glob(env.top + "/nginx*/*.log")
    assert logs
    for path in logs:
        text = open(path, errors="replace").read()
        for t in TOKENS:
            assert t.split(".")[1] not in text, "a token is in " + path


def reset(env):
    env.db.reset_demo()
    set_whitelist(env, " wl_app , other_app,")


# --- Who may operate -------------------------------------------------------

def accepted(env, svc, tok, operator, body=None):
    reset(env)
    r = post(svc, tok, body)
    assert r.status == 200 and r.json["code"] == 0, r
    assert last_operator(env) == operator
    assert retried(env)


def refused(env, svc, tok, msg, why=None, body=None):
    reset(env)
    before = env.db.snapshot()
    r = post(svc, tok, body)
    assert r.status == 200, r
    assert r.json["code"] == 3540100 and r.json["message"] == msg, r
    assert harness.diff_snapshots(before, env.db.snapshot()) == []
    if why is not None:
        got = log_reason(svc, r)
        assert got is not None and why in got, (got, why)
    return r


def test_trusted_default_app(env):
    # bob has no grant; bk_sops is on bk-sops' own whitelist
    accepted(env, FILE, token(claims(app="bk_sops", user="bob")), "bob")
    accepted(env, FILE, token(claims(app="bk_monitorv3", user="bob")), "bob")


def test_app_whitelist_app(env):
    accepted(env, FILE, token(claims(app="wl_app", user="bob")), "bob")
    accepted(env, FILE, token(claims(app="other_app", user="bob")), "bob")


def test_app_whitelist_is_read_per_request(env):
    reset(env)
    tok = token(claims(app="late_app", user="bob"))
    assert post(FILE, tok).json["message"] == "permission denied: task_operate on project(1)"
    set_whitelist(env, "late_app")
    for _ in range(4):      # whichever worker answers
        assert post(FILE, tok, {"node_id": "no_such_node"}).json["code"] == 3540400
    set_whitelist(env, None)
    assert post(FILE, tok).json["message"] == "permission denied: task_operate on project(1)"


def test_whitelist_items_are_exact(env):
    for app in ("wl", "wl_app2", "WL_APP", "bk_sops2", "wl_app,other_app"):
        refused(env, FILE, token(claims(app=app, user="bob")),
                "permission denied: task_operate on project(1)")


def test_granted_user_of_untrusted_app(env):
    # demo grants: admin task_operate on project 1
    accepted(env, FILE, token(claims(app="some_app", user="admin")), "admin")


def test_ungranted_user_of_untrusted_app(env):
    refused(env, FILE, token(claims(app="some_app", user="bob")),
            "permission denied: task_operate on project(1)")
    # the service's app table does not make an app trusted in jwt mode
    refused(env, FILE, token(claims(app="trusted_app", user="bob")),
            "permission denied: task_operate on project(1)")


def test_bk_app_code_and_bk_username_claims(env):
    c = claims()
    c["app"] = {"bk_app_code": "wl_app", "verified": True}
    c["user"] = {"bk_username": "bob", "verified": True}
    accepted(env, FILE, token(c), "bob")


def test_body_credentials_are_ignored(env):
    accepted(env, FILE, token(claims(app="some_app", user="admin")), "admin",
             {"bk_app_code": "demo_app", "bk_app_secret": "wrong", "bk_username": "bob"})


def test_bkapi_authorization_header_is_ignored(env):
    """X-Bkapi-Authorization plays no part in jwt mode: malformed, it does
    not refuse; right (demo_app), it does not stand for a missing JWT."""
    reset(env)
    tok = token(claims(app="some_app", user="admin"))
    r = FILE.post(PATH, BODY, {"X-Bkapi-JWT": tok,
                               "X-Bkapi-Authorization": "not json"})
    assert r.json["code"] == 0, r
    assert last_operator(env) == "admin"
    reset(env)
    before = env.db.snapshot()
    r = FILE.post(PATH, BODY, {"X-Bkapi-Authorization": json.dumps(
        {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
         "bk_username": "admin"})})
    assert (r.json["code"], r.json["message"]) == (3540100, APP_FAILED), r
    assert harness.diff_snapshots(before, env.db.snapshot()) == []


def test_scope_checks_still_apply(env):
    reset(env)
    r = FILE.post("/operate_node/99/12/", BODY, {"X-Bkapi-JWT": token(claims())})
    assert r.json["code"] == 3540400, r
    assert r.json["message"] == "project(99) with scope(cmdb_biz) does not exist"


# --- Refusals --------------------------------------------------------------

APP_FAILED = "app authentication failed"
USER_FAILED = "user authentication failed"


def test_missing_token(env):
    refused(env, FILE, None, APP_FAILED, "no X-Bkapi-JWT header")
    refused(env, FILE, "", APP_FAILED)


def test_expired(env):
    refused(env, FILE, token(claims(exp=-120)), APP_FAILED, "token expired")


def test_not_yet_valid(env):
    refused(env, FILE, token(claims(nbf=int(time.time()) + 600)), APP_FAILED,
            "token not valid for another")


def test_bad_signature(env):
    refused(env, FILE, token(claims(), key="stranger"), APP_FAILED,
            "signature does not verify")
    t = token(claims(user="admin"))
    head, payload, sig = t.split(".")
    forged = b64url(json.dumps(claims(user="bob")).encode())
    refused(env, FILE, head + "." + forged + "." + sig, APP_FAILED,
            "signature does not verify")


def test_wrong_alg(env):
    refused(env, FILE, token(claims(), alg="none"), APP_FAILED, "alg none is not RS512")
    refused(env, FILE, token(claims(), alg="HS512"), APP_FAILED, "alg HS512 is not RS512")
    refused(env, FILE, token(claims(), alg="RS256"), APP_FAILED, "alg RS256 is not RS512")


def test_garbage_token(env):
    refused(env, FILE, "not-a-jwt", APP_FAILED, "not three dot-separated parts")


def test_unverified_app(env):
    refused(env, FILE, token(claims(app_verified=False)), APP_FAILED,
            "app.verified is not true")
    c = claims()
    del c["app"]["verified"]
    refused(env, FILE, token(c), APP_FAILED, "app.verified is not true")


def test_unverified_user(env):
    refused(env, FILE, token(claims(user_verified=False)), USER_FAILED,
            "user.verified is not true")
    c = claims()
    c["user"]["verified"] = "true"      # a string is not true
    refused(env, FILE, token(c), USER_FAILED, "user.verified is not true")


def test_malformed_names(env):
    refused(env, FILE, token(claims(user="")), USER_FAILED, "username missing or malformed")
    refused(env, FILE, token(claims(user="ad\tmin")), USER_FAILED)
    refused(env, FILE, token(claims(user="admin ")), USER_FAILED)
    c = claims()
    del c["app"]["app_code"]
    refused(env, FILE, token(c), APP_FAILED, "app code missing or malformed")


# --- The key from bk-sops' apigw_manager_context ---------------------------

def test_key_from_table(env):
    set_gateway_key(env, "table")
    accepted(env, TABLE, token(claims(app="bk_sops", user="bob"), key="table"), "bob")
    refused(env, TABLE, token(claims(), key="file"), APP_FAILED, "signature does not verify")


def test_key_rotation_in_table(env):
    """jwt_key_refresh = 1: a new row is in use within a second or two."""
    set_gateway_key(env, "table")
    old = token(claims(app="bk_sops", user="bob"), key="table")
    new = token(claims(app="bk_sops", user="bob"), key="rotated")
    reset(env)
    assert post(TABLE, old, {"node_id": "no_such_node"}).json["code"] == 3540400
    set_gateway_key(env, "rotated")
    time.sleep(1.5)
    for _ in range(6):      # every worker has reloaded
        assert post(TABLE, new, {"node_id": "no_such_node"}).json["code"] == 3540400
        assert post(TABLE, old, {"node_id": "no_such_node"}).json["code"] == 3540100
    set_gateway_key(env, "table")


def test_no_key_row(env):
    """A gateway name without a row is the operator's mistake: 3599999."""
    env.db.exec("DELETE FROM apigw_manager_context")
    pool = harness.Pool(env, name="jwt-nokey-pool", auth_mode="jwt",
                        jwt_gateway_name="no-such-gateway").start()
    nginx = harness.Nginx(env, pool, name="nginx-jwt-nokey").start()
    try:
        r = harness.http_request(nginx.port, "POST", PATH, BODY,
                                 {"X-Bkapi-JWT": token(claims(), key="table")})
        assert r.json["code"] == 3599999, r
        assert any("no public_key row for gateway no-such-gateway" in l["msg"]
                   for l in pool.log_lines())
    finally:
        nginx.stop()
        pool.stop()
        set_gateway_key(env, "table")


# --- The config check --------------------------------------------------------

def check_config(env, name, **conf):
    path = harness.pool_config(os.path.join(env.top, name + ".conf"), **conf)
    p = subprocess.run([os.path.join(harness.BUILD, "operate-node"), "-t", "-c", path],
                       capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def test_config_check(env):
    good = os.path.join(env.top, "apigw-public.pem")
    rc, out = check_config(env, "jwt-good", auth_mode="jwt", jwt_public_key_file=good)
    assert rc == 0, out
    bad = os.path.join(env.top, "not-a-key.pem")
    with open(bad, "w") as f:
        f.write("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    rc, out = check_config(env, "jwt-bad", auth_mode="jwt", jwt_public_key_file=bad)
    assert rc == 1 and out.endswith("jwt_public_key_file %s: not a PEM RSA public key" % bad), out
    rc, out = check_config(env, "jwt-missing", auth_mode="jwt",
                           jwt_public_key_file=env.top + "/nope.pem")
    assert rc == 1 and "nope.pem: No such file or directory" in out, out
    rc, out = check_config(env, "jwt-none", auth_mode="jwt")
    assert rc == 1 and "needs one of jwt_public_key_file and jwt_gateway_name" in out, out
    rc, out = check_config(env, "jwt-both", auth_mode="jwt", jwt_public_key_file=good,
                           jwt_gateway_name=GATEWAY)
    assert rc == 1 and "needs one of" in out, out
    rc, out = check_config(env, "jwt-table", auth_mode="jwt", jwt_gateway_name=GATEWAY)
    assert rc == 0, out


# --- The gateway's own claims (issue 22): iss, aud, lifetime -----------------
# bk-jwt signs iss "APIGW" (BK_APIGW_JWT_ISSUER), no aud, nbf now - 300 and exp
# 1500 s after signing; apigw-manager decodes with PyJWT and no audience, which
# refuses any token naming one.

def test_issuer_must_be_the_gateways(env):
    refused(env, FILE, token(claims(iss="ESB")), APP_FAILED, "iss is not the gateway's issuer")
    c = claims()
    del c["iss"]
    refused(env, FILE, token(c), APP_FAILED, "iss is not the gateway's issuer")
    refused(env, FILE, token(claims(iss=["APIGW"])), APP_FAILED, "iss is not")


def test_audience_is_refused_unless_configured(env):
    refused(env, FILE, token(claims(aud="bk-sops")), APP_FAILED, "aud is set")
    refused(env, FILE, token(claims(aud=["other", "bk-sops"])), APP_FAILED, "aud is set")
    # PyJWT takes an empty aud as none
    accepted(env, FILE, token(claims(aud="")), "admin")


def test_lifetime_is_bounded(env):
    # what the gateway signs: 1500 s, and a token it cached 600 s: accepted
    accepted(env, FILE, token(claims(exp=1500)), "admin")
    refused(env, FILE, token(claims(exp=1800 + 60 + 30)), APP_FAILED,
            "exp is more than jwt_max_lifetime (1800s) away")
    refused(env, FILE, token(claims(exp=10 * 365 * 86400)), APP_FAILED,
            "jwt_max_lifetime")


def test_issuer_audience_and_lifetime_are_settings(env):
    keyfile = os.path.join(env.top, "apigw-public.pem")
    svc = harness.Service(env, name="jwt-claims-pool", auth_mode="jwt",
                          jwt_public_key_file=keyfile, jwt_issuer="my-apigw",
                          jwt_audience="bk-sops", jwt_max_lifetime=60)
    try:
        accepted(env, svc, token(claims(iss="my-apigw", aud="bk-sops", exp=50)), "admin")
        accepted(env, svc, token(claims(iss="my-apigw", aud=["x", "bk-sops"], exp=50)), "admin")
        refused(env, svc, token(claims(iss="APIGW", aud="bk-sops", exp=50)), APP_FAILED,
                "iss is not")
        refused(env, svc, token(claims(iss="my-apigw", exp=50)), APP_FAILED,
                "aud does not name jwt_audience")
        refused(env, svc, token(claims(iss="my-apigw", aud="bk-sops2", exp=50)), APP_FAILED,
                "aud does not name jwt_audience")
        refused(env, svc, token(claims(iss="my-apigw", aud="bk-sops", exp=300)), APP_FAILED,
                "jwt_max_lifetime (60s)")
    finally:
        svc.stop()
