"""jobs/engine/chains.py: each final outcome of a job's run triggers exactly one run of each
job set to run after it, through the dispatch tick, however often that outcome is recorded."""

from datetime import timedelta
from functools import partial

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from jobs.chaining import MAX_CHAIN_DEPTH
from jobs.engine import chains, recovery, tick, worker
from jobs.models import Execution, Job
from tests.conftest import make_job, race

Status, Trigger = Execution.Status, Execution.Trigger
pytestmark = pytest.mark.usefixtures("engine_settings")
# Hourly: its next slot is far, so only the runs a test makes reach the target.
# Parents are run by hand (run_slot); their own next slot is far off, so no test that travels
# ahead meets it.
yearly = partial(make_job, schedule="0 0 1 1 *", timezone="UTC", retry_delay_seconds=1)


def after(parent: Job, title: str, url: str, **fields) -> Job:
    """A job with no schedule of its own that runs after `parent`."""
    return make_job(parent.user, title=title, url=url, schedule="", after_job=parent, **fields)


def run_slot(job: Job, capture) -> Execution:
    """A slot of the job, run by a worker as the tick would send it."""
    now = timezone.now()
    slot = Execution.objects.create(job=job, scheduled_for=now, enqueued_at=now)
    with capture(execute=True):
        worker.run_batch([slot.id])
    slot.refresh_from_db()
    return slot


def run_what_the_tick_claims(sent, capture) -> int:
    """One tick, then a worker for each message it sent; how many runs it claimed."""
    already = len(sent)
    with capture(execute=True):
        claimed = tick.tick()
    for message in sent[already:]:
        with capture(execute=True):
            worker.run_batch(message)
    return claimed


def paths(target) -> list[str]:
    return [arrival.path for arrival in target.requests]


def test_a_then_b_then_c_run_in_order_once_per_run_of_a(
    alice, target, sent, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"))
    c = after(b, "C", target.url("/status/201"))

    for _ in range(2):
        a_run = run_slot(a, django_capture_on_commit_callbacks)
        run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)  # B
        run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)  # C

    assert paths(target) == ["/ok", "/status/200", "/status/201"] * 2
    b_runs = list(b.executions.order_by("scheduled_for"))
    c_runs = list(c.executions.order_by("scheduled_for"))
    chain_run = (Trigger.CHAIN, Status.SUCCEEDED)
    assert [(r.trigger, r.status) for r in b_runs + c_runs] == [chain_run] * 4
    assert b_runs[1].chained_from == a_run
    assert [r.chained_from for r in c_runs] == b_runs
    # Each run of a job in the chain started after the one before it had finished.
    assert a_run.finished_at <= b_runs[1].started_at
    assert b_runs[1].finished_at <= c_runs[1].started_at


@pytest.mark.django_db(transaction=True)
def test_a_message_delivered_twice_triggers_the_chain_once(
    alice, target, sent, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"))
    now = timezone.now()
    a_run = Execution.objects.create(job=a, scheduled_for=now, enqueued_at=now)

    # Two workers get the same message at the same moment.
    with django_capture_on_commit_callbacks(execute=True):
        race(lambda: worker.run_batch([a_run.id]))
    run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)
    run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)

    assert paths(target) == ["/ok", "/status/200"]
    assert b.executions.get().chained_from_id == a_run.id


@pytest.mark.django_db(transaction=True)
def test_an_outcome_recorded_twice_triggers_one_run(
    alice, target, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"))
    a_run = run_slot(a, django_capture_on_commit_callbacks)
    assert b.executions.count() == 1

    # The same final outcome recorded again: once more, then by two processes at once.
    chains.trigger([a_run])
    race(lambda: transaction.atomic(chains.trigger)([a_run]))

    assert b.executions.get().chained_from == a_run


def test_only_the_final_outcome_after_retries_triggers_the_chain(
    alice, target, sent, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/status/500"), retries=1)
    b = after(a, "B", target.url("/ok"), after_outcome="failure")

    first = run_slot(a, django_capture_on_commit_callbacks)
    assert first.next_attempt_at is not None
    assert not b.executions.exists()
    # The retry is due within a second or two: a tick a moment later claims it.
    with time_machine.travel(first.next_attempt_at, tick=True):
        run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)  # A's retry
        run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)  # B

    retry = a.executions.get(attempt=2)
    assert paths(target) == ["/status/500", "/status/500", "/ok"]
    assert b.executions.get().chained_from == retry


@pytest.mark.parametrize(
    ("a_path", "triggered"),
    [("/status/200", {"B on success", "D on any"}), ("/status/500", {"C on failure", "D on any"})],
)
def test_after_outcome_picks_which_outcomes_trigger(
    alice, target, sent, django_capture_on_commit_callbacks, a_path, triggered
):
    a = yearly(alice, title="A", url=target.url(a_path))
    after(a, "B on success", target.url("/ok"), after_outcome="success")
    after(a, "C on failure", target.url("/ok"), after_outcome="failure")
    after(a, "D on any", target.url("/ok"), after_outcome="any")

    run_slot(a, django_capture_on_commit_callbacks)
    run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)

    ran = Execution.objects.filter(trigger=Trigger.CHAIN, status=Status.SUCCEEDED)
    assert {run.job.title for run in ran} == triggered


def test_the_delay_is_honoured(alice, target, sent, django_capture_on_commit_callbacks):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"), after_delay_seconds=600)
    a_run = run_slot(a, django_capture_on_commit_callbacks)
    due = a_run.finished_at + timedelta(seconds=600)

    with time_machine.travel(due - timedelta(seconds=30), tick=True):
        assert run_what_the_tick_claims(sent, django_capture_on_commit_callbacks) == 0
    with time_machine.travel(due - timedelta(seconds=2), tick=True):
        assert run_what_the_tick_claims(sent, django_capture_on_commit_callbacks) == 1

    b_run = b.executions.get()
    assert b_run.scheduled_for == due
    assert target.requests[-1].arrived_at >= due
    assert 0 <= b_run.lateness_ms < 5000  # on time, on a busy machine


def test_a_paused_job_is_not_triggered(alice, target, sent, django_capture_on_commit_callbacks):
    a = yearly(alice, title="A", url=target.url("/ok"))
    after(a, "B", target.url("/status/200"), enabled=False)

    run_slot(a, django_capture_on_commit_callbacks)

    assert run_what_the_tick_claims(sent, django_capture_on_commit_callbacks) == 0
    assert paths(target) == ["/ok"]


def test_a_manual_run_of_the_parent_triggers_the_chain_too(
    alice, target, sent, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"))
    now = timezone.now()
    manual = Execution.objects.create(
        job=a, scheduled_for=now, trigger=Trigger.MANUAL, enqueued_at=now
    )
    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch([manual.id])

    run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)

    assert b.executions.get().chained_from == manual


def test_a_run_lost_with_its_worker_triggers_what_runs_after_a_failure(
    alice, target, sent, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"), after_outcome="failure")
    # Claimed by a worker that never came back, long enough ago to count as lost.
    started = timezone.now() - timedelta(minutes=10)
    a_run = Execution.objects.create(
        job=a, scheduled_for=started, status=Status.RUNNING, started_at=started, enqueued_at=started
    )

    with django_capture_on_commit_callbacks(execute=True):
        recovery.sweep()
    run_what_the_tick_claims(sent, django_capture_on_commit_callbacks)

    a_run.refresh_from_db()
    assert a_run.failure_reason == Execution.Reason.WORKER_LOST
    assert b.executions.get().chained_from == a_run
    assert paths(target) == ["/status/200"]


def test_a_loop_made_despite_the_checks_stops_at_the_deepest_chain_allowed(
    alice, target, sent, django_capture_on_commit_callbacks
):
    a = yearly(alice, title="A", url=target.url("/ok"))
    b = after(a, "B", target.url("/status/200"))
    # As two edits at once could leave it: A runs after B, which runs after A.
    Job.objects.filter(id=a.id).update(after_job=b)

    run_slot(a, django_capture_on_commit_callbacks)
    while run_what_the_tick_claims(sent, django_capture_on_commit_callbacks):
        pass

    assert len(target.requests) == 1 + MAX_CHAIN_DEPTH
    deepest = Execution.objects.order_by("-chain_depth").first()
    assert deepest.chain_depth == MAX_CHAIN_DEPTH
