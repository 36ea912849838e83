"""The bad-input catalogue, end to end through nginx: malformed or hostile
requests, one row each, every one answered with a clear error and leaving
every table unchanged. Rows: name, method, path, body, headers, HTTP
status, code, a part of the message."""
import json

import harness

SVC = None
BASELINE = None

CRED = {"bk_app_code": "demo_app", "bk_app_secret": "demo-app-secret",
        "bk_username": "admin"}
DROP = object()


def req(**kw):
    """A valid legacy-form body (a refused skip on a missing node), edited."""
    d = dict(CRED, bk_biz_id="2", task_id="12", node_id="no_such_node",
             action="skip")
    for k, v in kw.items():
        if v is DROP:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d).encode()


def raw(s):
    return s.encode() if isinstance(s, str) else s


LEGACY = "/operate_node/"
PATHF = "/operate_node/2/12/"
OK_BODY = req()
P = 3540000

CATALOGUE = [
    # transport
    ("get", "GET", LEGACY, None, {}, 405, P, "method GET is not allowed"),
    ("put", "PUT", PATHF, OK_BODY, {}, 405, P, "method PUT is not allowed"),
    ("delete", "DELETE", PATHF, None, {}, 405, P, "method DELETE"),
    ("patch", "PATCH", LEGACY, OK_BODY, {}, 405, P, "use POST"),
    ("post healthz", "POST", "/healthz", b"{}", {}, 404, 3540400, "no such route"),
    ("unknown route", "POST", "/operate_nodes/", OK_BODY, {}, 404, 3540400, "no such route"),
    ("root route", "POST", "/", OK_BODY, {}, 404, 3540400, "no such route"),
    ("one segment", "POST", "/operate_node/2/", OK_BODY, {}, 404, 3540400, "no such route"),
    ("four segments", "POST", "/operate_node/2/12/13/", OK_BODY, {}, 404, 3540400, "no such route"),
    ("biz not digits", "POST", "/operate_node/abc/12/", req(bk_biz_id=DROP, task_id=DROP), {}, 200, P,
     'bk_biz_id in the path must be a positive integer, got "abc"'),
    ("task negative", "POST", "/operate_node/2/-1/", req(bk_biz_id=DROP, task_id=DROP), {}, 200, P,
     "task_id in the path must be a positive integer"),
    ("task zero", "POST", "/operate_node/2/0/", req(bk_biz_id=DROP, task_id=DROP), {}, 200, P,
     "task_id in the path must be a positive integer"),
    ("too large", "POST", LEGACY, b'{"a":"' + b"x" * (1 << 20) + b'"}', {}, 413, P,
     "body is larger than max_body_bytes"),
    # JSON
    ("empty body", "POST", LEGACY, b"", {}, 200, P, "invalid JSON"),
    ("whitespace body", "POST", LEGACY, b"  \n ", {}, 200, P, "invalid JSON"),
    ("null body", "POST", LEGACY, b"null", {}, 200, P, "invalid JSON"),
    ("array body", "POST", LEGACY, b"[]", {}, 200, P, "invalid JSON"),
    ("string body", "POST", LEGACY, b'"x"', {}, 200, P, "invalid JSON"),
    ("true body", "POST", LEGACY, b"true", {}, 200, P, "invalid JSON"),
    ("form body", "POST", LEGACY, b"action=skip&node_id=n", {"Content-Type": "application/x-www-form-urlencoded"}, 200, P, "invalid JSON"),
    ("single quotes", "POST", LEGACY, b"{'action':'skip'}", {}, 200, P, "invalid JSON"),
    ("NaN", "POST", LEGACY, b'{"data":{"x":NaN}}', {}, 200, P, "invalid JSON"),
    ("Infinity", "POST", LEGACY, b'{"data":{"x":Infinity}}', {}, 200, P, "invalid JSON"),
    ("-Infinity", "POST", LEGACY, b'{"data":{"x":-Infinity}}', {}, 200, P, "invalid JSON"),
    ("raw tab in string", "POST", LEGACY, b'{"node_id":"a\tb"}', {}, 200, P, "invalid JSON"),
    ("raw newline in string", "POST", LEGACY, b'{"node_id":"a\nb"}', {}, 200, P, "invalid JSON"),
    ("overlong utf8", "POST", LEGACY, b'{"node_id":"\xc0\xaf"}', {}, 200, P, "invalid JSON"),
    ("overlong 3 byte", "POST", LEGACY, b'{"node_id":"\xe0\x80\xaf"}', {}, 200, P, "invalid JSON"),
    ("byte ff", "POST", LEGACY, b'{"node_id":"\xff"}', {}, 200, P, "invalid JSON"),
    ("truncated utf8", "POST", LEGACY, b'{"node_id":"\xe7\x8e"}', {}, 200, P, "invalid JSON"),
    ("utf8 surrogate", "POST", LEGACY, b'{"node_id":"\xed\xa0\x80"}', {}, 200, P, "invalid JSON"),
    ("above U+10FFFF", "POST", LEGACY, b'{"node_id":"\xf4\x90\x80\x80"}', {}, 200, P, "invalid JSON"),
    ("lone surrogate escape", "POST", LEGACY, b'{"node_id":"\\ud800"}', {}, 200, P, "invalid JSON"),
    ("reversed surrogates", "POST", LEGACY, b'{"node_id":"\\ude00\\ud83d"}', {}, 200, P, "invalid JSON"),
    ("bad escape", "POST", LEGACY, b'{"node_id":"\\x41"}', {}, 200, P, "invalid JSON"),
    ("duplicate key", "POST", LEGACY, b'{"action":"skip","action":"retry"}', {}, 200, P, "duplicate key"),
    ("nested duplicate", "POST", LEGACY, b'{"data":{"a":1,"a":2}}', {}, 200, P, "duplicate key"),
    ("two objects", "POST", LEGACY, OK_BODY + b" {}", {}, 200, P, "invalid JSON"),
    ("trailing garbage", "POST", LEGACY, OK_BODY + b"x", {}, 200, P, "invalid JSON"),
    ("trailing NUL", "POST", LEGACY, OK_BODY + b"\x00", {}, 200, P, "invalid JSON"),
    ("NUL inside", "POST", LEGACY, b'{"a":1,\x00"b":2}', {}, 200, P, "invalid JSON"),
    ("int above int64", "POST", LEGACY, b'{"data":{"n":9223372036854775808}}', {}, 200, P, "invalid JSON"),
    ("int below int64", "POST", LEGACY, b'{"data":{"n":-9223372036854775809}}', {}, 200, P, "invalid JSON"),
    ("huge exponent", "POST", LEGACY, b'{"data":{"n":1e999}}', {}, 200, P, "invalid JSON"),
    ("leading zero", "POST", LEGACY, b'{"task_id":012}', {}, 200, P, "invalid JSON"),
    ("plus number", "POST", LEGACY, b'{"task_id":+12}', {}, 200, P, "invalid JSON"),
    ("hex number", "POST", LEGACY, b'{"task_id":0x12}', {}, 200, P, "invalid JSON"),
    ("trailing comma", "POST", LEGACY, b'{"a":1,}', {}, 200, P, "invalid JSON"),
    ("comment", "POST", LEGACY, b'{"a":1 /* c */}', {}, 200, P, "invalid JSON"),
    ("unterminated string", "POST", LEGACY, b'{"a":"x', {}, 200, P, "invalid JSON"),
    ("unclosed object", "POST", LEGACY, b'{"a":1', {}, 200, P, "invalid JSON"),
    ("too deep", "POST", LEGACY, b'{"data":' + b'{"a":' * 31 + b'{}' + b'}' * 32, {}, 200, P, "invalid JSON"),
    ("deep arrays", "POST", LEGACY, b'{"data":{"a":' + b'[' * 40 + b']' * 40 + b'}}', {}, 200, P, "invalid JSON"),
    # fields
    ("no bk_biz_id", "POST", LEGACY, req(bk_biz_id=DROP), {}, 200, P, "bk_biz_id is required"),
    ("no task_id", "POST", LEGACY, req(task_id=DROP), {}, 200, P, "task_id is required"),
    ("biz zero", "POST", LEGACY, req(bk_biz_id=0), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("biz negative", "POST", LEGACY, req(bk_biz_id="-2"), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("biz float", "POST", LEGACY, req(bk_biz_id=2.0), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("biz bool", "POST", LEGACY, req(bk_biz_id=True), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("biz object", "POST", LEGACY, req(bk_biz_id={}), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("biz 2^63", "POST", LEGACY, req(bk_biz_id="9223372036854775808"), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("biz spaces", "POST", LEGACY, req(bk_biz_id=" 2"), {}, 200, P, "bk_biz_id must be a positive integer"),
    ("task null", "POST", LEGACY, req(task_id=None), {}, 200, P, "task_id must be a positive integer"),
    ("task text", "POST", LEGACY, req(task_id="12abc"), {}, 200, P, "task_id must be a positive integer"),
    ("path body biz differ", "POST", PATHF, req(bk_biz_id="3"), {}, 200, P,
     "bk_biz_id in the path (2) and in the body (3) disagree"),
    ("path body task differ", "POST", PATHF, req(task_id=13), {}, 200, P,
     "task_id in the path (12) and in the body (13) disagree"),
    ("bad scope", "POST", LEGACY, req(scope="biz"), {}, 200, P, 'scope must be "cmdb_biz" or "project"'),
    ("scope case", "POST", LEGACY, req(scope="Project"), {}, 200, P, 'scope must be "cmdb_biz" or "project"'),
    ("scope null", "POST", LEGACY, req(scope=None), {}, 200, P, 'scope must be'),
    ("no action", "POST", LEGACY, req(action=DROP), {}, 200, P, "action is required"),
    ("unknown action", "POST", LEGACY, req(action="explode"), {}, 200, P, "action(explode) is not supported"),
    ("action number", "POST", LEGACY, req(action=3), {}, 200, P, "action must be a string"),
    ("action null", "POST", LEGACY, req(action=None), {}, 200, P, "action must be a string"),
    ("no node_id", "POST", LEGACY, req(node_id=DROP), {}, 200, P, "node_id is required"),
    ("empty node_id", "POST", LEGACY, req(node_id=""), {}, 200, P, "node_id must be a string of 1 to 64 bytes"),
    ("long node_id", "POST", LEGACY, req(node_id="n" * 65), {}, 200, P, "node_id must be a string of 1 to 64 bytes"),
    ("node_id trailing space", "POST", LEGACY, req(node_id="act_failed "), {}, 200, P, "node_id must not end with a space"),
    ("username trailing space", "POST", LEGACY, req(bk_username="admin "), {}, 200, P, "bk_username must not end with a space"),
    ("node_id number", "POST", LEGACY, req(node_id=5), {}, 200, P, "node_id must be a string"),
    ("node_id array", "POST", LEGACY, req(node_id=["n"]), {}, 200, P, "node_id must be a string"),
    ("data array", "POST", LEGACY, req(action="callback", data=[1]), {}, 200, P, "data must be an object"),
    ("data string", "POST", LEGACY, req(action="callback", data="{}"), {}, 200, P, "data must be an object"),
    ("data null", "POST", LEGACY, req(data=None), {}, 200, P, "data must be an object"),
    ("inputs string", "POST", LEGACY, req(action="retry", inputs="x"), {}, 200, P, "inputs must be an object"),
    ("inputs null", "POST", LEGACY, req(action="retry", inputs=None), {}, 200, P, "inputs must be an object"),
    ("escape keys not array", "POST", LEGACY, req(action="retry", inputs={"_escape_render_keys": "a"}), {}, 200, P,
     "inputs._escape_render_keys must be an array of strings"),
    ("escape keys numbers", "POST", LEGACY, req(action="retry", inputs={"_escape_render_keys": [1]}), {}, 200, P,
     "inputs._escape_render_keys must be an array of strings"),
    ("skip_exg no flow", "POST", LEGACY, req(action="skip_exg"), {}, 200, P, "flow_id is required for skip_exg"),
    ("flow_id long", "POST", LEGACY, req(action="skip_exg", flow_id="f" * 65), {}, 200, P, "flow_id must be a string"),
    ("flow_id number", "POST", LEGACY, req(action="skip_exg", flow_id=1), {}, 200, P, "flow_id must be a string"),
    ("no app code", "POST", LEGACY, req(bk_app_code=DROP), {}, 200, P, "bk_app_code is required"),
    ("no app secret", "POST", LEGACY, req(bk_app_secret=DROP), {}, 200, P, "bk_app_secret is required"),
    ("app code number", "POST", LEGACY, req(bk_app_code=1), {}, 200, P, "bk_app_code must be a string"),
    ("no user or token", "POST", LEGACY, req(bk_username=DROP), {}, 200, P, "bk_username or bk_token is required"),
    ("long username", "POST", LEGACY, req(bk_username="u" * 129), {}, 200, P, "bk_username must be a string of 1 to 128 characters"),
    ("username C1 control", "POST", LEGACY, req(bk_username="bo\u009bb"), {}, 200, P,
     "bk_username must be a string of 1 to 128 characters without control characters"),
    ("username null", "POST", LEGACY, req(bk_username=None), {}, 200, P, "bk_username must be a string"),
    ("token number", "POST", LEGACY, req(bk_token=5), {}, 200, P, "bk_token must be a string"),
    # credentials, scope, task, node
    ("wrong secret", "POST", LEGACY, req(bk_app_secret="nope"), {}, 200, 3540100, "app authentication failed"),
    # present but wrong, however it is shaped: 3540100, and nothing on how a secret looks
    ("secret with a trailing space", "POST", LEGACY, req(bk_app_secret="demo-app-secret "), {}, 200, 3540100, "app authentication failed"),
    ("secret with a leading space", "POST", LEGACY, req(bk_app_secret=" demo-app-secret"), {}, 200, 3540100, "app authentication failed"),
    ("unknown app", "POST", LEGACY, req(bk_app_code="who"), {}, 200, 3540100, "app authentication failed"),
    ("unknown token", "POST", LEGACY, req(bk_username=DROP, bk_token="nope"), {}, 200, 3540100, "user authentication failed"),
    ("unknown cmdb biz", "POST", LEGACY, req(bk_biz_id="999"), {}, 200, 3540400,
     "project(999) with scope(cmdb_biz) does not exist"),
    ("unknown project", "POST", LEGACY, req(bk_biz_id="999", scope="project"), {}, 200, 3540400,
     "project(999) with scope(project) does not exist"),
    ("plain project as cmdb", "POST", LEGACY, req(bk_biz_id="2", scope="project", task_id="12"), {}, 200, 3540400,
     "task[id=12] of project[id=2] does not exist"),
    ("disabled project", "POST", LEGACY, req(bk_biz_id="4"), {}, 200, 3545000, "project(3) is disabled"),
    ("unknown task", "POST", LEGACY, req(task_id="99999"), {}, 200, 3540400,
     "task[id=99999] of project[id=1] does not exist"),
    ("unknown node", "POST", LEGACY, req(), {}, 200, 3540400, "node(no_such_node) does not exist in task(12)"),
    ("sql in node_id", "POST", LEGACY, req(node_id="x' OR '1'='1"), {}, 200, 3540400,
     "node(x' OR '1'='1) does not exist in task(12)"),
    ("sql in app code", "POST", LEGACY, req(bk_app_code="demo_app' --"), {}, 200, 3540100, "app authentication failed"),
    ("sql in username", "POST", LEGACY, req(bk_username="admin' OR 1=1 --"), {}, 200, 3540100, "permission denied"),
]


def setup_module(env):
    global SVC, BASELINE
    env.db.reset_demo()
    BASELINE = env.db.snapshot()
    SVC = harness.Service(env)


def teardown_module(env):
    SVC.stop()


def check_refusal(r, status, code, msg):
    assert r.status == status, r
    j = r.json
    assert j is not None, r
    assert j["result"] is False and j["data"] is None, r
    assert j["code"] == code, r
    assert msg in j["message"], (msg, r)
    assert "\n" not in j["message"]
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-request-id"] == j["request_id"], r.headers
    assert r.headers["x-trace-id"] == j["trace_id"], r.headers
    assert len(j["trace_id"]) == 32


def make_case(row):
    name, method, path, body, headers, status, code, msg = row

    def case(env):
        r = SVC.post(path, body, headers, method=method)
        check_refusal(r, status, code, msg)
        if status == 405:
            assert r.headers["allow"] in ("POST", "GET, HEAD"), r.headers
        assert harness.diff_snapshots(BASELINE, env.db.snapshot()) == []
    return ("catalogue: " + name, case)


CASES = [make_case(row) for row in CATALOGUE]


def test_catalogue_is_large(env):
    assert len(CATALOGUE) >= 60


def test_body_over_limit_is_not_read(env):
    """413 comes before reading: the worker answers at once even when the
    declared body is far larger than what is sent."""
    import socket
    s = socket.create_connection(("127.0.0.1", SVC.nginx.port), 10)
    # nginx itself caps bodies at 2m (client_max_body_size in the snippet)
    s.sendall(b"POST /operate_node/ HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 1500000\r\nConnection: close\r\n\r\n")
    s.sendall(b"{" * 1500000)
    data = harness.recv_all(s)
    s.close()
    assert b" 413 " in data.split(b"\r\n")[0], data[:200]
    assert b'"code":3540000' in data


def test_body_at_limit_is_parsed(env):
    """Exactly max_body_bytes is accepted (and then judged as JSON)."""
    pad = (1 << 20) - len(req()) - len(',"pad":""')
    body = req()[:-1] + b',"pad":"' + b"x" * pad + b'"}'
    assert len(body) == 1 << 20
    r = SVC.post(LEGACY, body)
    check_refusal(r, 200, 3540400, "node(no_such_node) does not exist")
