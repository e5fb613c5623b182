"""Workers prove they are alive: from a thread of their own once ready (ops/liveness.py),
and through the queues when beat sends them the heartbeat task."""

import structlog
from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from cronsvc import task_names
from jobs.engine.firing import FIRING
from ops import liveness
from ops.models import Heartbeat

log = structlog.get_logger(__name__)


@shared_task(name=task_names.HEARTBEAT, ignore_result=True, expires=60)
def heartbeat() -> None:
    """Beat sends this on a schedule; the worker that runs it records that it is alive."""
    worker = f"worker:{heartbeat.request.hostname or 'unknown'}"
    Heartbeat.record(worker, timezone.now(), instance=liveness.this_worker())
    log.info("heartbeat", process=worker)


@worker_ready.connect
def start_worker_heartbeat(sender: object, **kwargs: object) -> None:
    liveness.start_heartbeat(f"worker:{sender.hostname}", open_circuits=FIRING.open_circuits)
