"""The engine's Celery tasks: thin shells around functions the tests call directly.

Every beat sends the periodic ones; each runs once an interval under its lease
(ops/leases.py), whichever beat's message comes first.
"""

import structlog
from celery import shared_task
from celery.signals import worker_shutting_down
from django.conf import settings

from accounts import audit
from cronsvc import task_names
from jobs.engine import recovery, retention, shutdown, test_runs, tick, worker
from ops import leases

log = structlog.get_logger(__name__)


@shared_task(name=task_names.DISPATCH_TICK, ignore_result=True)
def dispatch_tick() -> None:
    if not leases.take(leases.DISPATCH, settings.DISPATCH_INTERVAL_SECONDS):
        return
    claimed = tick.tick()
    if claimed:
        log.info("dispatch.tick", claimed=claimed)


@shared_task(name=task_names.EXECUTE_BATCH, ignore_result=True)
def execute_batch(execution_ids: list[int]) -> None:
    worker.run_batch(execution_ids)


@worker_shutting_down.connect
def announce_stop(sender: str, how: str, **kwargs: object) -> None:
    shutdown.announce(sender, how)


@shared_task(name=task_names.RECOVERY_SWEEP, ignore_result=True)
def recover() -> None:
    if not leases.take(leases.RECOVERY, settings.RECOVERY_INTERVAL_SECONDS):
        return
    report = recovery.sweep()
    if report.requeued or report.abandoned:
        log.warning("recovery.sweep", requeued=report.requeued, abandoned=report.abandoned)


@shared_task(name=task_names.PRUNE_HISTORY, ignore_result=True)
def prune() -> None:
    if not leases.take(leases.PRUNING, retention.PRUNE_INTERVAL_SECONDS):
        return
    log.info(
        "prune",
        deleted=retention.prune(),
        test_runs_deleted=retention.prune_test_runs(),
        audit_deleted=audit.prune(),
    )


@shared_task(name=task_names.TEST_RUN, ignore_result=True)
def test_run(test_run_id: int) -> None:
    test_runs.send(test_run_id)
