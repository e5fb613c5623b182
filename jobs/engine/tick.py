"""The dispatch tick: claim due jobs, record their executions, queue them to fire on time."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cronsvc import task_names
from cronsvc.celery import app as celery_app
from jobs.engine import ordering
from jobs.engine.rows import insert_rows, update_rows
from jobs.models import Execution, Job
from ops import metrics
from ops.maintenance import dispatch_paused

# Counting missed slots stops here: a week of every-minute runs is about 10,000.
MISSED_COUNT_CAP = 20_000
CLAIM_FIELDS = [
    "id",
    "schedule",
    "run_at",
    "spread_seconds",
    "timezone",
    "enabled",
    "expires_at",
    "next_run_at",
    "project",
    "ordering_key",
]


def tick(now: datetime | None = None) -> int:
    """Claim every job due within the horizon, batch by batch; returns how many."""
    if dispatch_paused():
        return 0
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.DISPATCH_HORIZON_SECONDS)
    total = 0
    with metrics.DISPATCH_TICK.time():
        for claim in (claim_batch, claim_retries):
            while True:
                claimed = claim(now, horizon)
                total += claimed
                if claimed < settings.DISPATCH_BATCH_SIZE:
                    break
    metrics.DISPATCH_CLAIMED.inc(total)
    return total


@transaction.atomic
def claim_batch(now: datetime, horizon: datetime) -> int:
    # SKIP LOCKED: a second dispatcher running at the same time takes other jobs,
    # never the same ones. Only the due rows are read (partial index on next_run_at).
    jobs = list(
        Job.objects.due(horizon)
        .select_for_update(skip_locked=True)
        .only(*CLAIM_FIELDS)[: settings.DISPATCH_BATCH_SIZE]
    )
    if not jobs:
        return 0
    executions = [execution for job in jobs for execution in plan(job, now)]
    keyed = ordering.hold(jobs, executions)
    update_rows(jobs, ["next_run_at"])
    # The unique (job, slot) constraint drops a slot recorded before, e.g. when a
    # job was paused and resumed within the horizon after its slot was claimed.
    insert_rows(executions)
    ordering.admit(keyed, now)
    to_run = pending_ids(jobs, executions)
    # Robust: with the broker unreachable the executions stay pending, and the recovery
    # sweep sends them; the tick goes on claiming instead of failing half-way.
    transaction.on_commit(lambda: enqueue(to_run), robust=True)
    return len(jobs)


@transaction.atomic
def claim_retries(now: datetime, horizon: datetime) -> int:
    """Retries (jobs/engine/retries.py), chain runs (jobs/engine/chains.py) and the runs an
    ordering key released (jobs/engine/ordering.py) due within the horizon and not sent
    yet: a batch of them marked sent, so a second dispatcher passes them by, and queued
    after commit. A keyed run still waiting for its turn is passed by."""
    due = list(
        Execution.objects.select_for_update(skip_locked=True)
        .filter(
            status=Execution.Status.PENDING,
            enqueued_at=None,
            waiting=False,
            scheduled_for__lte=horizon,
        )
        .order_by("scheduled_for")
        .values_list("id", flat=True)[: settings.DISPATCH_BATCH_SIZE]
    )
    if due:
        Execution.objects.filter(id__any=due).update(enqueued_at=now)
        transaction.on_commit(lambda: enqueue(due), robust=True)
    return len(due)


def plan(job: Job, now: datetime) -> list[Execution]:
    """The executions for a job's due slot, moving its next_run_at on."""
    slot = job.next_run_at
    if now - slot <= timedelta(seconds=settings.MISSED_AFTER_SECONDS):
        job.next_run_at = job.compute_next_run(slot)
        return [Execution(job=job, scheduled_for=slot, enqueued_at=now)]
    # Beat or the workers were down: one catch-up run for the latest missed
    # slot, and the ones before it recorded as missed, not silently dropped.
    # An expiry during the outage ends the slots there: none is run or counted after it.
    until = min(now, job.expires_at) if job.expires_at else now
    missed = missed_slots(job, slot, until)
    job.next_run_at = job.compute_next_run(now)
    executions = [
        Execution(
            job=job,
            scheduled_for=missed[-1],
            trigger=Execution.Trigger.CATCH_UP,
            enqueued_at=now,
        )
    ]
    if len(missed) > 1:
        executions.append(
            Execution(
                job=job,
                scheduled_for=missed[0],
                status=Execution.Status.MISSED,
                missed_count=len(missed) - 1,
                finished_at=now,
                error=f"{len(missed) - 1} run(s) missed while cronsvc was not dispatching.",
            )
        )
    return executions


def missed_slots(job: Job, first: datetime, until: datetime) -> list[datetime]:
    slots = [first]
    while len(slots) < MISSED_COUNT_CAP:
        slot = job.compute_next_run(slots[-1])
        if slot is None or slot > until:
            break
        slots.append(slot)
    return slots


def pending_ids(jobs: list[Job], executions: list[Execution]) -> list[int]:
    wanted = {
        (e.job_id, e.scheduled_for)
        for e in executions
        if e.status == Execution.Status.PENDING and not e.waiting
    }
    rows = Execution.objects.filter(
        job_id__any=[job.id for job in jobs],
        status=Execution.Status.PENDING,
        scheduled_for__in={slot for _, slot in wanted},
    ).values_list("id", "job_id", "scheduled_for")
    # Fire order: the earliest slot first, so one message holds neighbouring seconds.
    return [
        id_
        for id_, job_id, slot in sorted(rows, key=lambda row: row[2])
        if (job_id, slot) in wanted
    ]


def catch_up(missed: list[Execution], now: datetime) -> None:
    """One catch-up run for each job whose slot was missed at fire time, unless a later
    run of the job exists already (the missed-slot policy: one catch-up, the rest missed)."""
    runs = []
    for execution in missed:
        if execution.trigger != Execution.Trigger.SCHEDULE:
            continue  # a manual run or a catch-up is not a slot to catch up on
        later = Execution.objects.filter(
            job_id=execution.job_id, scheduled_for__gt=execution.scheduled_for
        )
        if execution.job.enabled and not later.exists():
            runs.append(
                Execution(
                    job_id=execution.job_id,
                    scheduled_for=now,
                    trigger=Execution.Trigger.CATCH_UP,
                    enqueued_at=now,
                )
            )
    created = Execution.objects.bulk_create(runs)
    if created:
        transaction.on_commit(lambda: enqueue([e.id for e in created]), robust=True)


def enqueue(execution_ids: list[int]) -> None:
    """Send executions to the workers, many per message (call after commit)."""
    size = settings.EXECUTIONS_PER_MESSAGE
    for start in range(0, len(execution_ids), size):
        celery_app.send_task(task_names.EXECUTE_BATCH, args=[execution_ids[start : start + size]])
