"""jobs/engine/ordering.py: runs of jobs sharing an ordering key go one at a time, in order
of scheduled time then job id, retries included; `stop` halts the key until resumed; a run
still waiting when its job's next slot comes is skipped."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Delivery
from jobs.engine import ordering, recovery, tick, worker
from jobs.models import Execution, HealthChange, Job, OrderingKey
from tests.conftest import make_channel, make_job, many_jobs

Status = Execution.Status
pytestmark = pytest.mark.usefixtures("engine_settings")
# Every job here is due at SLOT and every minute after.
BEFORE = datetime(2026, 5, 12, 11, 59, 30, tzinfo=UTC)
SLOT = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
minutely = partial(make_job, schedule="* * * * *", timezone="UTC", retry_delay_seconds=1)


@pytest.fixture
def clock():
    with time_machine.travel(BEFORE, tick=True) as traveller:
        yield traveller


def keyed(user, title: str, url: str, key: str = "billing", **fields) -> Job:
    return minutely(user, title=title, url=url, ordering_key=key, **fields)


def tick_and_run(sent, capture) -> list[int]:
    """One tick, then each message sent run by a worker, and the messages those runs set
    off in turn (a released run is sent when its predecessor's outcome commits); the
    execution ids sent, in order."""
    already = len(sent)
    with capture(execute=True):
        tick.tick()
    return run_messages(sent, capture, already)


def run_messages(sent, capture, start: int) -> list[int]:
    done = start
    while done < len(sent):
        with capture(execute=True):
            worker.run_batch(sent[done])
        done += 1
    return [id_ for message in sent[start:] for id_ in message]


def run_of(job: Job, slot: datetime = SLOT) -> Execution:
    return job.executions.get(scheduled_for=slot, attempt=1)


def test_runs_sharing_a_key_go_one_at_a_time_in_order_of_job_id(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    jobs = [keyed(alice, f"Step {n}", target.url(f"/status/20{n}")) for n in range(3)]
    clock.move_to(SLOT)

    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()

    # Only the first job's run went; the others wait, pointing at it.
    assert sent == [[run_of(jobs[0]).id]]
    waiting = [run_of(job) for job in jobs[1:]]
    assert [(e.status, e.waiting, e.waiting_on_id) for e in waiting] == [
        (Status.PENDING, True, run_of(jobs[0]).id)
    ] * 2
    # Each is sent once the previous one's outcome is recorded, one message each.
    assert run_messages(sent, django_capture_on_commit_callbacks, 0) == [
        run_of(job).id for job in jobs
    ]
    assert tick_and_run(sent, django_capture_on_commit_callbacks) == []

    assert [arrival.path for arrival in target.requests] == [
        "/status/200",
        "/status/201",
        "/status/202",
    ]
    runs = [run_of(job) for job in jobs]
    assert [run.status for run in runs] == [Status.SUCCEEDED] * 3
    assert runs[0].finished_at <= runs[1].sent_at and runs[1].finished_at <= runs[2].sent_at
    assert not any(run.waiting or run.waiting_on_id for run in runs)


def test_an_earlier_slot_goes_before_a_lower_job_id(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    hourly = keyed(alice, "Hourly", target.url("/status/200"), schedule="0 * * * *")
    late = keyed(alice, "Late", target.url("/status/201"))
    # The first job's run waits behind the second job's run of an earlier second.
    Job.objects.filter(id=hourly.id).update(next_run_at=SLOT + timedelta(seconds=5))
    clock.move_to(SLOT)

    ran = tick_and_run(sent, django_capture_on_commit_callbacks)

    assert ran == [run_of(late).id, run_of(hourly, SLOT + timedelta(seconds=5)).id]
    assert [arrival.path for arrival in target.requests] == ["/status/201", "/status/200"]


def test_a_retry_holds_the_key_until_the_final_outcome(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    flaky = keyed(alice, "Flaky", target.url("/status/503"), retries=1)
    after = keyed(alice, "After", target.url("/status/200"))
    clock.move_to(SLOT)

    tick_and_run(sent, django_capture_on_commit_callbacks)
    first = run_of(flaky)
    assert first.status == Status.FAILED and first.next_attempt_at is not None
    assert run_of(after).waiting
    # The retry goes, and only its final outcome lets the next run go.
    with time_machine.travel(first.next_attempt_at, tick=True):
        ran = tick_and_run(sent, django_capture_on_commit_callbacks)
    assert ran == [flaky.executions.get(attempt=2).id, run_of(after).id]
    assert [arrival.path for arrival in target.requests] == ["/status/503"] * 2 + ["/status/200"]


def test_a_failure_continues_the_queue_by_default(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    keyed(alice, "Broken", target.url("/status/500"))
    after = keyed(alice, "After", target.url("/status/200"))
    clock.move_to(SLOT)

    tick_and_run(sent, django_capture_on_commit_callbacks)
    tick_and_run(sent, django_capture_on_commit_callbacks)

    assert run_of(after).status == Status.SUCCEEDED
    assert not OrderingKey.objects.get(name="billing").is_stopped


def test_stop_halts_the_key_alerts_and_resumes(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    channel = make_channel(alice, url=target.url("/hook"), is_default=True)
    broken = keyed(alice, "Broken", target.url("/status/500"), ordering_on_failure="stop")
    after = keyed(alice, "After", target.url("/status/200"))
    other = keyed(alice, "Other key", target.url("/status/201"), key="reports")
    clock.move_to(SLOT)

    tick_and_run(sent, django_capture_on_commit_callbacks)
    tick_and_run(sent, django_capture_on_commit_callbacks)

    failed = run_of(broken)
    key = OrderingKey.objects.get(name="billing")
    assert failed.status == Status.FAILED
    assert (key.is_stopped, key.stopped_by_id) == (True, failed.id)
    # The later run waits on the failed one; the other key ran meanwhile.
    waiting = run_of(after)
    assert (waiting.status, waiting.waiting, waiting.waiting_on_id) == (
        Status.PENDING,
        True,
        failed.id,
    )
    assert run_of(other).status == Status.SUCCEEDED
    stopped = HealthChange.objects.get(kind=HealthChange.Kind.STOPPED)
    assert (stopped.job, stopped.execution) == (broken, failed)
    assert Delivery.objects.filter(kind=Delivery.Kind.STOPPED, channel=channel).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        resumed = ordering.resume(broken.project, "billing")
    assert resumed is not None and not resumed.is_stopped
    assert sent[-1] == [run_of(after).id]
    run_messages(sent, django_capture_on_commit_callbacks, len(sent) - 1)

    assert run_of(after).status == Status.SUCCEEDED
    assert sorted(arrival.path for arrival in target.requests if arrival.path != "/hook") == [
        "/status/200",
        "/status/201",
        "/status/500",
    ]


def test_a_run_still_waiting_when_its_next_slot_comes_is_skipped(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    slow = keyed(alice, "Slow", target.url("/status/200"))
    waiter = keyed(alice, "Waiter", target.url("/status/201"))
    clock.move_to(SLOT)
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()  # Slow's run is released and sent; no worker runs it yet
    holder = run_of(slow)

    # The next slot is claimed 15 s ahead of it, with Slow's run still unfinished.
    clock.move_to(SLOT + timedelta(seconds=50))
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()

    skipped = run_of(waiter)
    assert skipped.status == Status.SKIPPED
    assert skipped.error == (
        f"Skipped: still waiting on run #{holder.id} of job 'Slow' when its next slot came."
    )
    assert not skipped.waiting
    # Its next run took its place in the queue.
    assert run_of(waiter, SLOT + timedelta(minutes=1)).waiting


def test_a_run_lost_with_its_worker_hands_the_key_on(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    lost = keyed(alice, "Lost", target.url("/status/200"))
    after = keyed(alice, "After", target.url("/status/201"))
    clock.move_to(SLOT)
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()
    run = run_of(lost)
    Execution.objects.filter(id=run.id).update(
        status=Status.RUNNING, started_at=SLOT, claimed_by="worker@gone"
    )

    with django_capture_on_commit_callbacks(execute=True):
        recovery.finish_lost([Execution.objects.get(id=run.id)], timezone.now())
    assert run_of(lost).failure_reason == Execution.Reason.WORKER_LOST

    assert sent[-1] == [run_of(after).id]


def test_a_paused_jobs_released_run_is_skipped_and_hands_the_key_on(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    paused = keyed(alice, "Paused", target.url("/status/200"))
    after = keyed(alice, "After", target.url("/status/201"))
    clock.move_to(SLOT)
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()
    Job.objects.filter(id=paused.id).update(enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch(sent[-1])

    assert run_of(paused).status == Status.SKIPPED
    assert sent[-1] == [run_of(after).id]


def test_a_job_that_leaves_its_key_lets_its_waiting_run_go(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    keyed(alice, "Holder", target.url("/status/200"))
    leaving = keyed(alice, "Leaving", target.url("/status/201"))
    clock.move_to(SLOT)
    with django_capture_on_commit_callbacks(execute=True):
        tick.tick()
    assert run_of(leaving).waiting

    leaving = Job.objects.get(id=leaving.id)  # as the form or the API load it
    leaving.ordering_key = ""
    leaving.save()
    ran = tick_and_run(sent, django_capture_on_commit_callbacks)

    assert ran == [run_of(leaving).id]
    assert run_of(leaving).status == Status.SUCCEEDED


def test_keys_of_other_projects_do_not_share_a_queue(
    alice, bob, clock, target, sent, django_capture_on_commit_callbacks
):
    mine = keyed(alice, "Mine", target.url("/status/200"))
    theirs = keyed(bob, "Theirs", target.url("/status/201"))
    clock.move_to(SLOT)

    sent_ids = tick_and_run(sent, django_capture_on_commit_callbacks)

    assert sorted(sent_ids) == sorted([run_of(mine).id, run_of(theirs).id])


def test_a_keyed_chain_run_takes_its_turn(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    parent = minutely(alice, title="Parent", url=target.url("/status/200"))
    first = keyed(alice, "First", target.url("/status/201"))
    child = make_job(
        alice,
        title="Child",
        url=target.url("/status/202"),
        schedule="",
        after_job=parent,
        ordering_key="billing",
    )
    clock.move_to(SLOT)

    # Parent and First run; First holds the key when the parent's outcome writes the
    # chain run, which waits for First's outcome.
    tick_and_run(sent, django_capture_on_commit_callbacks)
    tick_and_run(sent, django_capture_on_commit_callbacks)

    chain_run = child.executions.get()
    assert chain_run.status == Status.SUCCEEDED
    assert chain_run.sent_at >= run_of(first).finished_at


def test_jobs_without_a_key_never_touch_the_ordering_tables(
    alice, clock, target, sent, django_capture_on_commit_callbacks
):
    many_jobs(alice, 20, url=target.url("/status/200"), timezone="UTC", next_run_at=SLOT)
    clock.move_to(SLOT)

    with CaptureQueriesContext(connection) as queries:
        tick_and_run(sent, django_capture_on_commit_callbacks)

    assert Execution.objects.filter(status=Status.SUCCEEDED).count() == 20
    assert not [query["sql"] for query in queries if "orderingkey" in query["sql"]]
