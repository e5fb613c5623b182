"""Ordering keys: runs of a project's jobs that share a key execute one at a time, in
order of scheduled time, then job id.

A keyed job's run is written `waiting` (pending, not sent) by the dispatch tick, and by
chains for a keyed child. The key's queue moves in one function, `advance`, always under
the key's OrderingKey row locked FOR UPDATE, so two workers or two machines finishing
runs of one key at once take turns. The key is busy while a run of it that is not waiting
is unfinished (pending, running, or a retry to come: a retry is a pending row of its own).
When it is neither busy nor stopped, the first waiting run is released (`waiting`
cleared) and sent once the transaction commits; one due later is sent by the tick in its
time, as retries are (tick.claim_retries, which passes waiting runs by).

`advance` runs in the transaction that records a final outcome (outcomes.follow, from a
worker's results or the recovery sweep's lost runs), in the worker's claim that skips a
run, in the tick after it writes keyed runs, and on resume: a release commits with the
outcome that allows it, or not at all. Nothing is derived from a counter that could
drift: a deleted job's runs simply stop counting, and the next move releases what follows.

A failed final outcome of a job set to `stop` stops its key: the queue holds (later runs
wait) until a member resumes it, and its channels are alerted (a HealthChange of kind
`stopped`, delivered like any other). A run still waiting when its job's next slot is
claimed is skipped, naming the run it waited on. Manual runs stay outside the queue: a
member pressing Run now sees the request go at once.

Jobs without a key pay nothing: the tick and the worker look at the job's key, already
loaded, before asking anything of the database.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Project
from alerts import delivery
from jobs.engine import health, tick
from jobs.models import Execution, HealthChange, Job, OrderingKey, OrderingOnFailure

Status = Execution.Status
Kind = HealthChange.Kind
UNFINISHED = [Status.PENDING, Status.RUNNING]
KeyName = tuple[int, str]  # (project id, key)


def hold(jobs: Iterable[Job], executions: list[Execution]) -> list[Job]:
    """Mark the new pending runs of keyed jobs as waiting, not to be sent (before they are
    written); return the keyed jobs."""
    keyed = {job.id: job for job in jobs if job.ordering_key}
    for execution in executions:
        if execution.job_id in keyed and execution.status == Status.PENDING:
            execution.waiting, execution.enqueued_at = True, None
    return list(keyed.values())


def admit(jobs: list[Job], now: datetime) -> None:
    """After the tick wrote the keyed jobs' new runs: skip their runs still waiting from an
    earlier slot, and move their keys' queues (in the tick's transaction)."""
    if not jobs:
        return
    keys = lock({key_name(job) for job in jobs})
    skip_overtaken([job.id for job in jobs], now)
    for key in keys:
        advance(key)


def skip_overtaken(job_ids: list[int], now: datetime) -> None:
    """A run still waiting when its job's next slot comes is skipped: each job keeps
    its newest waiting run only."""
    waiting = list(
        Execution.objects.filter(job_id__in=job_ids, status=Status.PENDING, waiting=True)
        .select_related("waiting_on__job")
        .order_by("job_id", "-scheduled_for")
    )
    overtaken = [
        execution for newer, execution in pairwise(waiting) if newer.job_id == execution.job_id
    ]
    for execution in overtaken:
        execution.status, execution.finished_at, execution.waiting = Status.SKIPPED, now, False
        execution.error = skipped_error(execution.waiting_on)
    Execution.objects.bulk_update(overtaken, ["status", "finished_at", "waiting", "error"])


def skipped_error(waited_on: Execution | None) -> str:
    if waited_on is None:
        return (
            "Skipped: still waiting for its turn in its ordering key's queue when its next "
            "slot came."
        )
    return (
        f"Skipped: still waiting on run #{waited_on.id} of job '{waited_on.job.title}' "
        "when its next slot came."
    )


def follow(executions: list[Execution], *, also: list[Job]) -> None:
    """Move the queues of the keys whose runs finished among `executions`, and of the jobs
    `also` (chain runs written waiting), and stop the keys a failed final outcome of a
    `stop` job stops (in the transaction that records them). All keys are locked at once,
    in one order."""
    finished = [e for e in executions if e.trigger != Execution.Trigger.MANUAL]
    keyed = keyed_jobs(finished)
    if not keyed and not also:
        return
    runs = [e for e in finished if e.job_id in keyed]
    keys = lock({key_name(keyed[e.job_id]) for e in runs} | {key_name(job) for job in also})
    by_name = {(key.project_id, key.name): key for key in keys}
    stops = [
        e
        for e in runs
        if e.status == Status.FAILED
        and health.is_final_result(e)
        and keyed[e.job_id].ordering_on_failure == OrderingOnFailure.STOP
    ]
    stop([(by_name[key_name(keyed[e.job_id])], e) for e in stops], keyed)
    for key in keys:
        advance(key)


def keyed_jobs(executions: list[Execution]) -> dict[int, Job]:
    """The keyed jobs of `executions`: read from the loaded jobs (a worker's batch), asked
    of the database only for runs loaded without theirs (the recovery sweep's)."""
    jobs = {}
    unloaded = set()
    for execution in executions:
        if Execution.job.is_cached(execution):
            if execution.job.ordering_key:
                jobs[execution.job_id] = execution.job
        else:
            unloaded.add(execution.job_id)
    if unloaded:
        jobs |= Job.objects.filter(id__in=unloaded).exclude(ordering_key="").in_bulk()
    return jobs


def key_name(job: Job) -> KeyName:
    return (job.project_id, job.ordering_key)


def lock(names: set[KeyName]) -> list[OrderingKey]:
    """The keys' rows, made if new, locked in id order (two transactions locking the same
    keys cannot deadlock)."""
    if not names:
        return []
    OrderingKey.objects.bulk_create(
        [OrderingKey(project_id=project, name=name) for project, name in names],
        ignore_conflicts=True,
    )
    wanted = Q()
    for project, name in names:
        wanted |= Q(project_id=project, name=name)
    return list(OrderingKey.objects.select_for_update().filter(wanted).order_by("id"))


def stop(stops: list[tuple[OrderingKey, Execution]], jobs: dict[int, Job]) -> None:
    """Stop each key at its failed run and alert its job's channels."""
    changes = []
    for key, execution in stops:
        if key.is_stopped:
            continue
        key.stopped_at, key.stopped_by_id = timezone.now(), execution.id
        key.save(update_fields=["stopped_at", "stopped_by"])
        changes.append(health.change(jobs[execution.job_id], execution, Kind.STOPPED, 0))
    if changes:
        HealthChange.objects.bulk_create(changes)
        delivery.queue(changes)
        delivery.kick()


def advance(key: OrderingKey) -> None:
    """Release the key's first waiting run if nothing of the key is unfinished and it is not
    stopped; point every waiting run at the run it waits on. Call with the key locked."""
    runs = list(
        unfinished_runs(key).only("id", "job_id", "scheduled_for", "waiting", "waiting_on_id")
    )
    busy = [e for e in runs if not e.waiting]
    waiting = sorted((e for e in runs if e.waiting), key=lambda e: (e.scheduled_for, e.job_id))
    if waiting and not busy and not key.is_stopped:
        head = waiting.pop(0)
        release(head)
        busy = [head]
    holder = min(busy, key=lambda e: e.scheduled_for).id if busy else key.stopped_by_id
    behind = [e.id for e in waiting if e.waiting_on_id != holder]
    if behind:
        Execution.objects.filter(id__in=behind).update(waiting_on=holder)


def release(run: Execution) -> None:
    """Let the run go: sent after commit when it is due within the horizon (no wait for
    the next tick), else left to the tick (tick.claim_retries) for its time."""
    now = timezone.now()
    sends = run.scheduled_for <= now + timedelta(seconds=settings.DISPATCH_HORIZON_SECONDS)
    Execution.objects.filter(id=run.id).update(
        waiting=False, waiting_on=None, enqueued_at=now if sends else None
    )
    if sends:
        # Robust: with the broker away it stays pending, and the recovery sweep sends it.
        transaction.on_commit(lambda: tick.enqueue([run.id]), robust=True)


def unfinished_runs(key: OrderingKey) -> QuerySet[Execution]:
    return queued_runs(project_id=key.project_id, ordering_key=key.name)


def queued_runs(**jobs: object) -> QuerySet[Execution]:
    """The unfinished runs of the keyed jobs matching `jobs` (a filter on Job), manual runs
    left out (outside the queue)."""
    keyed = {f"job__{name}": value for name, value in jobs.items()}
    return (
        Execution.objects.filter(status__in=UNFINISHED, **keyed)
        .exclude(job__ordering_key="")
        .exclude(trigger=Execution.Trigger.MANUAL)
    )


@transaction.atomic
def resume(project: Project, name: str) -> OrderingKey | None:
    """Resume a stopped key's queue (a member's action); None when it was not stopped."""
    key = OrderingKey.objects.select_for_update().filter(project=project, name=name).first()
    if key is None or not key.is_stopped:
        return None
    key.stopped_at, key.stopped_by = None, None
    key.save(update_fields=["stopped_at", "stopped_by"])
    advance(key)
    return key


@dataclass
class KeyQueue:
    """What a key's queue looks like now (its pages and the API)."""

    name: str
    jobs: list[Job] = field(default_factory=list)
    running: Execution | None = None
    waiting: list[Execution] = field(default_factory=list)
    stopped_at: datetime | None = None
    stopped_by: Execution | None = None

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def waiting_count(self) -> int:
        return len(self.waiting)


def queues(project: Project, name: str | None = None) -> list[KeyQueue]:
    """The project's keys (those its jobs have), or the one named, with their queues: in
    three queries however many keys and runs."""
    only_named = {} if name is None else {"ordering_key": name}
    found: dict[str, KeyQueue] = {}
    jobs = Job.objects.filter(project=project, **only_named).exclude(ordering_key="")
    for job in jobs.only("id", "title", "ordering_key").order_by("ordering_key", "id"):
        found.setdefault(job.ordering_key, KeyQueue(job.ordering_key)).jobs.append(job)
    runs = (
        queued_runs(project=project, **only_named)
        .select_related("job")
        .order_by("scheduled_for", "job_id")
    )
    for run in runs:
        queue = found[run.job.ordering_key]
        if run.waiting:
            queue.waiting.append(run)
        elif queue.running is None:
            queue.running = run
    stopped = OrderingKey.objects.filter(project=project, name__in=found, stopped_at__isnull=False)
    for key in stopped.select_related("stopped_by__job"):
        found[key.name].stopped_at, found[key.name].stopped_by = key.stopped_at, key.stopped_by
    return list(found.values())
