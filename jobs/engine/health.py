"""A job's health: the one place that moves it between ok, failing and disabled.

Every finished execution that counts (a worker's result, or a run whose worker died)
goes through `record`, and a member pausing, resuming or copying a job goes through
`set_enabled` and `reset`. Each move is a HealthChange row written in the same
transaction as its cause, with the streak as it stood at that moment and a delivery to
each of the job's channels; the alerts send them afterwards (alerts/delivery.py).
"""

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts import delivery
from jobs.engine.rows import update_rows
from jobs.models import Execution, HealthChange, Job

log = structlog.get_logger(__name__)
Kind = HealthChange.Kind
Status = Execution.Status
REMINDERS_PER_RUN = 500
HEALTH_FIELDS = [
    "consecutive_failures",
    "failing",
    "enabled",
    "next_run_at",
    "last_execution",
    "remind_at",
]
# What counting a result reads of a job, besides what it writes, and what its alerts read
# (alerts/quiet.py): a job has many more columns, and reading them all for every result
# was a good part of recording it.
COUNT_FIELDS = [
    *HEALTH_FIELDS,
    "project_id",
    "failure_threshold",
    "remind_every_hours",
    "alerts_muted_until",
]


def record(executions: list[Execution]) -> list[HealthChange]:
    """Count finished executions against their jobs, in the caller's transaction, and
    write the changes they make. Only a slot's final result counts: a missed or skipped
    slot says nothing of the target, and a failure with a retry to come is not final.
    Jobs are locked in id order, so two batches touching the same jobs cannot deadlock."""
    by_job: dict[int, list[Execution]] = {}
    counted = [e for e in executions if is_final_result(e)]
    for execution in sorted(counted, key=lambda e: e.scheduled_for):
        by_job.setdefault(execution.job_id, []).append(execution)
    jobs = list(
        Job.objects.select_for_update().filter(id__any=by_job).only(*COUNT_FIELDS).order_by("id")
    )
    changes = []
    for job in jobs:
        for execution in by_job[job.id]:
            changes += count(job, execution)
            job.last_execution = execution
    update_rows(jobs, HEALTH_FIELDS)
    HealthChange.objects.bulk_create(changes)
    delivery.queue(changes)
    for change in changes:
        log.info(
            "job.health",
            job_id=change.job_id,
            project_id=change.job.project_id,
            change=change.kind,
        )
    if changes:
        delivery.kick()
    return changes


# is_final_result as a query (status pages' uptime): the two must say the same.
FINAL_RESULT = Q(status=Status.SUCCEEDED) | Q(status=Status.FAILED, next_attempt_at=None)


def is_final_result(execution: Execution) -> bool:
    """A slot's final outcome: a success, or a failure with no retry to come."""
    if execution.status == Status.SUCCEEDED:
        return True
    return execution.status == Status.FAILED and execution.next_attempt_at is None


def count(job: Job, execution: Execution) -> list[HealthChange]:
    """Count one result against the job; return the ok/failing/disabled moves it makes."""
    if execution.status == Status.SUCCEEDED:
        streak, job.consecutive_failures = job.consecutive_failures, 0
        if not job.failing:
            return []
        job.failing, job.remind_at = False, None
        # The streak that just ended, for the recovery alert.
        return [change(job, execution, Kind.RECOVERED, streak)]
    job.consecutive_failures += 1
    changes = []
    if not job.failing and job.consecutive_failures >= job.failure_threshold:
        job.failing = True
        job.remind_at = next_reminder(job, timezone.now())
        changes.append(change(job, execution, Kind.FAILING, job.consecutive_failures))
    if job.enabled and job.consecutive_failures >= settings.AUTO_DISABLE_AFTER:
        # The disabled alert is the last word: no reminders for a job that no longer runs.
        job.enabled, job.next_run_at, job.remind_at = False, None, None
        changes.append(change(job, execution, Kind.DISABLED, job.consecutive_failures))
    return changes


def next_reminder(job: Job, after: datetime) -> datetime | None:
    hours = job.remind_every_hours
    return after + timedelta(hours=hours) if hours else None


@transaction.atomic
def remind_due(now: datetime) -> list[HealthChange]:
    """A reminder for each job still failing when its reminder is due, and the next one
    scheduled. Claimed with SKIP LOCKED, and the due time moves in the same transaction,
    so two notifiers never remind twice."""
    jobs = list(
        Job.objects.select_for_update(skip_locked=True)
        .filter(remind_at__lte=now, failing=True, enabled=True)
        .order_by("remind_at")[:REMINDERS_PER_RUN]
    )
    reminders = [
        change(job, job.last_execution, Kind.REMINDER, job.consecutive_failures) for job in jobs
    ]
    for job in jobs:
        job.remind_at = next_reminder(job, now)
    update_rows(jobs, ["remind_at"])
    HealthChange.objects.bulk_create(reminders)
    delivery.queue(reminders)
    return reminders


def change(job: Job, execution: Execution, kind: str, streak: int) -> HealthChange:
    return HealthChange(job=job, execution=execution, kind=kind, failures_in_a_row=streak)


def set_enabled(job: Job, enabled: bool) -> None:
    """Pause or resume, as a member does. Resuming starts a fresh count, so a job resumed
    after auto-disable is not disabled again by its next failure; `failing` stays, so
    its first success still reports the recovery."""
    job.enabled = enabled
    fields = ["enabled", "updated_at"]
    if enabled:
        job.consecutive_failures = 0
        fields.append("consecutive_failures")
    job.save(update_fields=fields)


def reset(job: Job) -> None:
    """A copy of a job starts healthy, with no history: left failing, its first success
    would announce a recovery from failures it never had (not saved here)."""
    job.consecutive_failures = 0
    job.failing = False
    job.last_execution = None
