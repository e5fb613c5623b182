"""Quiet time: while a job's alerts are muted (Job.alerts_muted_until) or its project is in
a maintenance window (MaintenanceWindow), its health changes are recorded as ever, but
their deliveries are held instead of sent.

When the quiet time ends, a job's held alerts are summed up rather than sent one by one:
- still failing: one "failing" alert to each channel that has alerts held, made from a
  fresh "still failing" change with the streak as it stands then;
- no longer failing: per channel, only the last held alert goes, if it is a recovery or
  the job being disabled; a recovery still goes only to a channel that was told of the
  failure (alerts/delivery.py wanted), so a failure that began and ended within the quiet
  time sends nothing.
Everything else held is marked not sent.
"""

from collections.abc import Iterable
from datetime import datetime

import structlog
from django.db import transaction

from alerts.models import Delivery, MaintenanceWindow
from jobs.models import HealthChange, Job

log = structlog.get_logger(__name__)
Status = Delivery.Status
Kind = Delivery.Kind
# Held alerts that may still go once the quiet time is over (if nothing came after them).
LAST_WORDS = (Kind.RECOVERED, Kind.DISABLED)


def quiet_job_ids(jobs: Iterable[Job], now: datetime) -> set[int]:
    """The one rule for "is this job quiet now?": its alerts are muted, or its project is
    in a maintenance window."""
    jobs = list(jobs)
    in_maintenance = projects_in_maintenance({job.project_id for job in jobs}, now)
    return {job.id for job in jobs if job.is_muted(now) or job.project_id in in_maintenance}


def projects_in_maintenance(project_ids: set[int], now: datetime) -> set[int]:
    windows = MaintenanceWindow.objects.filter(project__in=project_ids).exclude(ends_at__lte=now)
    return {window.project_id for window in windows if window.is_on(now)}


def release_ended(now: datetime) -> int:
    """Sum up the held alerts of each job whose quiet time is over; return how many jobs."""
    held_job_ids = Delivery.objects.filter(status=Status.HELD).values("job_id")
    jobs = list(Job.objects.filter(id__in=held_job_ids))
    still_quiet = quiet_job_ids(jobs, now)
    ended = [job.id for job in jobs if job.id not in still_quiet]
    for job_id in ended:
        release(job_id, now)
    return len(ended)


@transaction.atomic
def release(job_id: int, now: datetime) -> None:
    """Under the job's row lock, so the engine cannot hold a new alert meanwhile."""
    job = Job.objects.select_for_update().get(id=job_id)
    held = list(Delivery.objects.filter(job=job, status=Status.HELD).order_by("id"))
    if not held or quiet_job_ids([job], now):
        return
    going = []
    if job.failing and job.enabled:
        send_summary(job, {d.channel_id for d in held}, now)
    else:
        last_per_channel = {d.channel_id: d for d in held}
        going = [d.id for d in last_per_channel.values() if d.kind in LAST_WORDS]
    # Its day of retries (delivery.GIVE_UP_AFTER) starts now, not when it was held.
    Delivery.objects.filter(id__in=going).update(status=Status.PENDING, created_at=now)
    Delivery.objects.filter(id__in=[d.id for d in held]).exclude(id__in=going).update(
        status=Status.NOT_SENT, finished_at=now
    )
    # What goes is sent by the same notifier run (alerts/tasks.py), right after.
    log.info("notify.quiet_over", job_id=job.id, held=len(held), released=len(going))


def send_summary(job: Job, channel_ids: set[int], now: datetime) -> None:
    """One "still failing" change, with the streak as it stands, as a failing alert to each
    channel: whether or not the channel heard of the failure before, it hears of it now."""
    summary = HealthChange.objects.create(
        job=job,
        execution=job.last_execution,
        kind=HealthChange.Kind.REMINDER,
        failures_in_a_row=job.consecutive_failures,
        created_at=now,
    )
    # Not to a channel the job no longer selects.
    selected = job.channels.filter(id__in=channel_ids).order_by("id")
    Delivery.objects.bulk_create(
        Delivery(channel=channel, job=job, change=summary, kind=Kind.FAILING, created_at=now)
        for channel in selected
    )
