"""Public status pages: the jobs a member put on a page, each with its state and its daily
uptime over the last 90 days, counted in one query for the whole page; and the one way a
page's jobs are set (the form and the API both use `save`)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse

from accounts import audit
from jobs.engine.health import FINAL_RESULT
from jobs.models import Execution, Job, StatusPage, StatusPageEntry

DAYS = 90
CACHE_SECONDS = 60
MAX_ENTRIES = 50


@dataclass
class Day:
    day: date
    finals: int  # final outcomes of the day's runs (retries count once, with their slot)
    succeeded: int

    @property
    def uptime(self) -> float | None:
        return self.succeeded / self.finals * 100 if self.finals else None

    @property
    def level(self) -> str:
        """How the day's bar is drawn (static/css/cronsvc.css)."""
        uptime = self.uptime
        if uptime is None:
            return "none"
        if uptime == 100:
            return "all"
        return "most" if uptime >= 95 else "some" if uptime > 0 else "no"


@dataclass
class Row:
    name: str
    state: str
    days: list[Day]

    @property
    def uptime(self) -> float | None:
        finals = sum(day.finals for day in self.days)
        return sum(day.succeeded for day in self.days) / finals * 100 if finals else None


def public_url(page: StatusPage) -> str:
    return settings.SITE_URL + reverse("status_page", args=[page.slug])


def snapshot(page: StatusPage, now: datetime) -> tuple[datetime, list[Row]]:
    """The page's rows and when they were counted, at most CACHE_SECONDS old: counting
    90 days of every-minute jobs reads many rows, and anyone may ask for a public page as
    often as they like. An edit (a new updated_at) is shown at once."""
    # Counted again in each period of CACHE_SECONDS by our clock (the cache's expiry only
    # clears the old ones out).
    period = int(now.timestamp()) // CACHE_SECONDS
    key = f"status-page:{page.id}:{page.updated_at.isoformat()}:{period}"
    return cache.get_or_set(key, lambda: (now, rows(page, now.date())), CACHE_SECONDS)


def rows(page: StatusPage, today: date) -> list[Row]:
    """Each job of the page with its last DAYS days (UTC) up to `today`, oldest first."""
    entries = list(
        page.entries.select_related("job").only("page", "name", "job__failing", "job__enabled")
    )
    first = today - timedelta(days=DAYS - 1)
    counts = daily_counts([entry.job_id for entry in entries], since=first)
    days = [first + timedelta(days=n) for n in range(DAYS)]
    return [
        Row(
            name=entry.name,
            state=entry.job.state,
            days=[Day(day, *counts.get((entry.job_id, day), (0, 0))) for day in days],
        )
        for entry in entries
    ]


def daily_counts(job_ids: list[int], *, since: date) -> dict[tuple[int, date], tuple[int, int]]:
    """(job, day): (final outcomes, successes), for every job of the page in one query
    (served by the execution history index on job and time)."""
    counted = (
        Execution.objects.filter(
            FINAL_RESULT,
            job_id__in=job_ids,
            scheduled_for__gte=datetime.combine(since, time.min, tzinfo=UTC),
        )
        .annotate(day=TruncDate("scheduled_for", tzinfo=UTC))
        .values("job_id", "day")
        .annotate(
            finals=Count("id"), succeeded=Count("id", filter=Q(status=Execution.Status.SUCCEEDED))
        )
        .order_by()
    )
    return {(c["job_id"], c["day"]): (c["finals"], c["succeeded"]) for c in counted}


@transaction.atomic
def save(
    page: StatusPage, entries: list[tuple[Job, str]] | None, *, by: audit.Actor, created: bool
) -> None:
    """Save the page with these jobs, under these public names, in this order (None: its
    jobs as they are). The jobs are the page's project's: the form and the API offer no
    other."""
    page.save()
    if entries is not None:
        page.entries.all().delete()
        StatusPageEntry.objects.bulk_create(
            StatusPageEntry(page=page, job=job, name=name, position=n)
            for n, (job, name) in enumerate(entries)
        )
    action = "status_page.created" if created else "status_page.updated"
    audit.record(page.project, by, action, page, {"published": page.published})


def delete(page: StatusPage, *, by: audit.Actor) -> None:
    audit.record(page.project, by, "status_page.deleted", page)
    page.delete()
