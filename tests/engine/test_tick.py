"""jobs/engine/tick.py: the tick claims due jobs, records their executions and queues them."""

from contextlib import AbstractContextManager as ContextManager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import NamedTuple

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from jobs.engine import health, tick
from jobs.models import Execution, Job
from tests.conftest import frozen_at, make_job, many_jobs, reloaded

# Ten seconds before a minute: with the default 15 s horizon, 12:00:00 is due.
NOW = datetime(2026, 5, 12, 11, 59, 50, tzinfo=UTC)
SLOT = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
Status, Trigger = Execution.Status, Execution.Trigger
pytestmark = pytest.mark.usefixtures("engine_settings")
clock = frozen_at(NOW)
minutely_ping = partial(
    make_job,
    title="Minutely ping",
    url="http://127.0.0.1:9/ping",
    schedule="* * * * *",
    timezone="UTC",
)


def test_it_claims_a_job_due_within_the_horizon(alice, clock):
    job = minutely_ping(alice)
    assert job.next_run_at == SLOT

    assert tick.tick(now=NOW) == 1

    (execution,) = job.executions.all()
    assert execution.scheduled_for == SLOT
    assert (execution.status, execution.trigger) == (Status.PENDING, Trigger.SCHEDULE)
    assert execution.enqueued_at == NOW
    assert reloaded(job).next_run_at == SLOT + MINUTE


def test_a_job_due_beyond_the_horizon_waits_for_a_later_tick(alice, clock):
    job = minutely_ping(alice, schedule="5 12 * * *")

    assert tick.tick(now=NOW) == 0

    assert not job.executions.exists()
    assert reloaded(job).next_run_at == datetime(2026, 5, 12, 12, 5, tzinfo=UTC)


def test_a_second_tick_in_the_same_minute_claims_nothing_new(alice, clock):
    job = minutely_ping(alice)
    tick.tick(now=NOW)

    assert tick.tick(now=NOW + timedelta(seconds=5)) == 0

    assert job.executions.count() == 1


def test_executions_are_queued_only_after_the_commit(
    alice, clock, sent, django_capture_on_commit_callbacks
):
    minutely_ping(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tick.tick(now=NOW)

    # Inside the transaction nothing went to the broker: a rollback sends nothing.
    assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [[Execution.objects.get().id]]


def test_executions_go_many_to_a_message_earliest_slot_first(
    alice, clock, sent, settings, django_capture_on_commit_callbacks
):
    settings.EXECUTIONS_PER_MESSAGE = 2
    jobs = [minutely_ping(alice, title=f"Ping {n}") for n in range(4)]
    # One job fires a few seconds earlier than the others.
    early = SLOT - timedelta(seconds=3)
    Job.objects.filter(id=jobs[3].id).update(next_run_at=early)

    with django_capture_on_commit_callbacks(execute=True):
        assert tick.tick(now=NOW) == 4

    assert [len(message) for message in sent] == [2, 2]
    first = Execution.objects.get(id=sent[0][0])
    assert (first.job_id, first.scheduled_for) == (jobs[3].id, early)
    queued = sorted(id_ for message in sent for id_ in message)
    assert queued == sorted(Execution.objects.values_list("id", flat=True))


def test_paused_and_expired_jobs_are_not_claimed(alice, clock):
    paused = minutely_ping(alice, title="Paused", enabled=False)
    expired = minutely_ping(alice, title="Expired", expires_at=NOW - timedelta(days=1))
    # Paused after its next run was set: the row still has a time, but is not enabled.
    paused_later = minutely_ping(alice, title="Paused later")
    Job.objects.filter(id=paused_later.id).update(enabled=False)

    assert tick.tick(now=NOW) == 0

    assert not Execution.objects.exists()
    assert (reloaded(paused).next_run_at, reloaded(expired).next_run_at) == (None, None)


def test_a_job_expiring_before_its_next_slot_is_not_scheduled_again(alice, clock):
    job = minutely_ping(alice, expires_at=SLOT + timedelta(seconds=30))

    tick.tick(now=NOW)

    assert job.executions.count() == 1
    assert reloaded(job).next_run_at is None


def test_it_claims_in_batches_until_no_due_job_is_left(alice, clock, settings):
    settings.DISPATCH_BATCH_SIZE = 3
    for n in range(7):
        minutely_ping(alice, title=f"Ping {n}")

    assert tick.tick(now=NOW) == 7

    assert Execution.objects.filter(scheduled_for=SLOT).count() == 7
    assert Job.objects.filter(next_run_at=SLOT + MINUTE).count() == 7


def test_a_slot_found_late_but_within_a_minute_still_runs_as_scheduled(alice, clock):
    job = minutely_ping(alice)

    tick.tick(now=SLOT + timedelta(seconds=40))

    (execution,) = job.executions.all()
    assert (execution.scheduled_for, execution.trigger) == (SLOT, Trigger.SCHEDULE)
    assert execution.status == Status.PENDING


# Invariant 1: one execution per (job, slot).


def test_a_second_execution_for_the_same_slot_is_refused_by_the_database(alice, clock):
    job = minutely_ping(alice)
    Execution.objects.create(job=job, scheduled_for=SLOT)

    with pytest.raises(IntegrityError), transaction.atomic():
        Execution.objects.create(job=job, scheduled_for=SLOT, trigger=Trigger.CATCH_UP)

    assert job.executions.count() == 1


def test_pausing_and_resuming_within_the_horizon_does_not_run_a_slot_twice(
    alice, clock, sent, django_capture_on_commit_callbacks
):
    job = minutely_ping(alice)
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick(now=NOW)
    (claimed,) = job.executions.all()

    clock.shift(2)
    health.set_enabled(job, False)
    clock.shift(2)
    health.set_enabled(job, True)
    # Resuming put the same slot back in front of the dispatcher.
    assert reloaded(job).next_run_at == SLOT

    with django_capture_on_commit_callbacks(execute=True):
        tick.tick(now=NOW + timedelta(seconds=5))

    assert list(job.executions.values_list("id", "scheduled_for")) == [(claimed.id, SLOT)]
    assert reloaded(job).next_run_at == SLOT + MINUTE
    # At most queued again: a worker claims the pending row once (tests/test_execute.py).
    assert {id_ for message in sent for id_ in message} == {claimed.id}


# Invariant 4: missed slots are visible, with one catch-up run.


def test_after_three_minutes_without_ticks_one_catch_up_runs_and_the_rest_are_missed(alice, clock):
    job = minutely_ping(alice)
    tick.tick(now=NOW)  # claims 12:00; then beat stops

    later = datetime(2026, 5, 12, 12, 3, 30, tzinfo=UTC)
    assert tick.tick(now=later) == 1

    executions = {e.scheduled_for: e for e in job.executions.all()}
    assert sorted(executions) == [SLOT, SLOT + MINUTE, SLOT + 3 * MINUTE]
    missed = executions[SLOT + MINUTE]
    assert (missed.status, missed.missed_count, missed.finished_at) == (Status.MISSED, 2, later)
    assert "2 run(s) missed" in missed.error
    catch_up = executions[SLOT + 3 * MINUTE]
    assert (catch_up.status, catch_up.trigger) == (Status.PENDING, Trigger.CATCH_UP)
    assert catch_up.enqueued_at == later
    assert reloaded(job).next_run_at == SLOT + 4 * MINUTE


def test_a_single_missed_slot_is_caught_up_without_a_missed_row(alice, clock):
    job = minutely_ping(alice, schedule="0 * * * *")  # hourly, at 12:00
    later = SLOT + timedelta(minutes=5)

    tick.tick(now=later)

    (catch_up,) = job.executions.all()
    assert (catch_up.scheduled_for, catch_up.trigger) == (SLOT, Trigger.CATCH_UP)
    assert reloaded(job).next_run_at == SLOT + timedelta(hours=1)


def test_missed_slots_stop_at_the_jobs_expiry(alice, clock):
    job = minutely_ping(alice, expires_at=SLOT + timedelta(minutes=1, seconds=30))
    tick.tick(now=NOW)

    tick.tick(now=SLOT + timedelta(minutes=10))

    # 12:01 was the last slot before the expiry: caught up; nothing after it is counted.
    catch_up = job.executions.get(trigger=Trigger.CATCH_UP)
    assert catch_up.scheduled_for == SLOT + MINUTE
    assert not job.executions.filter(status=Status.MISSED).exists()
    assert reloaded(job).next_run_at is None


# Invariant 6: the tick's cost follows the due jobs, not the registered ones.


class TickCost(NamedTuple):
    queries: int
    # From the jobs table: rows read by sequential scans, fetched through an index, updated.
    seq_read: int
    index_fetched: int
    updated: int


def tick_cost(now: datetime, counted: ContextManager[CaptureQueriesContext]) -> TickCost:
    before = job_table_counters()
    with counted as queries:
        claimed = tick.tick(now=now)
    after = job_table_counters()
    assert claimed == 100
    return TickCost(len(queries), *(a - b for a, b in zip(after, before, strict=True)))


def job_table_counters() -> tuple[int, int, int]:
    # This transaction's own counters: the test runs in one transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq_tup_read, idx_tup_fetch, n_tup_upd"
            " FROM pg_stat_xact_user_tables WHERE relname = 'jobs_job'"
        )
        return cursor.fetchone()


def due_query_plan(now: datetime) -> str:
    horizon = now + timedelta(seconds=15)
    with transaction.atomic():
        return (
            Job.objects.due(horizon)
            .select_for_update(skip_locked=True)
            .only(*tick.CLAIM_FIELDS)[:1000]
            .explain()
        )


def test_a_tick_among_100000_jobs_costs_what_it_costs_among_100(
    alice, clock, django_assert_max_num_queries
):
    assert connection.vendor == "postgresql"
    many_jobs(alice, 100, url="http://127.0.0.1:9/ping", next_run_at=SLOT)
    small = tick_cost(NOW, CaptureQueriesContext(connection))

    # The same 100 are due a minute later; 99,900 more wait a year.
    many_jobs(alice, 99_900, url="http://127.0.0.1:9/ping", next_run_at=SLOT + timedelta(days=365))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job")
    large = tick_cost(NOW + MINUTE, django_assert_max_num_queries(small.queries))

    # A table this small is read whole (cheaper than the index); the large one never is.
    assert (large.queries, large.updated) == (small.queries, small.updated)
    assert large.seq_read == 0
    assert large.updated == 100
    assert large.index_fetched <= 2 * 100  # the due range, then the rows updated by id
    assert Execution.objects.count() == 200
    assert Job.objects.filter(next_run_at=SLOT + 2 * MINUTE).count() == 100
    # "What is due" is one range scan of the partial index on enabled jobs.
    plan = due_query_plan(NOW + 2 * MINUTE)
    assert "jobs_due_idx" in plan, plan
