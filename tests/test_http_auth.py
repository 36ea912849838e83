"""Authentication and permission end to end (README "Authentication"): the
app x user x permission matrix, cross-project access, SQL injection in
every string field, gateway mode, and no secret in any log."""
import glob
import json

import harness
import rows

SVC = None
GW = None

APPS = {
    "unknown": ("nobody_app", "whatever"),
    "disabled": ("disabled_app", "disabled-app-secret"),
    "wrong secret": ("demo_app", "demo-app-secret-not"),
    "right secret": ("demo_app", "demo-app-secret"),
    "trusted": ("trusted_app", "trusted-app-secret"),
}
# who: admin may operate project 1; alice only project 2; bob nothing
WHO = {"admin": "this project", "alice": "another project only", "bob": "none"}
USERS = ["none", "bk_username", "valid token", "expired token", "token and username disagree"]
SECRETS = ["demo-app-secret", "trusted-app-secret", "disabled-app-secret",
           "demo-token-admin", "demo-token-alice", "tok-bob", "tok-alice-old",
           "tok-bob-old", "demo-token-expired", "demo-app-secret-not"]


def seed_tokens(env):
    """Tokens the demo data lacks: bob's, and expired ones for alice, bob."""
    for tok, user, exp in [("tok-bob", "bob", "2099-01-01"),
                           ("tok-alice-old", "alice", "2020-01-01"),
                           ("tok-bob-old", "bob", "2020-01-01")]:
        env.db.exec("INSERT INTO `opn$token` VALUES "
                    "(CONCAT('sha256:', SHA2(%s, 256)), %s, %s)", tok, user, exp)


def reset(env):
    env.db.reset_demo()
    seed_tokens(env)


def setup_module(env):
    global SVC, GW
    reset(env)
    SVC = harness.Service(env)
    GW = harness.Service(env, name="gateway-pool", auth_mode="gateway")


def teardown_module(env):
    SVC.stop()
    GW.stop()
    logs = glob.glob(env.top + "/*pool*/*.log") + glob.glob(env.top + "/nginx*/*.log")
    assert logs
    for path in logs:
        text = open(path, errors="replace").read()
        for s in SECRETS:
            assert s not in text, "%s found in %s" % (s, path)


TOKENS = {"admin": ("demo-token-admin", "demo-token-expired"),
          "alice": ("demo-token-alice", "tok-alice-old"),
          "bob": ("tok-bob", "tok-bob-old")}


def body_for(app, user, who):
    code, secret = APPS[app]
    b = {"bk_app_code": code, "bk_app_secret": secret, "node_id": "act_failed",
         "action": "retry"}
    if user == "bk_username":
        b["bk_username"] = who
    elif user == "valid token":
        b["bk_token"] = TOKENS[who][0]
    elif user == "expired token":
        b["bk_token"] = TOKENS[who][1]
    elif user == "token and username disagree":
        b["bk_token"] = TOKENS[who][0]
        b["bk_username"] = "carol"
    return b


def expected(app, user, who):
    if user == "none":
        return 3540000, "bk_username or bk_token is required"
    if app in ("unknown", "disabled", "wrong secret"):
        return 3540100, "app authentication failed"
    if user in ("expired token", "token and username disagree"):
        return 3540100, "user authentication failed"
    if app == "trusted" or who == "admin":
        return 0, "success"
    return 3540100, "permission denied: task_operate on project(1)"


def matrix_case(app, user, who):
    def case(env):
        reset(env)
        before = env.db.snapshot()
        r = SVC.post("/operate_node/2/12/", body_for(app, user, who))
        code, msg = expected(app, user, who)
        assert r.status == 200, r
        assert r.json["code"] == code, r
        assert r.json["message"] == msg, r
        for s in SECRETS:
            assert s not in r.raw.decode(), r
        if code:
            assert r.json["result"] is False
            assert harness.diff_snapshots(before, env.db.snapshot()) == []
        else:
            assert len(rows.records(env.db)) == 1
            rec = rows.record(env.db, r.json["request_id"])
            assert rec["operator"] == who
            assert rows.state_name(env.db, "act_failed") == "READY"
    return ("matrix: app %s, user %s, %s (%s)" % (app, user, who, WHO[who]), case)


CASES = [matrix_case(a, u, w) for a in APPS for u in USERS for w in WHO]

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}


def refused(env, path, body, code, msg, svc=None, headers=None):
    before = env.db.snapshot()
    r = (svc or SVC).post(path, body, headers)
    assert r.json["code"] == code and r.json["message"] == msg, r
    assert harness.diff_snapshots(before, env.db.snapshot()) == []


def test_cross_project(env):
    reset(env)
    b = dict(CRED, node_id="t40_act", action="retry")
    refused(env, "/operate_node/2/40/", b, 3540400,
            "task[id=40] of project[id=1] does not exist")
    refused(env, "/operate_node/2/40/", dict(b, scope="project"), 3540400,
            "task[id=40] of project[id=2] does not exist")
    # the node exists, but in another task of the same project
    refused(env, "/operate_node/2/12/", dict(CRED, node_id="t17_act", action="retry"),
            3540400, "node(t17_act) does not exist in task(12)")
    # project 5 shares bk_biz_id 2 but is not a cmdb project: nobody may use it
    refused(env, "/operate_node/5/12/", dict(b, node_id="act_failed", scope="project"),
            3540100, "permission denied: task_operate on project(5)")
    # alice may operate project 2 only
    alice = dict(CRED, bk_username="alice", node_id="t40_act", action="retry")
    refused(env, "/operate_node/5/40/", alice, 3540100,
            "permission denied: task_operate on project(4)")


def test_usernames_are_exact(env):
    reset(env)
    refused(env, "/operate_node/2/12/", dict(CRED, bk_username="Admin",
            node_id="act_failed", action="retry"), 3540100,
            "permission denied: task_operate on project(1)")
    refused(env, "/operate_node/2/12/", dict(CRED, bk_app_code="DEMO_APP",
            node_id="act_failed", action="retry"), 3540100,
            "app authentication failed")


INJECT = ["x' OR '1'='1", "'; DROP TABLE eri_state; --", "\\' OR 1=1 #",
          "a\" OR \"\"=\"", "1; SELECT SLEEP(5)", "%' --", "\u0000x"[1:] + "`x`"]


def test_sql_injection_in_ids_and_credentials(env):
    reset(env)
    for s in INJECT:
        refused(env, "/operate_node/2/12/", dict(CRED, node_id=s, action="skip"),
                3540400, "node(%s) does not exist in task(12)" % s)
        refused(env, "/operate_node/2/12/", dict(CRED, node_id="exg_failed",
                action="skip_exg", flow_id=s), 3545000,
                "flow(%s) is not an outgoing flow of gateway(exg_failed)" % s)
        refused(env, "/operate_node/2/12/", dict(CRED, bk_username=s,
                node_id="act_failed", action="retry"), 3540100,
                "permission denied: task_operate on project(1)")
        refused(env, "/operate_node/2/12/", dict(CRED, bk_app_code=s,
                node_id="act_failed", action="retry"), 3540100,
                "app authentication failed")
        tok = {k: v for k, v in CRED.items() if k != "bk_username"}
        refused(env, "/operate_node/2/12/", dict(tok, bk_token=s,
                node_id="act_failed", action="retry"), 3540100,
                "user authentication failed")
    assert env.db.scalar("SELECT COUNT(*) FROM eri_state") > 10


def test_sql_injection_stored_literally(env):
    reset(env)
    data = {s: s for s in INJECT}
    data["nested"] = {INJECT[1]: [INJECT[0]]}
    r = SVC.post("/operate_node/2/12/", dict(CRED, node_id="cb_wait",
                 action="callback", data=data))
    assert r.json["code"] == 0, r
    got = json.loads(rows.callback_data(env.db, "cb_wait")["data"])
    assert got == data
    inputs = {s: s for s in INJECT}
    r = SVC.post("/operate_node/2/12/", dict(CRED, node_id="act_failed",
                 action="retry", inputs=inputs))
    assert r.json["code"] == 0, r
    got = rows.inputs(env.db, "act_failed")
    for s in INJECT:
        assert got[s] == {"need_render": True, "value": s}


def gw(headers, body=None):
    b = {"node_id": "act_failed", "action": "retry"}
    b.update(body or {})
    return GW.post("/operate_node/2/12/", b, headers)


def test_gateway_mode(env):
    reset(env)
    h = {"X-Bkapi-App-Code": "any_gateway_app", "X-Bkapi-Username": "admin"}
    # body credentials are ignored, even wrong ones
    r = gw(h, {"bk_app_code": "demo_app", "bk_app_secret": "wrong",
               "bk_username": "bob"})
    assert r.json["code"] == 0, r
    assert [x["operator"] for x in rows.records(env.db)] == ["admin"]


def test_gateway_mode_refusals(env):
    reset(env)
    refused(env, "/operate_node/2/12/", {"node_id": "act_failed", "action": "retry",
            "bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
            "bk_username": "admin"}, 3540100, "app authentication failed", svc=GW)
    refused(env, "/operate_node/2/12/", {"node_id": "act_failed", "action": "retry"},
            3540100, "user authentication failed", svc=GW,
            headers={"X-Bkapi-App-Code": "gw_app"})
    refused(env, "/operate_node/2/12/", {"node_id": "act_failed", "action": "retry"},
            3540100, "permission denied: task_operate on project(1)", svc=GW,
            headers={"X-Bkapi-App-Code": "gw_app", "X-Bkapi-Username": "bob"})
    refused(env, "/operate_node/2/12/", {"node_id": "act_failed", "action": "retry"},
            3540100, "app authentication failed", svc=GW,
            headers={"X-Bkapi-App-Code": "disabled_app", "X-Bkapi-Username": "admin"})
    # a garbled user is nobody (HTTP itself trims a trailing space)
    for bad in ["ad\tmin", "\xe4\xb8"]:
        refused(env, "/operate_node/2/12/", {"node_id": "act_failed", "action": "retry"},
                3540100, "user authentication failed", svc=GW,
                headers={"X-Bkapi-App-Code": "gw_app", "X-Bkapi-Username": bad})
    # a trusted app's user needs no permission
    r = gw({"X-Bkapi-App-Code": "trusted_app", "X-Bkapi-Username": "bob"})
    assert r.json["code"] == 0, r


def test_disabling_takes_effect_at_once(env):
    """No credential cache: the next request sees the change."""
    reset(env)
    b = dict(CRED, node_id="no_such_node", action="skip")
    assert SVC.post("/operate_node/2/12/", b).json["code"] == 3540400
    env.db.exec("UPDATE `opn$app` SET is_enabled = 0 WHERE app_code='demo_app'")
    for _ in range(4):   # whichever worker answers
        assert SVC.post("/operate_node/2/12/", b).json["code"] == 3540100
    env.db.exec("UPDATE `opn$app` SET is_enabled = 1 WHERE app_code='demo_app'")
    env.db.exec("DELETE FROM `opn$grant` WHERE username='admin' AND project_id=1")
    for _ in range(4):
        assert SVC.post("/operate_node/2/12/", b).json["message"] == \
            "permission denied: task_operate on project(1)"
