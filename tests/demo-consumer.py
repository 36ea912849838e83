#!/usr/bin/env python3
"""The demo's engine side (make run): binds the queues bk-sops' workers
consume, as they declare them (durable, x-max-priority 255, bound by name
to the direct exchange 'default': bamboo-pipeline eri/celery/queues.py with
bk-sops' suffixes, and bk-sops' own node_auto_retry and task_callback; and
bamboo's 'default' queue, without arguments, where bk-sops' notices go), and
prints each Celery message the dispatcher publishes, readably: the task
name, the queue, the eta, the task id and the kwargs. Nothing runs the
tasks: each message is acknowledged once printed.

usage: demo-consumer.py AMQP_URL"""
import json
import sys

from kombu import Connection, Consumer, Exchange, Queue

EXCHANGE = Exchange("default", type="direct", durable=True)
QUEUES = ["er_execute", "er_schedule", "er_execute_api", "er_schedule_api",
          "er_execute_periodic_task", "er_schedule_periodic_task",
          "node_auto_retry", "task_callback"]
PLAIN = ["default"]     # pipeline/celery/settings.py: no x-max-priority


def show(body, message):
    """One message as the newcomer reads it (Celery protocol 2: the task
    name and eta in the headers, the body [args, kwargs, embed])."""
    h = message.headers or {}
    di = message.delivery_info or {}
    try:
        args, kwargs, _ = json.loads(body) if isinstance(body, (str, bytes)) \
            else body
    except (TypeError, ValueError):
        args, kwargs = None, body
    lines = ["celery message: %s" % h.get("task"),
             "  queue: %s (exchange %r, priority %s)" % (
                 di.get("routing_key"), di.get("exchange"),
                 message.properties.get("priority")),
             "  eta: %s" % (h.get("eta") or "none (run now)"),
             "  id: %s" % h.get("id")]
    if args:
        lines.append("  args: %s" % json.dumps(args))
    lines.append("  kwargs: %s" % json.dumps(kwargs, indent=4).replace(
        "\n", "\n  "))
    print("\n".join(lines) + "\n", flush=True)
    message.ack()


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("usage: ")[1], file=sys.stderr)
        return 2
    queues = [Queue(q, EXCHANGE, routing_key=q, durable=True,
                    max_priority=255) for q in QUEUES] + \
        [Queue(q, EXCHANGE, routing_key=q, durable=True) for q in PLAIN]
    with Connection(sys.argv[1]) as conn:
        with Consumer(conn, queues, callbacks=[show], accept=["json"],
                      auto_declare=True) as consumer:
            consumer.qos(prefetch_count=10)
            print("demo consumer: bound to %s" % ", ".join(QUEUES + PLAIN),
                  flush=True)
            while True:
                conn.drain_events()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
