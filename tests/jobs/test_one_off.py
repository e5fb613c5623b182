"""One-off jobs (Job.run_at): one run at their time, then disabled; with delete_after_run,
deleted with their history when that history is pruned."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.engine import retention, tick, worker
from jobs.models import Execution, Job
from tests.conftest import frozen_at, make_job, reloaded

NOW = datetime(2026, 5, 12, 11, 59, 50, tzinfo=UTC)
RUN_AT = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
Status, Trigger = Execution.Status, Execution.Trigger
pytestmark = pytest.mark.usefixtures("engine_settings")
clock = frozen_at(NOW)
once = partial(make_job, schedule="", timezone="UTC", run_at=RUN_AT)


def test_its_only_run_is_its_run_at(alice, clock):
    job = once(alice)

    assert job.next_run_at == RUN_AT
    assert reloaded(job).next_runs(3) == [RUN_AT]
    assert job.describe_schedule() == "Once"


def test_the_tick_claims_it_once_and_schedules_nothing_after(alice, clock):
    job = once(alice)

    tick.tick(now=NOW)
    tick.tick(now=NOW + timedelta(minutes=5))

    execution = job.executions.get()
    assert (execution.scheduled_for, execution.trigger) == (RUN_AT, Trigger.SCHEDULE)
    assert reloaded(job).next_run_at is None
    assert reloaded(job).next_runs(3) == []


def test_it_is_disabled_after_its_run_and_editing_it_does_not_run_it_again(
    alice, target, sent, django_capture_on_commit_callbacks
):
    run_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    job = once(alice, url=target.url("/ok"), run_at=run_at)

    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()
    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch(sent[0])

    assert job.executions.get().status == Status.SUCCEEDED
    assert len(target.requests) == 1
    job = reloaded(job)
    assert (job.enabled, job.next_run_at) == (False, None)
    job.title = "Renamed"
    job.save()
    assert reloaded(job).next_run_at is None


def test_a_missed_one_off_is_caught_up_once(alice, clock):
    job = once(alice)

    tick.tick(now=RUN_AT + timedelta(hours=2))

    execution = job.executions.get()
    assert (execution.scheduled_for, execution.trigger) == (RUN_AT, Trigger.CATCH_UP)
    assert reloaded(job).next_run_at is None


def test_a_failed_run_disables_it_too(alice, target, sent, django_capture_on_commit_callbacks):
    run_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    job = once(alice, url=target.url("/status/500"), run_at=run_at)

    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()
    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch(sent[0])

    assert job.executions.get().status == Status.FAILED
    assert reloaded(job).enabled is False


def test_delete_after_run_keeps_its_history_until_it_is_pruned(
    alice, target, sent, django_capture_on_commit_callbacks, settings
):
    run_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    job = once(alice, url=target.url("/ok"), run_at=run_at, delete_after_run=True)
    kept = make_job(alice, title="Daily")
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()
    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch(sent[0])

    with time_machine.travel(run_at + timedelta(days=settings.RETENTION_DAYS - 1)):
        retention.prune()
        assert job.executions.get().status == Status.SUCCEEDED
    with time_machine.travel(run_at + timedelta(days=settings.RETENTION_DAYS + 1)):
        retention.prune()

    assert list(Job.objects.all()) == [kept]
    assert not Execution.objects.exists()


def test_the_tick_claims_many_one_offs_in_the_queries_it_takes_for_one(alice, clock):
    once(alice)
    with CaptureQueriesContext(connection) as one:
        assert tick.tick(now=NOW) == 1

    for number in range(50):
        once(alice, title=f"Once {number}", run_at=RUN_AT + timedelta(minutes=1))
    with CaptureQueriesContext(connection) as fifty:
        assert tick.tick(now=NOW + timedelta(minutes=1)) == 50

    assert len(fifty) == len(one)
