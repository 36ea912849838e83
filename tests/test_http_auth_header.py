"""Credentials in the X-Bkapi-Authorization header, as BlueKing's API clients
send them (issue 28), through nginx: body only, header only, both agreeing,
both disagreeing (the header wins), malformed, oversized, repeated, a token
instead of a username; the header plays no part in gateway mode; no secret
in any log line or reply."""
import glob
import http.client
import json

import harness
import rows

SVC = None
GW = None

PATH = "/operate_node/2/12/"
ACT = {"node_id": "act_failed", "action": "retry"}
RIGHT = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
         "bk_username": "admin"}
# Secrets and markers that must never reach a log line or a reply.
SECRETS = ["demo-app-secret", "trusted-app-secret", "demo-token-admin",
           "demo-token-expired", "hdr-secret-not", "hdr-marker-"]
APP_FAILED = (3540100, "app authentication failed")
USER_FAILED = (3540100, "user authentication failed")
OK = (0, "success")


def hdr(obj):
    return {"X-Bkapi-Authorization": obj if isinstance(obj, str)
            else json.dumps(obj)}


def setup_module(env):
    global SVC, GW
    env.db.reset_demo()
    SVC = harness.Service(env, name="hdr-pool")
    GW = harness.Service(env, name="hdr-gateway-pool", auth_mode="gateway")


def teardown_module(env):
    SVC.stop()
    GW.stop()
    logs = glob.glob(env.top + "/hdr-*pool*/*.log")
    logs += glob.glob(SVC.nginx.dir + "/*.log") + glob.glob(GW.nginx.dir + "/*.log")
    assert len(logs) >= 4, logs
    refusals = 0
    for path in logs:
        text = open(path, errors="replace").read()
        refusals += text.count("X-Bkapi-Authorization refused")
        for s in SECRETS:
            assert s not in text, "%s found in %s" % (s, path)
    assert refusals > 0     # why a header was refused is logged, not the header


def check(env, headers, body, want, operator=None, svc=None):
    """The reply, and the rows: one record by operator, or none at all."""
    env.db.reset_demo()
    before = env.db.snapshot()
    r = (svc or SVC).post(PATH, dict(ACT, **body), headers)
    assert r.status == 200, r
    assert (r.json["code"], r.json["message"]) == want, r
    for s in SECRETS:
        assert s not in r.raw.decode(), r
    if want[0]:
        assert r.json["result"] is False
        assert harness.diff_snapshots(before, env.db.snapshot()) == []
    else:
        assert [x["operator"] for x in rows.records(env.db)] == [operator], r
        assert rows.state_name(env.db, "act_failed") == "READY"
    return r


def test_body_only(env):
    check(env, None, RIGHT, OK, "admin")


def test_header_only(env):
    check(env, hdr(RIGHT), {}, OK, "admin")
    # an empty header is no header (as the gateway takes it): the body counts
    check(env, hdr(""), RIGHT, OK, "admin")
    check(env, hdr(""), {}, (3540000, "bk_app_code is required"))


def test_header_and_body_agree(env):
    check(env, hdr(RIGHT), RIGHT, OK, "admin")


def test_header_and_body_disagree(env):
    """The header, when present, is the caller's credentials: the body's
    are ignored, right or wrong, and not even checked."""
    wrong = dict(RIGHT, bk_app_secret="hdr-secret-not", bk_username="bob")
    check(env, hdr(RIGHT), wrong, OK, "admin")
    check(env, hdr(RIGHT), {"bk_app_code": 5, "bk_username": "\t"}, OK, "admin")
    check(env, hdr(wrong), RIGHT, APP_FAILED)
    check(env, hdr(dict(RIGHT, bk_username="bob")), RIGHT,
          (3540100, "permission denied: task_operate on project(1)"))
    check(env, hdr(dict(RIGHT, bk_app_code="trusted_app",
                        bk_app_secret="trusted-app-secret",
                        bk_username="bob")), RIGHT, OK, "bob")


def test_token_instead_of_username(env):
    tok = {k: v for k, v in RIGHT.items() if k != "bk_username"}
    check(env, hdr(dict(tok, bk_token="demo-token-admin")), {}, OK, "admin")
    # access_token (the gateway's OAuth form) is taken as bk_token is
    check(env, hdr(dict(tok, access_token="demo-token-admin")), {}, OK, "admin")
    check(env, hdr(dict(tok, bk_token="demo-token-expired")), RIGHT, USER_FAILED)
    check(env, hdr(dict(tok, bk_token="demo-token-admin", bk_username="bob")),
          {}, USER_FAILED)
    check(env, hdr(dict(tok, bk_token="hdr-marker-unknown")), RIGHT, USER_FAILED)


MALFORMED = {
    "not JSON": "bk_app_code=demo_app&bk_app_secret=hdr-marker-1",
    "single quotes": json.dumps(RIGHT).replace('"', "'"),
    "an array": json.dumps([RIGHT]),
    "a string": json.dumps(json.dumps(RIGHT)),
    "trailing data": json.dumps(RIGHT) + " {}",
    "a trailing comma": json.dumps(RIGHT)[:-1] + ",}",
    "a duplicate key": '{"bk_app_code": "demo_app", "bk_app_code": "x", '
                       '"bk_app_secret": "demo-app-secret", "bk_username": "admin"}',
    "nested": json.dumps(dict(RIGHT, extra={"hdr-marker-2": 1})),
    "a number for the code": json.dumps(dict(RIGHT, bk_app_code=5)),
    "null for the secret": json.dumps(dict(RIGHT, bk_app_secret=None)),
    "an empty secret": json.dumps(dict(RIGHT, bk_app_secret="")),
    "a control character in the user": json.dumps(dict(RIGHT, bk_username="ad\tmin")),
    "a user ending in a space": json.dumps(dict(RIGHT, bk_username="admin ")),
    "a user of 129 characters": json.dumps(dict(RIGHT, bk_username="a" * 129)),
    "a secret of 257 bytes": json.dumps(dict(RIGHT, bk_app_secret="s" * 257)),
    "no secret": json.dumps({"bk_app_code": "demo_app", "bk_username": "admin"}),
    "no user": json.dumps({"bk_app_code": "demo_app",
                           "bk_app_secret": "demo-app-secret"}),
    "both bk_token and access_token": json.dumps(dict(
        RIGHT, bk_token="demo-token-admin", access_token="demo-token-admin")),
    "a lone surrogate escape": json.dumps(RIGHT)[:-1] + ', "x": "\\ud800"}',
}


def malformed_case(what, text):
    def case(env):
        # a right body does not rescue a malformed header
        check(env, hdr(text), RIGHT, APP_FAILED)
    return ("a header with %s is 3540100, nothing applied" % what, case)


CASES = [malformed_case(k, v) for k, v in MALFORMED.items()]


def test_oversized_header(env):
    """4096 bytes are taken; one more is refused, whatever it holds."""
    base = json.dumps(dict(RIGHT, pad=""))
    fits = json.dumps(dict(RIGHT, pad="p" * (4096 - len(base))))
    assert len(fits) == 4096
    check(env, hdr(fits), {}, OK, "admin")
    over = json.dumps(dict(RIGHT, pad="p" * (4097 - len(base))))
    check(env, hdr(over), RIGHT, APP_FAILED)
    check(env, hdr(json.dumps(dict(RIGHT, pad="hdr-marker-" * 700))), RIGHT,
          APP_FAILED)


def test_header_sent_twice(env):
    """Two header lines (nginx 1.22 passes both) are ambiguous: refused."""
    env.db.reset_demo()
    before = env.db.snapshot()
    body = json.dumps(dict(ACT, **RIGHT)).encode()
    c = http.client.HTTPConnection("127.0.0.1", SVC.nginx.port, timeout=30)
    try:
        c.putrequest("POST", PATH)
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(len(body)))
        c.putheader("X-Bkapi-Authorization", json.dumps(RIGHT))
        c.putheader("X-Bkapi-Authorization", json.dumps(
            dict(RIGHT, bk_username="bob")))
        c.endheaders(body)
        r = json.loads(c.getresponse().read())
    finally:
        c.close()
    assert (r["code"], r["message"]) == APP_FAILED, r
    assert harness.diff_snapshots(before, env.db.snapshot()) == []


def test_gateway_mode_ignores_the_header(env):
    gw_user = {"X-Bkapi-App-Code": "gw_app", "X-Bkapi-Username": "admin"}
    # a malformed header changes nothing: the gateway's headers count
    check(env, dict(gw_user, **hdr("hdr-marker-3")), {}, OK, "admin", svc=GW)
    # nor do right credentials in it stand for the gateway's headers
    check(env, hdr(RIGHT), RIGHT, APP_FAILED, svc=GW)
