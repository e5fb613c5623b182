"""The engine's Celery tasks: thin shells around functions the tests call directly."""

import structlog
from celery import shared_task

from accounts import audit
from cronsvc import task_names
from jobs.engine import recovery, retention, test_runs, tick, worker

log = structlog.get_logger(__name__)


@shared_task(name=task_names.DISPATCH_TICK, ignore_result=True)
def dispatch_tick() -> None:
    claimed = tick.tick()
    if claimed:
        log.info("dispatch.tick", claimed=claimed)


@shared_task(name=task_names.EXECUTE_BATCH, ignore_result=True)
def execute_batch(execution_ids: list[int]) -> None:
    worker.run_batch(execution_ids)


@shared_task(name=task_names.RECOVERY_SWEEP, ignore_result=True)
def recover() -> None:
    report = recovery.sweep()
    if report.requeued or report.abandoned:
        log.warning("recovery.sweep", requeued=report.requeued, abandoned=report.abandoned)


@shared_task(name=task_names.PRUNE_HISTORY, ignore_result=True)
def prune() -> None:
    log.info(
        "prune",
        deleted=retention.prune(),
        test_runs_deleted=retention.prune_test_runs(),
        audit_deleted=audit.prune(),
    )


@shared_task(name=task_names.TEST_RUN, ignore_result=True)
def test_run(test_run_id: int) -> None:
    test_runs.send(test_run_id)
