"""What the operator page shows and the actions it offers."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from jobs.engine.tick import enqueue
from jobs.models import Execution, Job
from ops.models import Heartbeat, stale_after

Status = Execution.Status
LIST_LENGTH = 20
REQUEUE_WINDOW = timedelta(days=1)


def state_counts(*, since: datetime) -> dict[str, int]:
    rows = (
        Execution.objects.filter(scheduled_for__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(Status.values, 0)
    counts.update(dict(rows))
    return counts


def lateness_and_throughput(*, since: datetime) -> dict:
    """Lateness p50/p99 (ms) and executions per second of the started executions since a time."""
    started = Execution.objects.filter(started_at__gte=since, lateness_ms__isnull=False)
    count = started.count()
    seconds = (timezone.now() - since).total_seconds()
    p50, p99 = percentiles(started, [0.5, 0.99]) if count else (None, None)
    return {"count": count, "per_second": count / seconds, "p50": p50, "p99": p99}


def percentiles(executions: QuerySet[Execution], fractions: list[float]) -> list[float]:
    if connection.vendor == "postgresql":
        # In the database: an hour can hold millions of executions.
        sql, params = executions.values("lateness_ms").query.sql_with_params()
        columns = ", ".join(
            f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY lateness_ms)"
            for fraction in fractions
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM ({sql}) AS started", params)
            return list(cursor.fetchone())
    values = sorted(executions.values_list("lateness_ms", flat=True))
    return [values[min(len(values) - 1, int(fraction * len(values)))] for fraction in fractions]


def stale_jobs(now: datetime) -> list[Job]:
    return list(Job.objects.stale(now).select_related("user")[:LIST_LENGTH])


def recent_errors() -> list[Execution]:
    return list(
        Execution.objects.filter(status=Status.FAILED)
        .exclude(failure_reason=Execution.Reason.HTTP_STATUS)
        .select_related("job")
        .order_by("-finished_at")[:LIST_LENGTH]
    )


def heartbeats() -> list[dict]:
    now = timezone.now()
    return [
        {
            "process": heartbeat.process,
            "seen_at": heartbeat.seen_at.isoformat(),
            "stale": now - heartbeat.seen_at > stale_after(),
        }
        for heartbeat in Heartbeat.objects.order_by("process")
    ]


def requeueable() -> QuerySet[Execution]:
    """Executions whose worker died (worker_lost), lately. Failures that would fail the
    same way again (internal: the request could not be built) are not sent again."""
    return Execution.objects.filter(
        status=Status.FAILED,
        failure_reason=Execution.Reason.WORKER_LOST,
        finished_at__gte=timezone.now() - REQUEUE_WINDOW,
    )


@transaction.atomic
def requeue_failed() -> int:
    """Send them again, at an operator's word: their targets may have had the request once."""
    now = timezone.now()
    ids = list(requeueable().select_for_update(skip_locked=True).values_list("id", flat=True))
    Execution.objects.filter(id__in=ids).update(
        status=Status.PENDING,
        failure_reason="",
        error="",
        started_at=None,
        finished_at=None,
        enqueued_at=now,
    )
    # Robust: with the broker away they stay pending, and the recovery sweep sends them;
    # the operator sees the count instead of an error for rows that did change.
    transaction.on_commit(lambda: enqueue(ids), robust=True)
    return len(ids)
