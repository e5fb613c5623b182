import logging

from celery import shared_task
from django.utils import timezone

from jobs.models import Heartbeat

log = logging.getLogger(__name__)


@shared_task(name="cronsvc.heartbeat", ignore_result=True, expires=60)
def heartbeat() -> None:
    """Beat sends this on a schedule; the worker that runs it records that it is alive."""
    worker = f"worker:{heartbeat.request.hostname or 'unknown'}"
    Heartbeat.record(worker, timezone.now())
    log.info("heartbeat: %s alive", worker)
