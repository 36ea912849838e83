"""Stand-ins for bamboo-pipeline's pipeline.eri.celery.tasks (ignore_result
as there): they record what they were called with."""
from celery import shared_task

from engine_app import record


@shared_task(bind=True, ignore_result=True)
def execute(self, **kwargs):
    record(self, kwargs)


@shared_task(bind=True, ignore_result=True)
def schedule(self, **kwargs):
    record(self, kwargs)
