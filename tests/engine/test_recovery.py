"""jobs/engine/recovery.py: lost messages are sent again, runs whose worker died are finished."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import time_machine

from alerts import delivery
from jobs.engine import recovery, tasks, worker
from jobs.models import Execution, HealthChange, Job
from ops.models import Heartbeat
from tests.conftest import make_job, race

NOW = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
Status = Execution.Status
Kind = HealthChange.Kind
# DISPATCH_HORIZON_SECONDS + the longest timeout + a margin (jobs/engine/recovery.py).
ABANDONED_AFTER = timedelta(seconds=15 + 30 + 60)
pytestmark = pytest.mark.usefixtures("engine_settings")
ping = partial(
    make_job, title="Ping", url="http://127.0.0.1:9/", schedule="* * * * *", timezone="UTC"
)


def execution(job: Job, *, slot: datetime = NOW, **fields) -> Execution:
    return Execution.objects.create(job=job, scheduled_for=slot, **fields)


def lost(job: Job, *, minutes: int = 0) -> Execution:
    """Pending, its message sent two minutes before NOW and never picked up."""
    slot = NOW - timedelta(minutes=2) + timedelta(minutes=minutes)
    return execution(job, slot=slot, enqueued_at=NOW - timedelta(minutes=2))


def sweep(django_capture_on_commit_callbacks, now: datetime = NOW) -> recovery.SweepReport:
    with django_capture_on_commit_callbacks(execute=True):
        return recovery.sweep(now=now)


def test_a_pending_execution_whose_message_was_lost_is_queued_again(
    alice, sent, django_capture_on_commit_callbacks
):
    pending = lost(ping(alice))

    report = sweep(django_capture_on_commit_callbacks)

    assert (report.requeued, report.abandoned) == (1, 0)
    assert sent.ids == [pending.id]
    pending.refresh_from_db()
    assert (pending.status, pending.enqueued_at) == (Status.PENDING, NOW)


def test_it_is_queued_only_after_the_sweep_commits(alice, sent, django_capture_on_commit_callbacks):
    pending = lost(ping(alice))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        recovery.sweep(now=NOW)

    assert sent.ids == []
    callbacks[0]()
    assert sent.ids == [pending.id]


def test_a_recently_queued_execution_is_left_alone(alice, sent, django_capture_on_commit_callbacks):
    queued_at = NOW - timedelta(seconds=59)
    pending = execution(ping(alice), enqueued_at=queued_at)

    assert sweep(django_capture_on_commit_callbacks).requeued == 0

    assert sent.ids == []
    pending.refresh_from_db()
    assert pending.enqueued_at == queued_at


def test_a_lost_execution_is_queued_again_once(alice, sent, django_capture_on_commit_callbacks):
    pending = lost(ping(alice))

    sweep(django_capture_on_commit_callbacks)
    # The next sweep, half a minute later: the new message may simply not be picked up yet.
    report = sweep(django_capture_on_commit_callbacks, NOW + timedelta(seconds=30))

    assert report.requeued == 0
    assert sent.ids == [pending.id]


def test_lost_executions_go_earliest_slot_first_in_shared_messages(
    alice, sent, django_capture_on_commit_callbacks
):
    jobs = [ping(alice, title=f"Ping {n}") for n in range(3)]
    later, earlier, middle = (lost(job, minutes=m) for job, m in zip(jobs, [2, 0, 1], strict=True))

    assert sweep(django_capture_on_commit_callbacks).requeued == 3

    assert sent.ids == [earlier.id, middle.id, later.id]


def test_a_requeued_execution_still_runs_only_once(
    alice, target, sent, django_capture_on_commit_callbacks
):
    pending = lost(ping(alice, url=target.url("/ok")))
    sweep(django_capture_on_commit_callbacks)

    # The original message was only late after all: both it and the new one arrive,
    # in time for the slot (a slot found a minute late would be missed instead).
    with time_machine.travel(pending.scheduled_for + timedelta(seconds=10), tick=True):
        worker.run_batch([pending.id])
        worker.run_batch(sent.ids)

    assert len(target.requests) == 1
    pending.refresh_from_db()
    assert pending.status == Status.SUCCEEDED


def test_finished_executions_are_not_touched(alice, sent, django_capture_on_commit_callbacks):
    job = ping(alice)
    long_ago = NOW - timedelta(hours=1)
    for minutes, status in enumerate([Status.SUCCEEDED, Status.FAILED, Status.SKIPPED]):
        execution(
            job,
            slot=long_ago + timedelta(minutes=minutes),
            status=status,
            enqueued_at=long_ago,
            started_at=long_ago,
        )
    execution(job, slot=long_ago - timedelta(minutes=1), status=Status.MISSED, missed_count=3)

    report = sweep(django_capture_on_commit_callbacks)

    assert (report.requeued, report.abandoned) == (0, 0)
    assert sent.ids == []


def test_a_run_whose_worker_died_is_finished_as_failed_and_not_sent_again(
    alice, target, sent, django_capture_on_commit_callbacks
):
    job = ping(alice, url=target.url("/ok"))
    started = NOW - ABANDONED_AFTER - timedelta(seconds=1)
    running = execution(job, status=Status.RUNNING, started_at=started, enqueued_at=started)

    report = sweep(django_capture_on_commit_callbacks)

    assert (report.requeued, report.abandoned) == (0, 1)
    running.refresh_from_db()
    assert (running.status, running.failure_reason) == (Status.FAILED, "worker_lost")
    assert running.finished_at == NOW
    assert "not sent again" in running.error
    assert sent.ids == []
    # Even if its message comes back, nothing is sent.
    worker.run_batch([running.id])
    assert target.requests == []


def test_runs_abandoned_by_a_killed_worker_make_the_job_failing_then_disabled_once_each(
    alice, sent, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.AUTO_DISABLE_AFTER = 2
    job = ping(alice)
    started = NOW - ABANDONED_AFTER - timedelta(minutes=5)
    for minute in range(3):
        slot = started + timedelta(minutes=minute)
        execution(job, slot=slot, status=Status.RUNNING, started_at=slot, enqueued_at=slot)

    assert sweep(django_capture_on_commit_callbacks).abandoned == 3
    assert sweep(django_capture_on_commit_callbacks).abandoned == 0
    assert sent.alerts == 1
    delivery.deliver_pending()

    job.refresh_from_db()
    assert (job.failing, job.enabled, job.consecutive_failures) == (True, False, 3)
    changes = list(job.health_changes.values_list("kind", "failures_in_a_row"))
    assert changes == [(Kind.FAILING, 1), (Kind.DISABLED, 2)]
    assert [message.subject for message in mailoutbox] == [
        "Failing: Ping",
        "Disabled: Ping",
    ]
    assert "The worker stopped while running this execution" in mailoutbox[0].body


def test_a_run_still_within_its_time_is_left_running(
    alice, sent, django_capture_on_commit_callbacks
):
    # Claimed ahead of its second, then up to the longest timeout: not abandoned yet.
    started = NOW - ABANDONED_AFTER + timedelta(seconds=1)
    running = execution(ping(alice), status=Status.RUNNING, started_at=started)

    assert sweep(django_capture_on_commit_callbacks).abandoned == 0

    running.refresh_from_db()
    assert running.status == Status.RUNNING


def test_sweeping_twice_changes_nothing_more(alice, sent, django_capture_on_commit_callbacks):
    job = ping(alice)
    lost(job)
    started = NOW - timedelta(minutes=10)
    abandoned = execution(
        job, slot=NOW - timedelta(minutes=10), status=Status.RUNNING, started_at=started
    )
    sweep(django_capture_on_commit_callbacks)
    abandoned.refresh_from_db()
    finished_at = abandoned.finished_at

    report = sweep(django_capture_on_commit_callbacks, NOW + timedelta(seconds=1))

    assert (report.requeued, report.abandoned) == (0, 0)
    assert len(sent.ids) == 1
    abandoned.refresh_from_db()
    assert abandoned.finished_at == finished_at


def test_two_sweeps_at_once_queue_each_lost_execution_once(transactional_db, alice, sent):
    job_ids = [ping(alice, title=f"Ping {n}").id for n in range(50)]
    for job in Job.objects.filter(id__in=job_ids):
        lost(job)
        execution(
            job,
            slot=NOW - timedelta(minutes=10),
            status=Status.RUNNING,
            started_at=NOW - timedelta(minutes=10),
        )

    reports = race(lambda: recovery.sweep(now=NOW), seconds=30)

    assert sum(report.requeued for report in reports) == 50
    assert sum(report.abandoned for report in reports) == 50
    assert sorted(sent.ids) == sorted(
        Execution.objects.filter(status=Status.PENDING).values_list("id", flat=True)
    )
    assert len(set(sent.ids)) == 50


def test_the_celery_task_runs_the_sweep(alice, sent, django_capture_on_commit_callbacks):
    pending = execution(ping(alice), enqueued_at=datetime(2020, 1, 1, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.recover()

    assert sent.ids == [pending.id]


def test_a_run_whose_worker_died_before_its_second_is_missed_and_caught_up_once(
    alice, sent, django_capture_on_commit_callbacks
):
    job = ping(alice)
    # Claimed ahead of its second; the worker's heartbeats stop 3 s before it.
    slot = NOW - timedelta(seconds=30)
    Heartbeat.record("worker:w@test", slot - timedelta(seconds=3), instance="worker:w@test/1/a")
    claimed = execution(
        job,
        slot=slot,
        status=Status.RUNNING,
        started_at=slot - timedelta(seconds=10),
        claimed_by="worker:w@test/1/a",
    )

    report = sweep(django_capture_on_commit_callbacks)

    assert report.abandoned == 1
    claimed.refresh_from_db()
    assert (claimed.status, claimed.failure_reason, claimed.missed_count) == (Status.MISSED, "", 1)
    assert claimed.error == (
        "Not sent: its worker stopped (last seen 11:59:27 UTC) before this run's second came, "
        "so the target did not receive it."
    )
    (catch_up,) = job.executions.filter(trigger=Execution.Trigger.CATCH_UP)
    assert sent.ids == [catch_up.id]
    assert not job.health_changes.exists()
    assert sweep(django_capture_on_commit_callbacks).abandoned == 0


def test_a_live_workers_run_is_left_however_long_it_takes(
    alice, sent, django_capture_on_commit_callbacks
):
    job = ping(alice)
    Heartbeat.record("worker:w@test", NOW, instance="worker:w@test/1/a")
    started = NOW - timedelta(minutes=5)
    running = execution(
        job, slot=started, status=Status.RUNNING, started_at=started, claimed_by="worker:w@test/1/a"
    )

    assert sweep(django_capture_on_commit_callbacks).abandoned == 0
    running.refresh_from_db()
    assert running.status == Status.RUNNING
    # Ten heartbeats missed, and it is taken for dead.
    assert sweep(django_capture_on_commit_callbacks, now=NOW + timedelta(seconds=11)).abandoned == 1
