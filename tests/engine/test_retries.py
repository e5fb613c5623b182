"""jobs/engine/retries.py: a failed attempt is tried again, as a row the dispatch tick claims,
when the reason is worth it and there is time before the next slot; only the slot's final
outcome counts for the job's health and its emails."""

from datetime import timedelta
from functools import partial

import pytest
from django.core import mail
from django.utils import timezone

from alerts import delivery
from jobs.engine import retries, tick, worker
from jobs.models import Execution, Job
from jobs.outbound import http
from tests.conftest import make_job, race
from tests.processes import Engine, flush_broker

Status = Execution.Status
pytestmark = pytest.mark.usefixtures("engine_settings")
# Hourly: the next slot is far, so retries have time (and no tick claims the job itself).
hourly = partial(make_job, schedule="0 * * * *", timezone="UTC", retry_delay_seconds=1)


def run_slot(job: Job, sent, capture) -> list[Execution]:
    """A slot of the job, then every retry the tick claims for it, as workers would run
    them; the slot's attempts, first to last."""
    first = Execution.objects.create(
        job=job, scheduled_for=timezone.now(), enqueued_at=timezone.now()
    )
    with capture(execute=True):
        worker.run_batch([first.id])
    for _ in range(job.retries):
        retry = Execution.objects.filter(retry_of=first, status=Status.PENDING).first()
        if retry is None:
            break
        with capture(execute=True):
            now = timezone.now()
            tick.claim_retries(now, max(now, retry.scheduled_for) + timedelta(seconds=1))
        with capture(execute=True):
            worker.run_batch(sent[-1])
    return list(Execution.objects.filter(job=job).order_by("attempt"))


def attempts(target) -> list[tuple[str, str | None]]:
    return [
        (a.headers[http.ATTEMPT_HEADER], a.headers.get(http.RETRY_OF_HEADER))
        for a in target.requests
    ]


def test_503_503_200_is_three_requests_one_success_and_no_failure_email(
    alice, target, sent, django_capture_on_commit_callbacks
):
    job = hourly(alice, url=target.url("/flaky"), retries=2)

    first, second, third = run_slot(job, sent, django_capture_on_commit_callbacks)
    delivery.deliver_pending()

    assert [e.status for e in (first, second, third)] == [
        Status.FAILED,
        Status.FAILED,
        Status.SUCCEEDED,
    ]
    assert [(e.attempt, e.retry_of_id) for e in (first, second, third)] == [
        (1, None),
        (2, first.id),
        (3, first.id),
    ]
    assert first.next_attempt_at == second.scheduled_for
    assert third.next_attempt_at is None
    assert attempts(target) == [("1", None), ("2", str(first.id)), ("3", str(first.id))]
    job.refresh_from_db()
    assert (job.consecutive_failures, job.failing, job.last_execution_id) == (0, False, third.id)
    assert mail.outbox == []


def test_always_500_with_one_retry_is_two_requests_then_one_failure_email(
    alice, target, sent, django_capture_on_commit_callbacks
):
    job = hourly(alice, url=target.url("/status/500"), retries=1)

    first, last = run_slot(job, sent, django_capture_on_commit_callbacks)
    delivery.deliver_pending()

    assert len(target.requests) == 2
    assert (first.status, first.next_attempt_at is not None) == (Status.FAILED, True)
    assert (last.status, last.next_attempt_at) == (Status.FAILED, None)
    job.refresh_from_db()
    assert (job.consecutive_failures, job.failing) == (1, True)
    (message,) = mail.outbox
    assert message.subject == f"Failing: {job.title}"
    assert f"/jobs/executions/{last.id}/" in message.body


def test_a_429_with_retry_after_waits_at_least_that_long(
    alice, target, sent, django_capture_on_commit_callbacks
):
    job = hourly(alice, url=target.url("/status/429?retry_after=3"), retries=1)

    first, second = run_slot(job, sent, django_capture_on_commit_callbacks)

    assert second.scheduled_for - first.finished_at >= timedelta(seconds=3)
    sent_first, sent_second = (a.arrived_at for a in target.requests)
    assert sent_second - sent_first >= timedelta(seconds=3)


def test_a_retry_after_as_an_http_date_is_honoured(alice, target):
    job = hourly(alice, url=target.url("/ok"), retries=1)
    later = timezone.now() + timedelta(seconds=90)
    execution = Execution(
        job=job,
        status=Status.FAILED,
        failure_reason="http_status",
        http_status=503,
        response_headers={"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )

    assert retries.wait(execution) >= timedelta(seconds=88)


@pytest.mark.parametrize("path", ["/status/404", "/status/400"])
def test_a_client_error_is_not_retried(
    alice, target, sent, django_capture_on_commit_callbacks, path
):
    job = hourly(alice, url=target.url(path), retries=3)

    (only,) = run_slot(job, sent, django_capture_on_commit_callbacks)

    assert (only.status, only.next_attempt_at) == (Status.FAILED, None)
    assert len(target.requests) == 1


def test_a_retry_that_would_pass_the_next_slot_is_not_made(
    alice, target, sent, django_capture_on_commit_callbacks
):
    job = hourly(alice, url=target.url("/status/503?retry_after=30"), retries=3)
    Job.objects.filter(id=job.id).update(next_run_at=timezone.now() + timedelta(seconds=10))

    (only,) = run_slot(job, sent, django_capture_on_commit_callbacks)

    assert only.next_attempt_at is None
    assert only.error.startswith("Got HTTP 503, expected 2xx. Not retried: attempt 2 would come")
    job.refresh_from_db()
    assert job.consecutive_failures == 1  # the slot's outcome stands


def test_a_manual_run_is_not_retried(alice, target, sent, django_capture_on_commit_callbacks):
    job = hourly(alice, url=target.url("/status/503"), retries=3)
    manual = Execution.objects.create(
        job=job, scheduled_for=timezone.now(), trigger=Execution.Trigger.MANUAL
    )

    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch([manual.id])

    assert not Execution.objects.filter(retry_of=manual).exists()


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_send_each_retry_once(alice, sent):
    job = hourly(alice, url="http://127.0.0.1:9/", retries=1)
    now = timezone.now()
    first = Execution.objects.create(
        job=job, scheduled_for=now - timedelta(minutes=1), status=Status.FAILED
    )
    retries = Execution.objects.bulk_create(
        Execution(job=job, scheduled_for=now + timedelta(seconds=n / 10), attempt=2, retry_of=first)
        for n in range(100)
    )

    claimed = race(lambda: tick.claim_retries(now, now + timedelta(seconds=15)))

    assert sum(claimed) == 100
    assert sorted(sent.ids) == sorted(e.id for e in retries)


@pytest.mark.slow
def test_a_worker_killed_between_attempts_loses_no_retry(transactional_db, alice, target, tmp_path):
    flush_broker()
    job = hourly(alice, url=target.url("/flaky"), retries=2, retry_delay_seconds=3)
    with Engine(tmp_path) as engine:
        engine.start_worker()
        engine.start_beat()
        Job.objects.filter(id=job.id).update(next_run_at=timezone.now() + timedelta(seconds=2))
        engine.wait_until(
            lambda: Execution.objects.filter(job=job, next_attempt_at__isnull=False).exists(),
            what="the first attempt to fail with a retry to come",
        )
        engine.kill("worker")
        engine.start_worker("second-worker")
        engine.wait_until(
            lambda: Execution.objects.filter(job=job, status=Status.SUCCEEDED).exists(),
            what="the slot to succeed",
        )

    assert [e.status for e in Execution.objects.filter(job=job).order_by("attempt")] == [
        Status.FAILED,
        Status.FAILED,
        Status.SUCCEEDED,
    ]
    assert len(target.requests) == 3
