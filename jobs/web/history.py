"""What the history pages and charts show, each in a fixed number of queries."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, F, Q, Window
from django.db.models.functions import RowNumber, Trunc

from jobs.models import Execution, Job

Status = Execution.Status
STRIP_LENGTH = 20
PAGE_SIZE = 25
FINISHED = [Status.SUCCEEDED, Status.FAILED]


def history_page(job: Job, *, status: str, page_number: str | None) -> dict:
    """One page of a job's executions, newest first, optionally of one status."""
    executions = job.executions.order_by("-scheduled_for")
    if status not in Status.values:
        status = ""
    if status:
        executions = executions.filter(status=status)
    page: Page = Paginator(executions, PAGE_SIZE).get_page(page_number)
    return {"job": job, "page": page, "status": status, "statuses": Status.choices}


def recent_outcomes(jobs: list[Job]) -> dict[int, list[Execution]]:
    """The last few finished executions of each job, oldest first, in one query."""
    ranked = (
        Execution.objects.filter(job__in=jobs, status__in=FINISHED)
        .annotate(
            newest_first=Window(
                RowNumber(), partition_by=F("job_id"), order_by=F("scheduled_for").desc()
            )
        )
        .filter(newest_first__lte=STRIP_LENGTH)
        .only("id", "job_id", "status", "scheduled_for", "http_status", "failure_reason")
    )
    strips: dict[int, list[Execution]] = {job.id: [] for job in jobs}
    for execution in sorted(ranked, key=lambda e: e.scheduled_for):
        strips[execution.job_id].append(execution)
    return strips


def success_rates(jobs: list[Job], since: datetime) -> dict[int, float | None]:
    """Share of finished executions since a time that succeeded, per job (None: no runs)."""
    rows = (
        Execution.objects.filter(job__in=jobs, status__in=FINISHED, scheduled_for__gte=since)
        .values("job_id")
        .annotate(total=Count("id"), succeeded=Count("id", filter=Q(status=Status.SUCCEEDED)))
    )
    rates: dict[int, float | None] = {job.id: None for job in jobs}
    for row in rows:
        rates[row["job_id"]] = row["succeeded"] / row["total"]
    return rates


def chart_data(job: Job, *, since: datetime, bucket: str) -> dict:
    """Outcomes and average duration per hour or day in the job's timezone: the job page's
    charts. Every bucket from the one holding `since` to now is there, empty ones too."""
    tz = ZoneInfo(job.timezone)
    rows = (
        job.executions.filter(status__in=FINISHED, scheduled_for__gte=since)
        .annotate(slot=Trunc("scheduled_for", bucket, tzinfo=tz))
        .values("slot")
        .annotate(
            succeeded=Count("id", filter=Q(status=Status.SUCCEEDED)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            duration=Avg("duration_ms"),
        )
        .order_by("slot")
    )
    # Keyed by the instant: wall-clock times on the day of a clock change compare unreliably.
    by_slot = {row["slot"].astimezone(UTC): row for row in rows}
    slots = bucket_starts(since, bucket, tz)
    label = "%H:%M" if bucket == "hour" else "%a %d %b"
    empty = {"succeeded": 0, "failed": 0, "duration": None}
    counts = [by_slot.get(slot, empty) for slot in slots]
    return {
        "labels": [slot.astimezone(tz).strftime(label) for slot in slots],
        "succeeded": [row["succeeded"] for row in counts],
        "failed": [row["failed"] for row in counts],
        "duration": [None if row["duration"] is None else round(row["duration"]) for row in counts],
    }


def bucket_starts(since: datetime, bucket: str, tz: ZoneInfo) -> list[datetime]:
    """The start of each hour (25) or day (8) from the one holding `since`, in UTC.

    Hours step in real time, so a clock change neither invents an hour nor drops the
    current one; days step on the calendar, from one local midnight to the next.
    """
    local = since.astimezone(tz)
    if bucket == "hour":
        first = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return [first + timedelta(hours=index) for index in range(25)]
    return [
        datetime.combine(local.date() + timedelta(days=index), time(), tz).astimezone(UTC)
        for index in range(8)
    ]
