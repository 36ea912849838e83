"""Stand-in for bk-sops' gcloud.taskflow3.celery.tasks.auto_retry_node."""
from celery import shared_task

from engine_app import record


@shared_task(bind=True, ignore_result=True)
def auto_retry_node(self, **kwargs):
    record(self, kwargs)
