"""Run a batch of executions: claim them, fire each on its second, record the results."""

import asyncio
import queue
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

import structlog
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from jobs import masking, variables
from jobs.engine import outcomes, recovery, retries
from jobs.engine.firing import FIRING
from jobs.engine.rows import update_rows
from jobs.models import Execution, Job, TestRun
from jobs.outbound import http
from ops import liveness, metrics

log = structlog.get_logger(__name__)
# One line per execution, for the plain console (cronsvc/settings.py quiet_loggers).
results_log = structlog.get_logger("jobs.engine.results")
Status = Execution.Status
RESULT_FIELDS = [
    "status",
    "started_at",
    "sent_at",
    "finished_at",
    "duration_ms",
    "lateness_ms",
    "failure_reason",
    "http_status",
    "response_headers",
    "response_headers_omitted",
    "response_body",
    "response_truncated",
    "error",
    "timings",
    "request",
    "missed_count",
    "next_attempt_at",
]
# Seconds between tries of a results write the database refused (a restart).
RECORD_RETRY_DELAYS = (1, 2, 4, 8, 15, 15)
# The column is a 32-bit integer: about 24 days. A lost execution found and re-sent after
# a longer outage would otherwise fail the whole batch's write and strand it `running`.
MAX_LATENESS_MS = 2**31 - 1
# Results that come in within this long of a wave's first are written in one transaction:
# long enough that a batch of healthy targets is one write (each write locks its jobs and
# sets off health, chains and alerts), short enough that a hanging target holds back no one.
RECORD_WAVE_SECONDS = 1.0


@dataclass
class Missed:
    """A slot found too late at fire time (the worker was held up): not sent."""

    late_seconds: float
    at: datetime


Outcome = http.Outcome | Missed


def run_batch(execution_ids: list[int]) -> None:
    executions = claim(execution_ids)
    if not executions:
        return
    fire_and_record(executions)


def fire_and_record(executions: list[Execution]) -> None:
    """Fire the batch and record each result as soon as it is in, in waves: one target
    that hangs until its timeout holds back nobody else's result, retry or alert."""
    done: queue.SimpleQueue = queue.SimpleQueue()
    firing = FIRING.submit(lambda client: fire_each(client, executions, done.put))
    left = len(executions)
    while left:
        # No connection held idle while the batch waits (for its second, or for slow
        # targets): a database restart meanwhile would break it under the results.
        if not connection.in_atomic_block:
            connection.close()
        wave = next_wave(done, firing, left)
        record_results([execution for execution, _ in wave], [outcome for _, outcome in wave])
        left -= len(wave)
    firing.result()


def next_wave(
    done: queue.SimpleQueue, firing: Future, left: int
) -> list[tuple[Execution, Outcome]]:
    """The next results in: the first to come, and those that follow it within
    RECORD_WAVE_SECONDS, so that results finishing together are written together. Once
    all `left` are in there is nothing to wait for (a run of an ordering key is a batch of
    one, and the next run of its key waits on this write)."""
    wave = []
    while not wave:
        try:
            wave.append(done.get(timeout=1))
        except queue.Empty:
            if firing.done():
                firing.result()  # raises what stopped the firing
    deadline = time.monotonic() + RECORD_WAVE_SECONDS
    while len(wave) < left and (remaining := deadline - time.monotonic()) > 0:
        try:
            wave.append(done.get(timeout=remaining))
        except queue.Empty:
            break
    return wave


@transaction.atomic
def claim(execution_ids: list[int]) -> list[Execution]:
    """Mark the still-pending executions running, stamped with this worker, so a
    duplicate message does nothing.

    A slot whose job is still busy with its previous execution, or that was paused
    since the slot was claimed, is recorded as skipped instead. A previous execution
    whose worker died does not keep the job busy: it is finished as lost there and then.
    """
    now = timezone.now()
    lock_jobs(execution_ids)
    executions = list(
        Execution.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(id__any=execution_ids, status=Status.PENDING)
        # The project holds the signing secrets: with the batch, not a query per request.
        .select_related("job__project")
    )
    busy = busy_jobs({e.job_id for e in executions}, now)
    to_run, skipped = [], []
    for execution in executions:
        reason = skip_reason(execution, busy)
        (skipped if reason else to_run).append(execution)
        if reason:
            execution.error = reason
        busy.add(execution.job_id)
    Execution.objects.filter(id__any=[e.id for e in to_run]).update(
        status=Status.RUNNING, started_at=now, claimed_by=liveness.this_worker()
    )
    for execution in skipped:
        execution.status, execution.finished_at = Status.SKIPPED, now
    Execution.objects.bulk_update(skipped, ["status", "finished_at", "error"])
    if skipped:
        outcomes.follow(skipped, now)  # a skipped keyed run hands its key on
    return to_run


def busy_jobs(job_ids: set[int], now: datetime) -> set[int]:
    """The jobs with an execution running on a live worker."""
    running = list(
        Execution.objects.filter(job_id__any=job_ids, status=Status.RUNNING).only(
            *recovery.CLAIM_FIELDS
        )
    )
    lost = {e.id for e in recovery.finish_lost(recovery.lost_runs(running, now), now)}
    return {e.job_id for e in running if e.id not in lost}


def lock_jobs(execution_ids: list[int]) -> None:
    """Two claims of one job's runs (its slot and a manual run, in two messages at two
    workers) take turns, so the second sees the first one's run and skips.

    The jobs are locked before the executions and in id order, as health.record locks
    them: a job being deleted holds its row while it waits for its executions.
    """
    jobs = Job.objects.filter(
        id__in=Execution.objects.filter(id__any=execution_ids).values("job_id")
    )
    list(jobs.select_for_update().order_by("id").values_list("id", flat=True))


def skip_reason(execution: Execution, busy: set[int]) -> str:
    if execution.job_id in busy:
        return "Skipped: the previous execution was still running."
    if not execution.job.enabled and execution.trigger != Execution.Trigger.MANUAL:
        return "Skipped: the job was paused before this run."
    return ""


async def fire_each(
    client: http.Client,
    executions: list[Execution],
    report: Callable[[tuple[Execution, Outcome]], None],
) -> None:
    async def fire_one(execution: Execution) -> None:
        report((execution, await fire(client, execution)))

    await asyncio.gather(*(fire_one(execution) for execution in executions))


async def fire(client: http.Client, execution: Execution) -> Outcome:
    # The request is built before its second (credentials decrypted, variables filled in,
    # the record of it made): of a burst due together, only the sends are left for the second.
    try:
        request = prepared(execution)
        record, problem = masking.request_record(request), ""
    except Exception as error:  # e.g. credentials under a key that was since removed
        # One unreadable job must not leave its whole batch `running`.
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        request, record, problem = None, {}, f"Could not build the request ({detail})."
    # Claimed ahead of time; the request leaves on the scheduled second, never before
    # it: a timer may wake a hair early (monotonic clock), so wait out what is left.
    while (wait := (execution.scheduled_for - timezone.now()).total_seconds()) > 0:
        await asyncio.sleep(wait)
    now = timezone.now()
    late = (now - execution.scheduled_for).total_seconds()
    # The missed-slot rule holds at fire time too (a worker held up, stopped, starved):
    # a slot is recorded missed rather than run this late. Catch-ups, manual runs and
    # the runs of an ordering key (which wait their turn) are late or unscheduled by nature.
    if (
        execution.trigger == Execution.Trigger.SCHEDULE
        and late > settings.MISSED_AFTER_SECONDS
        and not execution.job.ordering_key
    ):
        return Missed(late_seconds=late, at=now)
    if request is None:
        return unsent(problem)
    execution.request = record
    return await client.send(request)


def prepared(execution: Execution) -> http.Request:
    request = request_for(
        execution.job, execution_id=str(execution.id), scheduled_for=execution.scheduled_for
    )
    request.attempt, request.retry_of = execution.attempt, execution.retry_of_id
    request.tenant = execution.job.project_id
    return request


def unsent(error: str) -> http.Outcome:
    now = timezone.now()
    return http.Outcome(
        started_at=now, finished_at=now, failure_reason=Execution.Reason.INTERNAL, error=error
    )


def request_for(job: Job | TestRun, *, execution_id: str, scheduled_for: datetime) -> http.Request:
    auth = (job.auth_username, job.auth_password) if job.auth_username else None
    signing = job.project.signing_secrets(timezone.now()) if job.sign_requests else []
    url, headers, body = variables.filled(
        job.url, job.headers, job.body, execution_id=execution_id, scheduled_for=scheduled_for
    )
    return http.Request(
        execution_id=execution_id,
        method=job.method,
        url=url,
        headers={**headers, **job.secret_headers},
        body=body,
        auth=auth,
        timeout=job.timeout_seconds,
        follow_redirects=job.follow_redirects,
        expected_statuses=job.expected_statuses,
        assertions=job.assertions,
        body_kept_bytes=job.response_body_kib * 1024,
        signing_secrets=signing,
    )


def apply_outcome(execution: Execution, outcome: Outcome) -> None:
    if isinstance(outcome, Missed):
        execution.status, execution.finished_at = Status.MISSED, outcome.at
        execution.missed_count = 1
        execution.error = (
            f"Not sent: its worker was held up until {outcome.late_seconds:.0f} s after this "
            f"run's second, past the {settings.MISSED_AFTER_SECONDS} s after which a run "
            "is recorded as missed instead of sent late."
        )
        return
    execution.status = Status.SUCCEEDED if outcome.succeeded else Status.FAILED
    execution.started_at = outcome.started_at
    execution.sent_at = outcome.sent_at
    execution.finished_at = outcome.finished_at
    execution.duration_ms = outcome.duration_ms
    # From the request leaving (a wait for a connection is lateness too); a request that
    # never left was late until it was given up.
    left = outcome.sent_at or outcome.finished_at
    execution.lateness_ms = lateness_ms(execution.scheduled_for, left)
    execution.failure_reason = outcome.failure_reason
    execution.http_status = outcome.http_status
    execution.response_headers = outcome.response_headers
    execution.response_headers_omitted = outcome.response_headers_omitted
    execution.response_body = storable(outcome.response_body)
    execution.response_truncated = outcome.response_truncated
    execution.error = outcome.error
    execution.timings = outcome.timings


def storable(body: str) -> str:
    # PostgreSQL text cannot hold NUL; a binary response is shown without it.
    return body.replace("\x00", "\ufffd")


def lateness_ms(scheduled_for: datetime, left: datetime) -> int:
    return min(round((left - scheduled_for).total_seconds() * 1000), MAX_LATENESS_MS)


def record_results(executions: list[Execution], outcomes: list[Outcome]) -> None:
    """Write the outcomes in hand, through a database restart: each try reconnects, and
    they are tried again for about 45 s before the batch gives up."""
    for execution, outcome in zip(executions, outcomes, strict=True):
        apply_outcome(execution, outcome)
    for delay in (*RECORD_RETRY_DELAYS, None):
        try:
            finished = write_results(executions)
            break
        except (OperationalError, InterfaceError) as error:
            if delay is None:
                raise
            log.warning("execution.record_retry", error=str(error), retry_in=delay)
            connection.close()
            time.sleep(delay)
    count_results(finished)


@transaction.atomic
def write_results(executions: list[Execution]) -> list[Execution]:
    """Results and what they set off (jobs/engine/outcomes.py), in one transaction
    (written in bulk).
    Only for executions still running: one the sweep finished meanwhile (its worker was
    taken for dead) keeps what the sweep wrote."""
    still_running = set(
        Execution.objects.select_for_update()
        .filter(id__any=[e.id for e in executions], status=Status.RUNNING)
        .values_list("id", flat=True)
    )
    finished = [e for e in executions if e.id in still_running]
    Execution.objects.bulk_create(retries.plan(finished, timezone.now()))
    update_rows(finished, RESULT_FIELDS)
    outcomes.follow(finished, timezone.now())
    return finished


def count_results(executions: list[Execution]) -> None:
    for execution in executions:
        results_log.info(
            "execution.result",
            job=execution.job.title,
            status=execution.status,
            http_status=execution.http_status,
            lateness_ms=execution.lateness_ms,
        )
        if execution.status == Status.FAILED:
            log.info(
                "execution.failed",
                job_id=execution.job_id,
                execution_id=execution.id,
                project_id=execution.job.project_id,
                reason=execution.failure_reason,
                http_status=execution.http_status,
            )
        if execution.status != Status.MISSED:
            metrics.LATENESS.observe(max(execution.lateness_ms, 0) / 1000)
            metrics.DURATION.observe(execution.duration_ms / 1000)
    # One write per label pair, not per execution: every write goes to a shared file.
    outcomes = Counter((e.status, e.failure_reason or "none") for e in executions)
    for (status, reason), count in outcomes.items():
        metrics.EXECUTIONS.labels(status, reason).inc(count)
