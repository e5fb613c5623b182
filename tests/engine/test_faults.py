"""Faults: a killed worker, a lost queue, racing ticks, a stopped beat, hostile targets.

In each, nothing is lost, nothing runs twice in one slot and nothing stays `running`.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError

from jobs.engine import recovery, tick, worker
from jobs.models import Execution, Job
from jobs.outbound import http
from tests.conftest import (
    arrivals_by_execution,
    closing_connection,
    make_job,
    many_jobs,
    race,
    redirect,
    seconds_from_now,
)
from tests.processes import Engine, flush_broker, queued_messages

Status = Execution.Status
FINISHED = [Status.SUCCEEDED, Status.FAILED, Status.SKIPPED]
YEARLY = "0 0 1 1 *"  # nothing runs unless a test moves next_run_at
MINUTE = timedelta(minutes=1)
pytestmark = pytest.mark.usefixtures("engine_settings")
ping = partial(make_job, title="Ping", schedule=YEARLY, timeout_seconds=10, timezone="UTC")


def statuses(ids: list[int]) -> set[str]:
    return set(Execution.objects.filter(id__in=ids).values_list("status", flat=True))


# A worker dies with requests in flight.


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_nothing_running_and_sends_nothing_twice(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    for n in range(5):
        ping(alice, url=target.url("/slow/20"), title=f"Slow {n}", timeout_seconds=30)
    Job.objects.update(next_run_at=seconds_from_now(1))
    sentinel_job = ping(alice, url=target.url("/ok"), title="Sentinel")

    with Engine(tmp_path) as engine:
        engine.start_worker()
        assert tick.tick() == 5  # one message of five executions
        engine.wait_until(lambda: len(target.requests) == 5, what="the five requests")
        ids = list(Execution.objects.values_list("id", flat=True))
        assert statuses(ids) == {Status.RUNNING}

        engine.kill("worker")

        # Still running as far as the database knows; too soon to call them abandoned.
        assert statuses(ids) == {Status.RUNNING}
        assert recovery.sweep().abandoned == 0
        # Once its heartbeats have stopped for ten beats: within seconds, not minutes.
        killed_at = timezone.now()
        engine.wait_until(lambda: recovery.sweep().abandoned, what="the sweep to find them")
        assert timezone.now() - killed_at < timedelta(seconds=15)
        abandoned = Execution.objects.filter(id__in=ids)
        # In flight when the worker died: the target may have them.
        assert set(abandoned.values_list("status", "failure_reason")) == {
            (Status.FAILED, "worker_lost")
        }
        assert all(execution.finished_at for execution in abandoned)

        # The broker hands the unacknowledged message to another worker: it sends nothing.
        # A fresh execution in the same message shows when the worker has dealt with it.
        sentinel = Execution.objects.create(
            job=sentinel_job, scheduled_for=timezone.now(), enqueued_at=timezone.now()
        )
        engine.start_worker("second-worker")
        tick.enqueue([*ids, sentinel.id])
        engine.wait_until(
            lambda: statuses([sentinel.id]) == {Status.SUCCEEDED}, what="the sentinel to run"
        )

    assert arrivals_by_execution(target) == Counter([*ids, sentinel.id])
    assert statuses(ids) == {Status.FAILED}
    assert not Execution.objects.filter(status=Status.RUNNING).exists()


# The broker loses its queue (Redis restarted without persistence).


@pytest.mark.slow
def test_executions_lost_with_the_queue_are_sent_again_by_the_sweep_and_run_once(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    for n in range(5):
        ping(alice, url=target.url("/ok"), title=f"Ping {n}")
    Job.objects.update(next_run_at=seconds_from_now(1))
    assert tick.tick() == 5
    assert queued_messages() == 1
    ids = list(Execution.objects.values_list("id", flat=True))

    flush_broker()

    assert queued_messages() == 0
    with Engine(tmp_path) as engine:
        engine.start_worker()
        # The database still has them pending; only a sweep after REQUEUE_AFTER_SECONDS
        # calls them lost (a message that is just slow must not be doubled).
        assert recovery.sweep().requeued == 0
        later = timezone.now() + timedelta(seconds=61)
        assert recovery.sweep(now=later).requeued == 5

        engine.wait_until(lambda: statuses(ids) == {Status.SUCCEEDED}, what="the five to run")
        assert recovery.sweep(now=later + MINUTE).requeued == 0

    assert arrivals_by_execution(target) == Counter(ids)


# The broker cannot be reached when the tick sends.


def test_with_the_broker_unreachable_the_tick_records_everything_and_the_sweep_sends_it(
    transactional_db, alice, monkeypatch, settings, sent
):
    settings.DISPATCH_BATCH_SIZE = 2
    for n in range(5):
        ping(alice, url="http://127.0.0.1:9/", title=f"Ping {n}")
    Job.objects.update(next_run_at=seconds_from_now(5))

    def unreachable(name: str, args: list) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    recording = tick.celery_app.send_task  # the `sent` fixture's stand-in
    monkeypatch.setattr(tick.celery_app, "send_task", unreachable)

    # Every batch is claimed and recorded, though none of them could be sent.
    assert tick.tick() == 5
    assert set(Execution.objects.values_list("status", flat=True)) == {Status.PENDING}
    assert not Job.objects.filter(next_run_at__lte=timezone.now() + MINUTE).exists()

    monkeypatch.setattr(tick.celery_app, "send_task", recording)
    assert recovery.sweep(now=timezone.now() + 2 * MINUTE).requeued == 5
    assert sorted(sent.ids) == sorted(Execution.objects.values_list("id", flat=True))


# Two dispatchers at the same time.

# Off the minute grid, yearly: the slot after the one they are due in is never inside the horizon.
due_jobs = partial(many_jobs, url="http://127.0.0.1:9/", schedule=YEARLY)


def test_two_ticks_racing_record_and_queue_each_slot_once(transactional_db, alice, sent, settings):
    settings.DISPATCH_BATCH_SIZE = 20
    now = timezone.now()
    due_jobs(alice, 400, next_run_at=seconds_from_now(5))

    claimed = race(lambda: tick.tick(now=now))

    assert sum(claimed) == 400
    assert Execution.objects.count() == 400
    assert Execution.objects.values("job").distinct().count() == 400
    assert sorted(sent.ids) == sorted(Execution.objects.values_list("id", flat=True))


def test_a_tick_beside_one_holding_its_batch_takes_only_the_other_jobs(
    transactional_db, alice, sent, settings, monkeypatch
):
    settings.DISPATCH_BATCH_SIZE = 10
    slot = seconds_from_now(5)
    due_jobs(alice, 30, next_run_at=slot)
    holding, release = threading.Event(), threading.Event()
    plan = tick.plan

    def plan_slowly(job: Job, now: datetime) -> list[Execution]:
        # The first tick stops inside its transaction, its ten jobs locked.
        if threading.current_thread().name.startswith("first tick") and not holding.is_set():
            holding.set()
            release.wait(timeout=30)
        return plan(job, now)

    monkeypatch.setattr(tick, "plan", plan_slowly)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="first tick") as pool:
        first = pool.submit(closing_connection(tick.tick))
        try:
            assert holding.wait(timeout=30)
            second = tick.tick()
        finally:
            release.set()
            results = [first.result(timeout=30)]

    # SKIP LOCKED: the second tick neither waited for the first nor took its jobs.
    assert (results, second) == ([10], 20)
    assert Execution.objects.count() == 30
    assert len(set(sent.ids)) == 30


# Beat (or every worker) stopped for three minutes.


def test_after_three_minutes_without_ticks_each_job_runs_once_and_the_rest_is_missed(
    alice, target, sent, django_capture_on_commit_callbacks
):
    start = timezone.now().replace(second=0, microsecond=0) - 10 * MINUTE
    jobs = [
        ping(alice, url=target.url("/ok"), title=f"Every minute {n}", schedule="* * * * *")
        for n in range(3)
    ]
    Job.objects.update(next_run_at=start)
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick(now=start - timedelta(seconds=10))
    with time_machine.travel(start, tick=True):  # the workers run on time
        worker.run_batch(sent.ids)

    # Three and a half minutes later beat is back.
    back = start + timedelta(minutes=3, seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert tick.tick(now=back) == 3
        assert tick.tick(now=back + timedelta(seconds=1)) == 0
    with time_machine.travel(back, tick=True):
        worker.run_batch(sent.ids)
        worker.run_batch(sent.ids)  # a duplicate message changes nothing

    for job in jobs:
        rows = list(job.executions.order_by("scheduled_for"))
        assert [(e.scheduled_for - start, e.status, e.trigger, e.missed_count) for e in rows] == [
            (0 * MINUTE, Status.SUCCEEDED, "schedule", 0),
            (1 * MINUTE, Status.MISSED, "schedule", 2),
            (3 * MINUTE, Status.SUCCEEDED, "catch_up", 0),
        ]
        job.refresh_from_db()
        assert job.next_run_at == start + 4 * MINUTE
    assert Counter(arrivals_by_execution(target).values()) == {1: 6}


# Hostile targets.


def test_a_target_that_hangs_is_given_up_on_at_the_timeout(alice, target):
    job = ping(alice, url=target.url("/hang"), timeout_seconds=1)
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILED, "timeout")
    assert execution.error == "Sent, but no complete response within 1 s."
    assert execution.http_status is None
    assert 1000 <= execution.duration_ms < 10_000
    (arrival,) = target.requests
    assert not arrival.finished


def test_a_10_mb_response_is_recorded_truncated_and_not_read_to_the_end(alice, target):
    size = 10 * 1024 * 1024
    job = ping(alice, url=target.url(f"/big/{size}"), response_body_kib=64)
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.http_status) == (Status.SUCCEEDED, 200)
    assert execution.response_truncated
    assert execution.response_body == "x" * http.CAPTURE_LIMIT
    (arrival,) = target.requests
    assert arrival.bytes_sent < size
    assert not arrival.finished


def test_a_redirect_to_loopback_is_blocked(alice, target, public_target, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    job = ping(alice, url=redirect(public_target, target.url("/ok")))
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILED, "blocked")
    assert "127.0.0.1" in execution.error
    assert [arrival.path for arrival in public_target.requests] == ["/redirect"]
    assert target.connections == 0


def test_loopback_itself_is_blocked_without_a_connection(alice, target, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    job = ping(alice, url=target.url("/ok"))
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILED, "blocked")
    assert target.connections == 0


def test_a_refused_connection_is_recorded_as_such(alice, target):
    job = ping(alice, url="http://127.0.0.1:9/")  # the discard port: nothing listens
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILED, "connect")
    assert execution.error.startswith("Could not connect")
