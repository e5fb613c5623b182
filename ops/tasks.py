"""The operators' Celery task: workers prove they are alive."""

import structlog
from celery import shared_task
from django.utils import timezone

from cronsvc import task_names
from ops.models import Heartbeat

log = structlog.get_logger(__name__)


@shared_task(name=task_names.HEARTBEAT, ignore_result=True, expires=60)
def heartbeat() -> None:
    """Beat sends this on a schedule; the worker that runs it records that it is alive."""
    worker = f"worker:{heartbeat.request.hostname or 'unknown'}"
    Heartbeat.record(worker, timezone.now())
    log.info("heartbeat", process=worker)
