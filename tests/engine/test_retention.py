"""jobs/engine/retention.py: history older than RETENTION_DAYS goes, each job's latest 100 stay;
test runs go after a day."""

from datetime import datetime, timedelta
from functools import partial

import pytest

from jobs.engine import retention, tasks
from jobs.models import Execution, Job, TestRun
from tests.conftest import NOON, make_job

NOW = NOON  # where the `clock` fixture holds time
KEEP = 100


@pytest.fixture(autouse=True)
def thirty_days(settings) -> None:
    settings.RETENTION_DAYS = 30
    settings.KEEP_EXECUTIONS_PER_JOB = KEEP


heartbeat_ping = partial(
    make_job,
    title="Heartbeat ping",
    url="http://127.0.0.1:9/ping",
    schedule="0 * * * *",
    timezone="UTC",
)


def add_history(job: Job, *, count: int, newest: datetime, **fields) -> list[Execution]:
    """`count` finished hourly executions, the newest at `newest`."""
    return Execution.objects.bulk_create(
        Execution(
            job=job,
            scheduled_for=newest - timedelta(hours=hours),
            **{"status": Execution.Status.SUCCEEDED, **fields},
        )
        for hours in range(count)
    )


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def test_it_prunes_executions_older_than_the_retention_period(alice, clock):
    job = heartbeat_ping(alice)
    add_history(job, count=200, newest=days_ago(31))
    recent = add_history(job, count=KEEP, newest=days_ago(1))

    assert retention.prune() == 200

    assert set(job.executions.values_list("id", flat=True)) == {e.id for e in recent}


def test_the_newest_100_of_a_job_stay_however_old(alice, clock):
    job = heartbeat_ping(alice)
    old = add_history(job, count=150, newest=days_ago(40))

    assert retention.prune() == 50

    kept = set(job.executions.values_list("id", flat=True))
    assert kept == {e.id for e in old[:KEEP]}  # the newest hundred


def test_old_executions_beyond_the_newest_100_go_even_with_recent_ones(alice, clock):
    # 60 recent and 60 old: the 100 newest are the 60 recent and the 40 newest old ones.
    job = heartbeat_ping(alice)
    recent = add_history(job, count=60, newest=days_ago(1))
    old = add_history(job, count=60, newest=days_ago(31))

    assert retention.prune() == 20

    kept = set(job.executions.values_list("id", flat=True))
    assert kept == {e.id for e in recent + old[:40]}


def test_a_job_with_more_than_100_recent_executions_loses_all_its_old_ones(alice, clock):
    job = heartbeat_ping(alice)
    add_history(job, count=KEEP + 20, newest=days_ago(1))
    add_history(job, count=30, newest=days_ago(45))

    assert retention.prune() == 30

    assert job.executions.count() == KEEP + 20
    assert not job.executions.filter(scheduled_for__lt=days_ago(30)).exists()


def test_each_job_keeps_its_own_newest_100(alice, bob, clock):
    busy, quiet = heartbeat_ping(alice, title="Busy"), heartbeat_ping(bob, title="Quiet")
    add_history(busy, count=KEEP + 10, newest=days_ago(35))
    add_history(quiet, count=5, newest=days_ago(300))

    assert retention.prune() == 10

    assert busy.executions.count() == KEEP
    assert quiet.executions.count() == 5


def test_a_jobs_last_execution_survives_pruning(alice, clock):
    # Paused for months: its last result is far older than the retention period, and
    # newer rows (skipped slots) push it out of the newest hundred.
    job = heartbeat_ping(alice)
    (last,) = add_history(job, count=1, newest=days_ago(120))
    add_history(job, count=KEEP + 5, newest=days_ago(40), status=Execution.Status.SKIPPED)
    Job.objects.filter(id=job.id).update(last_execution=last)

    assert retention.prune() == 5

    job.refresh_from_db()
    assert job.last_execution_id == last.id
    assert Execution.objects.filter(id=last.id).exists()


def test_pruning_works_in_batches_until_nothing_is_left(alice, clock, monkeypatch):
    monkeypatch.setattr(retention, "PRUNE_BATCH", 7)
    job = heartbeat_ping(alice)
    add_history(job, count=KEEP + 30, newest=days_ago(31))

    assert retention.prune() == 30
    assert retention.prune() == 0

    assert job.executions.count() == KEEP


def test_pruning_an_empty_history_does_nothing(db, clock):
    assert retention.prune() == 0


def test_the_pruning_task_deletes_test_runs_older_than_a_day(alice, clock):
    job = heartbeat_ping(alice)
    for age in (timedelta(hours=25), timedelta(hours=23), timedelta(0)):
        test_run = TestRun.of(job, by=alice)
        test_run.created_at = NOW - age
        test_run.save()

    tasks.prune()

    kept = TestRun.objects.order_by("created_at").values_list("created_at", flat=True)
    assert list(kept) == [NOW - timedelta(hours=23), NOW]
