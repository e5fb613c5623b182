"""What the history pages and charts show, each in a fixed number of queries."""

from datetime import datetime, timedelta

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
    """Outcomes and average duration per hour or day: the job page's charts."""
    rows = (
        job.executions.filter(status__in=FINISHED, scheduled_for__gte=since)
        .annotate(slot=Trunc("scheduled_for", bucket, tzinfo=job.parsed_schedule.tz))
        .values("slot")
        .annotate(
            succeeded=Count("id", filter=Q(status=Status.SUCCEEDED)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            duration=Avg("duration_ms"),
        )
        .order_by("slot")
    )
    label = "%H:%M" if bucket == "hour" else "%a %d %b"
    by_slot = {row["slot"]: row for row in rows}
    slots = bucket_starts(since, bucket, job)
    return {
        "labels": [slot.strftime(label) for slot in slots],
        "succeeded": [by_slot.get(slot, {}).get("succeeded", 0) for slot in slots],
        "failed": [by_slot.get(slot, {}).get("failed", 0) for slot in slots],
        "duration": [
            round(by_slot[slot]["duration"] or 0) if slot in by_slot else None for slot in slots
        ],
    }


def bucket_starts(since: datetime, bucket: str, job: Job) -> list[datetime]:
    """Every hour (or day) from `since` to now, in the job's timezone, empty ones included."""
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    local = since.astimezone(job.parsed_schedule.tz)
    start = local.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        start = start.replace(hour=0)
    count = 25 if bucket == "hour" else 8
    return [start + step * index for index in range(count)]
