"""Ordering keys and chains end to end: real beat and two worker processes, PostgreSQL,
Redis and a local target that records when each request arrived and when it was answered."""

from datetime import timedelta
from functools import partial
from itertools import pairwise

import pytest
from django.utils import timezone

from jobs.engine import tick
from jobs.models import Execution, Job, OrderingKey
from tests.conftest import make_job, seconds_from_now
from tests.processes import Engine, flush_broker

pytestmark = pytest.mark.slow
Status = Execution.Status
FINISHED = [Status.SUCCEEDED, Status.FAILED, Status.SKIPPED]
# Once a year: nothing runs unless a test moves next_run_at.
yearly = partial(make_job, schedule="0 0 1 1 *", timezone="UTC", timeout_seconds=10)


def two_workers_and_beat(engine: Engine) -> None:
    engine.start_worker("worker-1", concurrency=2)
    engine.start_worker("worker-2", concurrency=2)
    engine.start_beat()


def finished(job: Job) -> Execution | None:
    return job.executions.filter(status__in=FINISHED).first()


def test_five_jobs_on_one_key_reach_the_target_in_order_each_after_the_last_answer(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    # Each answers after 0.3 s, so a run sent before the previous answer would overlap it.
    steps = [
        yearly(alice, title=f"Step {n}", url=target.url(f"/slow/0.3?step={n}"), ordering_key="line")
        for n in range(5)
    ]

    with Engine(tmp_path) as engine:
        two_workers_and_beat(engine)
        slot = seconds_from_now(3)
        Job.objects.update(next_run_at=slot)
        engine.wait_until(
            lambda: Execution.objects.filter(status=Status.SUCCEEDED).count() == 5,
            what="five runs to succeed",
            seconds=60,
        )

    arrivals = target.requests
    assert [arrival.query["step"] for arrival in arrivals] == ["0", "1", "2", "3", "4"]
    for before, after in pairwise(arrivals):
        assert after.arrived_at >= before.answered_at
    runs = [job.executions.get() for job in steps]
    assert all(run.scheduled_for == slot for run in runs)
    for before, after in pairwise(runs):
        assert after.sent_at >= before.finished_at


def test_stop_halts_its_key_until_resumed_while_another_key_runs(
    transactional_db, alice, alice_api, target, tmp_path
):
    flush_broker()
    broken = yearly(
        alice,
        title="Broken",
        url=target.url("/status/500"),
        ordering_key="billing",
        ordering_on_failure="stop",
    )
    held = yearly(alice, title="Held", url=target.url("/ok?job=held"), ordering_key="billing")
    first = yearly(alice, title="First", url=target.url("/ok?job=first"), ordering_key="reports")
    later = yearly(alice, title="Later", url=target.url("/ok?job=later"), ordering_key="reports")

    with Engine(tmp_path) as engine:
        two_workers_and_beat(engine)
        slot = seconds_from_now(3)
        Job.objects.filter(id__in=[broken.id, held.id, first.id]).update(next_run_at=slot)
        # The other key's second run is due well after the failure stopped the first key.
        Job.objects.filter(id=later.id).update(next_run_at=slot + timedelta(seconds=4))
        engine.wait_until(lambda: finished(later), what="the other key's later run", seconds=60)

        assert finished(broken).status == Status.FAILED
        assert OrderingKey.objects.get(name="billing").stopped_by == finished(broken)
        waiting = held.executions.get()
        assert (waiting.status, waiting.waiting, waiting.waiting_on_id) == (
            Status.PENDING,
            True,
            finished(broken).id,
        )
        assert finished(first).status == Status.SUCCEEDED

        assert alice_api.post("/api/v1/ordering-keys/billing/resume/").status_code == 200
        engine.wait_until(lambda: finished(held), what="the held run after resume", seconds=30)

    assert finished(held).status == Status.SUCCEEDED
    assert finished(held).sent_at > finished(later).finished_at
    assert [arrival.query.get("job") for arrival in target.requests][-1] == "held"


def test_a_run_still_waiting_when_its_next_slot_comes_is_skipped(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    # The key's first run fails and stops it, so the minutely job's run waits on.
    broken = yearly(
        alice,
        title="Broken",
        url=target.url("/status/500"),
        ordering_key="line",
        ordering_on_failure="stop",
    )
    minutely = make_job(
        alice,
        title="Minutely",
        url=target.url("/ok"),
        schedule="* * * * *",
        timezone="UTC",
        ordering_key="line",
    )
    # Not due until the test says (a minute may turn while the processes start).
    Job.objects.filter(id=minutely.id).update(next_run_at=None)

    with Engine(tmp_path) as engine:
        two_workers_and_beat(engine)
        slot = seconds_from_now(2)
        Job.objects.filter(id=broken.id).update(next_run_at=slot)
        Job.objects.filter(id=minutely.id).update(next_run_at=slot + timedelta(seconds=1))
        skipped = engine.wait_until(
            lambda: minutely.executions.filter(status=Status.SKIPPED).first(),
            what="the waiting run to be skipped at its job's next slot",
            seconds=90,
        )

    failed = broken.executions.get()
    assert skipped.scheduled_for == slot + timedelta(seconds=1)
    assert skipped.error == (
        f"Skipped: still waiting on run #{failed.id} of job 'Broken' when its next slot came."
    )
    # Its next slot took its place in the queue, behind the same run.
    (next_run,) = minutely.executions.filter(scheduled_for__gt=skipped.scheduled_for)
    assert (next_run.status, next_run.waiting, next_run.waiting_on_id) == (
        Status.PENDING,
        True,
        failed.id,
    )
    assert [arrival.path for arrival in target.requests] == ["/status/500"]


def test_a_chain_runs_in_order_once_per_run_even_when_the_message_comes_twice(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    a = yearly(alice, title="A", url=target.url("/slow/0.2?job=a"))
    b = make_job(alice, title="B", url=target.url("/ok?job=b"), schedule="", after_job=a)
    c = make_job(alice, title="C", url=target.url("/ok?job=c"), schedule="", after_job=b)

    with Engine(tmp_path) as engine:
        two_workers_and_beat(engine)
        for number in (1, 2):
            now = timezone.now()
            a_run = Execution.objects.create(
                job=a, scheduled_for=now + timedelta(seconds=1), enqueued_at=now
            )
            # The same Celery message, delivered twice (to either worker).
            tick.enqueue([a_run.id])
            tick.enqueue([a_run.id])
            engine.wait_until(
                lambda number=number: c.executions.filter(status__in=FINISHED).count() == number,
                what=f"C's run number {number}",
                seconds=30,
            )

    assert [arrival.query["job"] for arrival in target.requests] == ["a", "b", "c"] * 2
    a_runs, b_runs, c_runs = (list(job.executions.order_by("id")) for job in (a, b, c))
    assert [len(a_runs), len(b_runs), len(c_runs)] == [2, 2, 2]
    assert [run.chained_from for run in b_runs] == a_runs
    assert [run.chained_from for run in c_runs] == b_runs
    for parent, child in [*zip(a_runs, b_runs, strict=True), *zip(b_runs, c_runs, strict=True)]:
        assert child.status == Status.SUCCEEDED
        assert child.sent_at >= parent.finished_at
