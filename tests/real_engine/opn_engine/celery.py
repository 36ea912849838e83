"""The engine's Celery app as bk-sops configures it for bamboo's tasks:
bamboo's er_execute / er_schedule queues (eri/celery/queues.py, with
bk-sops' "api" suffix), pickle accepted, Asia/Shanghai without UTC.
bk-sops' notice queues are declared by the test, which reads them."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opn_engine.settings")

app = Celery("opn_engine")


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
app.conf.task_queues = engine_queues()
