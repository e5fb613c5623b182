"""Retries: a slot's failed attempt is tried again, as a row of its own, when the reason is
worth it and there is time before the job's next slot.

A retry is an Execution (attempt n+1, retry_of the slot's first attempt) due at its
scheduled_for and not yet sent (enqueued_at empty): the dispatch tick claims it like any
slot (tick.claim_retries). Nothing waits in the broker, so a killed worker or a restarted
Redis loses no retry. Attempt n+1 is due after retry_delay_seconds x 2^(n-1), with full
jitter, capped at ten minutes; a Retry-After header on a 429 or 503 sets the least wait.
Only the final attempt counts for the job's health (jobs/engine/health.py).
"""

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.utils import timezone

from jobs.models import Execution

Reason = Execution.Reason
# Worth another try: the network or the target may be better in a moment.
RETRYABLE_REASONS = {Reason.TIMEOUT, Reason.DNS, Reason.CONNECT, Reason.TLS}
RETRYABLE_STATUSES = {408, 425, 429}
RETRY_AFTER_STATUSES = {429, 503}
LONGEST_WAIT = timedelta(minutes=10)


def plan(executions: list[Execution], now: datetime) -> list[Execution]:
    """The retries of the failed attempts that get one (marked with next_attempt_at);
    an attempt whose retry would come too late says so in its error."""
    retries = []
    for execution in executions:
        if not is_retryable(execution):
            continue
        due = now + wait(execution)
        next_slot = execution.job.next_run_at
        if next_slot is not None and due >= next_slot:
            execution.error += (
                f" Not retried: attempt {execution.attempt + 1} would come at or after the "
                f"job's next run ({next_slot:%H:%M:%S} UTC)."
            )
            continue
        execution.next_attempt_at = due
        retries.append(retry_of(execution, due))
    return retries


def is_retryable(execution: Execution) -> bool:
    if execution.status != Execution.Status.FAILED:
        return False
    if execution.trigger == Execution.Trigger.MANUAL:
        return False  # a member pressing Run now sees what happened, once
    if execution.attempt > execution.job.retries:
        return False
    if execution.failure_reason == Reason.HTTP_STATUS:
        status = execution.http_status
        return status in RETRYABLE_STATUSES or 500 <= status <= 599
    return execution.failure_reason in RETRYABLE_REASONS


def wait(execution: Execution) -> timedelta:
    """Exponential backoff with full jitter, at least what the target asked for."""
    ceiling = min(
        timedelta(seconds=execution.job.retry_delay_seconds * 2 ** (execution.attempt - 1)),
        LONGEST_WAIT,
    )
    jittered = timedelta(seconds=random.uniform(0, ceiling.total_seconds()))
    return min(max(jittered, asked_wait(execution)), LONGEST_WAIT)


def asked_wait(execution: Execution) -> timedelta:
    """Retry-After on a 429 or 503, in seconds or as an HTTP date; else nothing."""
    if execution.http_status not in RETRY_AFTER_STATUSES:
        return timedelta(0)
    headers = {name.lower(): value for name, value in execution.response_headers.items()}
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        return max(parsedate_to_datetime(value) - timezone.now(), timedelta(0))
    except (TypeError, ValueError, IndexError):
        return timedelta(0)


def retry_of(execution: Execution, due: datetime) -> Execution:
    return Execution(
        job=execution.job,
        scheduled_for=due,
        trigger=execution.trigger,
        attempt=execution.attempt + 1,
        retry_of_id=execution.retry_of_id or execution.id,
        chain_depth=execution.chain_depth,
    )
