"""Test runs: a member's unsaved (or saved) job sent once, by a worker, never by the web
process that was asked: a target that hangs holds a worker thread, not the site."""

import asyncio

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts import limits
from cronsvc import task_names
from cronsvc.celery import app as celery_app
from jobs import masking
from jobs.engine.worker import request_for, storable
from jobs.models import Job, TestRun
from jobs.outbound import http


class TooManyTestRuns(Exception):
    def __init__(self, message: str, *, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


def start(job: Job, *, by: AbstractBaseUser) -> TestRun:
    """Record a test run of `job` as it stands and send it to a worker; limited per minute
    for the member who asks."""
    allowed = settings.TEST_RUNS_PER_MINUTE
    wait = limits.acquire("test_run", by.pk, limits.Rate(allowed, 60))
    if wait is not None:
        message = f"At most {allowed} test runs a minute. Try again shortly."
        raise TooManyTestRuns(message, wait=wait)
    test_run = TestRun.of(job, by=by)
    test_run.save()
    # The worker must find the row: sent once it is committed.
    transaction.on_commit(lambda: enqueue(test_run.id))
    return test_run


def enqueue(test_run_id: int) -> None:
    celery_app.send_task(task_names.TEST_RUN, args=[test_run_id])


def send(test_run_id: int) -> None:
    """Send the test run's request (what the worker's task does) and record the answer."""
    test_run = claim(test_run_id)
    if test_run is None:
        return
    # No execution is recorded, but the target sees an id of its own for each test run
    # (X-Cronsvc-Execution, and webhook-id when signed): a target that drops ids it has
    # seen, as Standard Webhooks receivers do, takes every test run.
    execution_id = f"test-run-{test_run.id}"
    # A test run has no slot: its variables' {{scheduled_for}} is when it is sent.
    request = request_for(test_run, execution_id=execution_id, scheduled_for=timezone.now())
    # Kept as sent, so the member sees the variables filled in.
    test_run.request = masking.request_record(request)
    outcome = asyncio.run(send_once(request))
    record(test_run, outcome)


def claim(test_run_id: int) -> TestRun | None:
    """The pending test run, marked started; None when it is gone or another worker (a
    second copy of the message) has it."""
    claimed = TestRun.objects.filter(
        id=test_run_id, status=TestRun.Status.PENDING, started_at__isnull=True
    ).update(started_at=timezone.now())
    # With its project, which holds the signing secrets.
    return TestRun.objects.select_related("project").get(id=test_run_id) if claimed else None


async def send_once(request: http.Request) -> http.Outcome:
    async with http.Client() as client:
        return await client.send(request)


def record(test_run: TestRun, outcome: http.Outcome) -> None:
    test_run.status = TestRun.Status.DONE
    test_run.finished_at = outcome.finished_at
    test_run.succeeded = outcome.succeeded
    test_run.failure_reason = outcome.failure_reason
    test_run.http_status = outcome.http_status
    test_run.duration_ms = outcome.duration_ms
    test_run.response_headers = outcome.response_headers
    test_run.response_headers_omitted = outcome.response_headers_omitted
    test_run.response_body = storable(outcome.response_body)
    test_run.response_truncated = outcome.response_truncated
    test_run.error = outcome.error
    test_run.assertion_results = [
        {"description": result.description, "passed": result.passed, "found": result.found}
        for result in outcome.assertion_results
    ]
    # Sent: the credentials have done their work and are not kept.
    test_run.auth_password, test_run.secret_headers = "", {}
    test_run.save()
