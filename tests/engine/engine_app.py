"""A stand-in for bk-sops' Celery workers in the tests: the real broker
settings that matter on the wire (queues with x-max-priority 255 bound to the
direct exchange 'default', Asia/Shanghai without UTC, JSON only), and task
modules at the real dotted names that record each call to ENGINE_RECORD."""
import json
import os

from celery import Celery
from kombu import Exchange, Queue

# bamboo-pipeline eri/celery/queues.py, with bk-sops' suffixes '', api and
# periodic_task (config/default.py), and bk-sops' own notice queues.
EXCHANGE = Exchange("default", type="direct")
QUEUES = ["er_execute", "er_schedule", "er_execute_api", "er_schedule_api",
          "er_execute_periodic_task", "er_schedule_periodic_task",
          "node_auto_retry", "task_callback"]

app = Celery("engine", broker=os.environ.get("BROKER_URL", "amqp://"))
app.conf.update(
    task_queues=[Queue(q, EXCHANGE, routing_key=q, max_priority=255)
                 for q in QUEUES],
    accept_content=["json"],
    task_serializer="json",
    timezone="Asia/Shanghai",
    enable_utc=False,
    worker_hijack_root_logger=False,
    broker_connection_retry=True,
    broker_connection_max_retries=None,
    imports=["pipeline.eri.celery.tasks",
             "gcloud.taskflow3.celery.tasks"],
)


def record(task, kwargs):
    """One JSON line per call; a single O_APPEND write keeps lines whole."""
    req = task.request
    di = req.delivery_info or {}
    line = json.dumps({
        "task": task.name, "id": req.id, "args": list(req.args or []),
        "kwargs": kwargs, "kwargs_order": list(kwargs),
        "exchange": di.get("exchange"), "routing_key": di.get("routing_key"),
        "priority": di.get("priority"), "eta": req.eta,
        "redelivered": di.get("redelivered"),
    }) + "\n"
    fd = os.open(os.environ["ENGINE_RECORD"],
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
