"""The curl examples that `make run` prints (tests/demo-examples.sh) work
against fresh demo data: each one, in order, through nginx."""
import json
import os
import subprocess

import harness

SCRIPT = os.path.join(harness.ROOT, "tests", "demo-examples.sh")


def examples():
    """(comment, shell line) for every curl line of the script, and the
    script's variable lines."""
    setup, out, comment = [], [], ""
    for line in open(SCRIPT):
        line = line.rstrip("\n")
        if line.startswith("#"):
            comment = line
        elif line.startswith("curl"):
            out.append((comment, line))
        elif line.strip():
            setup.append(line)
    return setup, out


def test_every_example(env):
    env.db.reset_demo()
    svc = harness.Service(env, name="demo-pool")
    try:
        base = "http://127.0.0.1:%d" % svc.nginx.port
        setup, cases = examples()
        assert len(cases) >= 9
        for comment, line in cases:
            p = subprocess.run(["bash", "-c", "\n".join(setup + [line])],
                               env=dict(os.environ, BASE=base,
                                        STATUS="http://127.0.0.1:%d" % svc.nginx.status_port),
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, (line, p.stderr)
            if "/metrics" in line:
                assert "operate_node_requests_total" in p.stdout, p.stdout
                continue
            j = json.loads(p.stdout)
            if "/healthz" in line:
                assert j == {"status": "ok"}
            elif "refusal" in comment:
                assert j["result"] is False and j["code"] == 3545000, (line, j)
            else:
                assert j["result"] is True and j["code"] == 0, (line, j)
    finally:
        svc.stop()
