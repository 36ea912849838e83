"""The curl examples that `make run` prints (tests/demo-examples.sh) work
against fresh demo data: each one, in order, through nginx, with the demo's
engine side (a private RabbitMQ, the pool's dispatcher and
tests/demo-consumer.py): after each example the consumer prints the Celery
message that wakes the engine, one for each message the request wrote."""
import json
import os
import subprocess
import sys
import time

import harness
from harness import Procs
from test_dispatch import RabbitMQ

SCRIPT = os.path.join(harness.ROOT, "tests", "demo-examples.sh")
CONSUMER = os.path.join(harness.ROOT, "tests", "demo-consumer.py")


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


def read(path):
    with open(path) as f:
        return f.read()


def printed(log, start):
    """The messages the consumer printed after offset start: (task, queue,
    kwargs) each."""
    out = []
    for block in read(log)[start:].split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not lines[0].startswith("celery message: "):
            continue
        task = lines[0].split(": ", 1)[1]
        queue = next(l for l in lines if l.startswith("  queue: ")).split()[1]
        k = next(i for i, l in enumerate(lines) if l.startswith("  kwargs: "))
        kwargs = json.loads("\n".join([lines[k].split(": ", 1)[1]] + lines[k + 1:]))
        out.append((task, queue, kwargs))
    return out


def celery_rows(db, after):
    return db.query("SELECT id, name, routing_key, body FROM `opn$outbox` "
                    "WHERE kind = 'celery' AND id > %s ORDER BY id", after)


def test_every_example(env):
    env.db.reset_demo()
    rabbit = RabbitMQ(env.top).start()
    log = os.path.join(env.top, "demo-consumer.log")
    consumer = Procs.spawn([sys.executable, "-u", CONSUMER, rabbit.url], log)
    svc = None
    try:
        harness.wait_for(lambda: "bound to" in read(log), 30, "the consumer")
        svc = harness.Service(env, name="demo-pool", broker_url=rabbit.pool_url,
                              broker_password_file=rabbit.password_file)
        base = "http://127.0.0.1:%d" % svc.nginx.port
        setup, cases = examples()
        assert len(cases) >= 9
        woke = 0
        for comment, line in cases:
            last = env.db.scalar("SELECT COALESCE(MAX(id), 0) FROM `opn$outbox`")
            seen = len(read(log))
            p = subprocess.run(["bash", "-c", "\n".join(setup + [line])],
                               env=dict(os.environ, BASE=base,
                                        STATUS="http://127.0.0.1:%d" % svc.nginx.status_port),
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, (line, p.stderr)
            if "/metrics" in line:
                assert "operate_node_requests_total" in p.stdout, p.stdout
            else:
                j = json.loads(p.stdout)
                if "/healthz" in line:
                    assert j == {"status": "ok"}
                elif "refusal" in comment:
                    assert j["result"] is False and j["code"] == 3545000, (line, j)
                else:
                    assert j["result"] is True and j["code"] == 0, (line, j)
            # What the request wrote for the engine, printed by the consumer.
            want = [(r["name"], r["routing_key"], json.loads(r["body"]))
                    for r in celery_rows(env.db, last)]
            harness.wait_for(lambda: len(printed(log, seen)) >= len(want), 15,
                             "the consumer to print %s" % line)
            got = printed(log, seen)
            key = lambda m: json.dumps(m, sort_keys=True)
            assert sorted(map(key, got)) == sorted(map(key, want)), \
                (line, got, want)
            woke += bool(want)
        # Every example but the refusal, the status lines and the two
        # pauses wakes the engine.
        assert woke >= 11, woke
    finally:
        if svc is not None:
            svc.stop()
        Procs.stop(consumer)
        rabbit.stop()
