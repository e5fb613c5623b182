"""Celery tasks: thin shells around functions the tests call directly."""

import structlog
from celery import shared_task
from django.utils import timezone

from jobs import dispatch, execute, notify, recovery, retention
from jobs.models import Heartbeat

log = structlog.get_logger(__name__)


@shared_task(name="cronsvc.heartbeat", ignore_result=True, expires=60)
def heartbeat() -> None:
    """Beat sends this on a schedule; the worker that runs it records that it is alive."""
    worker = f"worker:{heartbeat.request.hostname or 'unknown'}"
    Heartbeat.record(worker, timezone.now())
    log.info("heartbeat", process=worker)


@shared_task(name="cronsvc.dispatch", ignore_result=True)
def dispatch_due() -> None:
    claimed = dispatch.dispatch()
    if claimed:
        log.info("dispatch.tick", claimed=claimed)


@shared_task(name="cronsvc.execute_batch", ignore_result=True)
def execute_batch(execution_ids: list[int]) -> None:
    execute.run_batch(execution_ids)


@shared_task(name="cronsvc.recover", ignore_result=True)
def recover() -> None:
    report = recovery.sweep()
    if report.requeued or report.abandoned:
        log.warning("recovery.sweep", requeued=report.requeued, abandoned=report.abandoned)


@shared_task(name="cronsvc.prune", ignore_result=True)
def prune() -> None:
    log.info("prune", deleted=retention.prune())


@shared_task(name="cronsvc.notify", ignore_result=True)
def send_notifications() -> None:
    report = notify.deliver_pending()
    if report.failed:
        log.warning("notify.retry_later", failed=report.failed, sent=report.sent)
