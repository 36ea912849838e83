"""The engine's Celery app as bk-sops configures it for bamboo's tasks:
bamboo's er_execute / er_schedule queues (eri/celery/queues.py, with
bk-sops' "api" suffix), pickle accepted, Asia/Shanghai without UTC."""
import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opn_engine.settings")

app = Celery("opn_engine")


def notice_queues():
    """bk-sops' queues for its own notices (gcloud/taskflow3/celery/
    settings.py; 'default' is Celery's default queue in bk-sops)."""
    ex = Exchange("default", type="direct")
    return [Queue("default", ex, routing_key="default"),
            Queue("node_auto_retry", ex, routing_key="node_auto_retry",
                  queue_arguments={"x-max-priority": 255}),
            Queue("task_callback", ex, routing_key="task_callback",
                  queue_arguments={"x-max-priority": 255})]


def engine_queues():
    from pipeline.eri.celery import queues as eri_queues
    return eri_queues.CELERY_QUEUES + eri_queues.QueueResolver("api").queues()


app.conf.update(
    broker_url=os.environ.get("OPN_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    timezone="Asia/Shanghai",
    enable_utc=False,
    accept_content=["pickle", "json"],
    task_serializer="json",
    task_default_queue="default",
    worker_hijack_root_logger=False,
    broker_connection_retry=True,
    broker_connection_max_retries=None,
    imports=["pipeline.eri.celery.tasks"],
)
app.conf.task_queues = engine_queues() + notice_queues()
