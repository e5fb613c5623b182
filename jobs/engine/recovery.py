"""The recovery sweep: the database is the source of truth, so whatever the broker or
a worker lost is found here. Idempotent and safe to run on several workers at once."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.engine import health
from jobs.engine.rows import update_rows
from jobs.engine.tick import enqueue
from jobs.models import Execution
from ops import metrics

Status = Execution.Status
SWEEP_LIMIT = 10_000
# Past its claim, a running execution waits at most the horizon for its second
# and the longest timeout for its answer; beyond that, with a margin, its worker died.
RUNNING_MARGIN = timedelta(seconds=60)
MAX_TIMEOUT = timedelta(seconds=30)
WORKER_LOST_ERROR = (
    "The worker stopped while running this execution. It was not sent again, "
    "because the target may already have received it."
)


@dataclass
class SweepReport:
    requeued: int = 0
    abandoned: int = 0


def sweep(now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport(requeued=requeue_lost(now), abandoned=finish_abandoned(now))
    metrics.RECOVERY_ACTIONS.labels("requeued").inc(report.requeued)
    metrics.RECOVERY_ACTIONS.labels("abandoned").inc(report.abandoned)
    return report


@transaction.atomic
def requeue_lost(now: datetime) -> int:
    """Pending executions whose message was sent long ago: the broker lost it. Send again."""
    cutoff = now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    lost = list(
        Execution.objects.select_for_update(skip_locked=True)
        .filter(status=Status.PENDING, enqueued_at__lt=cutoff)
        .order_by("scheduled_for")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    Execution.objects.filter(id__in=lost).update(enqueued_at=now)
    # Robust: if the broker is still away, the next sweep tries again.
    transaction.on_commit(lambda: enqueue(lost), robust=True)
    return len(lost)


@transaction.atomic
def finish_abandoned(now: datetime) -> int:
    """Running executions whose worker died. The target may have had the request
    already, so they are finished as failed (worker_lost), never sent a second time,
    and counted against their jobs like any other failure."""
    horizon = timedelta(seconds=settings.DISPATCH_HORIZON_SECONDS)
    cutoff = now - (horizon + MAX_TIMEOUT + RUNNING_MARGIN)
    abandoned = list(
        Execution.objects.select_for_update(skip_locked=True)
        .filter(status=Status.RUNNING, started_at__lt=cutoff)
        .order_by("scheduled_for")[:SWEEP_LIMIT]
    )
    for execution in abandoned:
        execution.status = Status.FAILED
        execution.failure_reason = Execution.Reason.WORKER_LOST
        execution.finished_at = now
        execution.error = WORKER_LOST_ERROR
    update_rows(abandoned, ["status", "failure_reason", "finished_at", "error"])
    health.record(abandoned)
    return len(abandoned)
