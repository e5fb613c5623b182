"""The recovery sweep: the database is the source of truth, so whatever the broker or
a worker lost is found here. Idempotent and safe to run on several workers at once.

A pending execution whose message went missing is sent again. A running one whose worker
died (its heartbeat stopped, ops/liveness.py) is finished as worker_lost, within seconds
of the death; a worker claiming the job's next run does the same at once.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.engine import outcomes, tick
from jobs.engine.rows import update_rows
from jobs.models import Execution
from ops import liveness, metrics
from ops.models import Heartbeat

Status = Execution.Status
SWEEP_LIMIT = 10_000
# Past its claim, a running execution waits at most the horizon for its second, the
# longest timeout for its answer and the writing of its result (retries included);
# beyond that, with a margin, a run with no claimer recorded was lost.
RUNNING_MARGIN = timedelta(seconds=60)
MAX_TIMEOUT = timedelta(seconds=settings.MAX_TIMEOUT_SECONDS)
# A live worker that has not finished a run in this long never will (its result could
# not be written).
STUCK_AFTER = timedelta(minutes=10)
CLAIM_FIELDS = [
    "id",
    "job_id",
    "scheduled_for",
    "trigger",
    "started_at",
    "claimed_by",
    "chain_depth",
]
WORKER_LOST_ERROR = (
    "The worker stopped while running this execution. It was not sent again, "
    "because the target may already have received it."
)
NOT_SENT_ERROR = (
    "Not sent: its worker stopped (last seen {seen_at:%H:%M:%S} UTC) before this run's "
    "second came, so the target did not receive it."
)
HEARTBEATS_KEPT = timedelta(hours=1)


@dataclass
class SweepReport:
    requeued: int = 0
    abandoned: int = 0


def sweep(now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport(requeued=requeue_lost(now), abandoned=finish_abandoned(now))
    # Instances gone this long will not be asked about again.
    Heartbeat.objects.filter(seen_at__lt=now - HEARTBEATS_KEPT).delete()
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
    Execution.objects.filter(id__any=lost).update(enqueued_at=now)
    # Robust: if the broker is still away, the next sweep tries again.
    transaction.on_commit(lambda: tick.enqueue(lost), robust=True)
    return len(lost)


def finish_abandoned(now: datetime) -> int:
    """Running executions whose worker died, finished as worker_lost.

    Live workers hold most running executions (claimed ahead of their second), and every
    one of theirs younger than STUCK_AFTER is fine: only the rest are read, and lost_runs
    judges them."""
    running = Execution.objects.filter(status=Status.RUNNING).exclude(
        claimed_by__in=liveness.alive_instances(now), started_at__gte=now - STUCK_AFTER
    )
    candidates = list(running.order_by("scheduled_for").only(*CLAIM_FIELDS)[:SWEEP_LIMIT])
    return len(finish_lost(lost_runs(candidates, now), now))


def lost_runs(running: list[Execution], now: datetime) -> list[Execution]:
    """Those of the running executions whose worker is gone: its heartbeat stopped. A
    live worker keeps its work however slow it is, up to STUCK_AFTER; a run claimed
    outside a worker (no claimer) is judged by its age."""
    seen = liveness.last_seen({e.claimed_by for e in running if e.claimed_by})
    unclaimed_cutoff = now - (horizon() + MAX_TIMEOUT + RUNNING_MARGIN)
    lost = []
    for execution in running:
        if execution.claimed_by:
            alive = liveness.is_alive(seen.get(execution.claimed_by), now)
            gone = not alive or execution.started_at < now - STUCK_AFTER
        else:
            gone = execution.started_at < unclaimed_cutoff
        if gone:
            lost.append(execution)
    return lost


def finish_lost(executions: list[Execution], now: datetime) -> list[Execution]:
    """Finish runs lost with their worker, by what is known of them. Only those still
    running: a late result already written stands.

    A run whose worker was last seen well before its second was never sent: it is a
    missed slot (not the target's failure), and the missed-slot policy gives its job one
    catch-up run. Any other may have reached the target: it fails as worker_lost, counts
    against its job like any failure, and is never sent again.
    """
    if not executions:  # as every claim finds: nothing to lock, count or follow
        return []
    with transaction.atomic():
        return finish_still_running(executions, now)


def finish_still_running(executions: list[Execution], now: datetime) -> list[Execution]:
    still_running = set(
        Execution.objects.select_for_update(skip_locked=True)
        .filter(id__any=[e.id for e in executions], status=Status.RUNNING)
        .values_list("id", flat=True)
    )
    lost = [e for e in executions if e.id in still_running]
    seen = liveness.last_seen({e.claimed_by for e in lost if e.claimed_by})
    for execution in lost:
        seen_at = seen.get(execution.claimed_by)
        execution.finished_at = now
        if never_sent(execution, seen_at):
            execution.status, execution.missed_count = Status.MISSED, 1
            execution.error = NOT_SENT_ERROR.format(seen_at=seen_at)
        else:
            execution.status = Status.FAILED
            execution.failure_reason = Execution.Reason.WORKER_LOST
            execution.error = WORKER_LOST_ERROR
    update_rows(lost, ["status", "failure_reason", "finished_at", "error", "missed_count"])
    outcomes.follow(lost, now)
    return lost


def never_sent(execution: Execution, seen_at: datetime | None) -> bool:
    """Its worker died before the run's second: a live worker records a heartbeat every
    HEARTBEAT_SECONDS (plus the write, given a second), so one last seen more than that
    before the second was dead by then."""
    if seen_at is None:
        return False
    return seen_at + heartbeat_interval() + timedelta(seconds=1) < execution.scheduled_for


def horizon() -> timedelta:
    return timedelta(seconds=settings.DISPATCH_HORIZON_SECONDS)


def heartbeat_interval() -> timedelta:
    return timedelta(seconds=settings.HEARTBEAT_SECONDS)
