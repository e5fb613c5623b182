"""jobs/engine/worker.py: a batch is claimed once, each request leaves on its second, results
are kept."""

import base64
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection
from django.utils import timezone

from jobs.engine import health, recovery, worker
from jobs.models import Execution, Job
from jobs.outbound import http
from ops.models import Heartbeat
from tests.conftest import closing_connection, make_job, race
from tests.target import Target

Status, Trigger = Execution.Status, Execution.Trigger
# The target runs on 127.0.0.1; tests/engine/test_faults.py covers the guard.
pytestmark = pytest.mark.usefixtures("private_targets")
ping = partial(make_job, title="Ping", schedule="* * * * *", timeout_seconds=5, timezone="UTC")


def pending(job: Job, *, seconds_ago: float = 1, **fields) -> Execution:
    """A pending execution as the dispatcher leaves it, for a slot `seconds_ago` back."""
    now = timezone.now()
    slot = now.replace(microsecond=0) - timedelta(seconds=seconds_ago)
    return Execution.objects.create(job=job, scheduled_for=slot, enqueued_at=now, **fields)


def status_of(execution: Execution) -> str:
    return Execution.objects.values_list("status", flat=True).get(pk=execution.pk)


def execution_ids(target: Target) -> list[int]:
    return [int(arrival.headers[http.EXECUTION_HEADER]) for arrival in target.requests]


def test_it_sends_the_jobs_request_and_records_the_response(alice, target):
    job = ping(
        alice,
        url=target.url("/echo?from=cronsvc"),
        method="POST",
        headers={"X-Token": "abc123", "Content-Type": "application/json"},
        body='{"report": "nightly"}',
        auth_username="alice",
        auth_password="s3cret",
    )
    execution = pending(job)

    worker.run_batch([execution.id])

    (arrival,) = target.requests
    assert (arrival.method, arrival.path, arrival.query) == ("POST", "/echo", {"from": "cronsvc"})
    assert arrival.headers["X-Token"] == "abc123"
    assert arrival.headers["Content-Type"] == "application/json"
    assert arrival.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert arrival.headers[http.EXECUTION_HEADER] == str(execution.id)
    assert arrival.headers["User-Agent"].startswith("cronsvc/")
    assert arrival.body == b'{"report": "nightly"}'

    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert (execution.http_status, execution.failure_reason, execution.error) == (200, "", "")
    assert execution.started_at >= execution.scheduled_for
    assert execution.finished_at >= execution.started_at
    assert execution.duration_ms >= 0
    assert execution.lateness_ms >= 1000  # its slot was a second ago
    assert json.loads(execution.response_body)["body"] == '{"report": "nightly"}'
    assert execution.response_headers["Content-Type"].startswith("application/json")
    assert not execution.response_truncated
    assert "connect_ms" in execution.timings
    job.refresh_from_db()
    assert job.last_execution_id == execution.id


def test_a_status_outside_2xx_is_a_failure_with_its_reason(alice, target):
    execution = pending(ping(alice, url=target.url("/status/503")))

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert execution.status == Status.FAILED
    assert (execution.http_status, execution.failure_reason) == (503, "http_status")
    assert execution.error == "Got HTTP 503, expected 2xx."
    assert execution.response_body == "Status 503"


def test_an_expected_status_outside_2xx_is_a_success(alice, target):
    job = ping(alice, url=target.url("/status/418"), expected_statuses=[418])
    execution = pending(job)

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.http_status) == (Status.SUCCEEDED, 418)


def test_running_the_same_batch_twice_sends_one_request_per_execution(alice, target):
    executions = [pending(ping(alice, url=target.url("/ok"), title=f"Ping {n}")) for n in range(3)]
    ids = [e.id for e in executions]

    worker.run_batch(ids)
    worker.run_batch(ids)

    assert sorted(execution_ids(target)) == ids
    assert set(Execution.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_two_workers_given_the_same_batch_at_once_send_each_request_once(
    transactional_db, alice, target
):
    executions = [pending(ping(alice, url=target.url("/ok"), title=f"Ping {n}")) for n in range(5)]
    ids = [e.id for e in executions]

    race(lambda: worker.run_batch(ids), seconds=30)

    assert sorted(execution_ids(target)) == ids
    assert set(Execution.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_only_pending_executions_are_run(alice, target):
    job = ping(alice, url=target.url("/ok"))
    running = pending(job, seconds_ago=120, status=Status.RUNNING)
    finished = pending(job, seconds_ago=60, status=Status.SUCCEEDED)
    missed = pending(job, seconds_ago=180, status=Status.MISSED)

    worker.run_batch([running.id, finished.id, missed.id])

    assert target.requests == []
    statuses = dict(Execution.objects.values_list("id", "status"))
    assert statuses == {
        running.id: Status.RUNNING,
        finished.id: Status.SUCCEEDED,
        missed.id: Status.MISSED,
    }


def test_a_paused_jobs_queued_run_is_skipped(alice, target):
    job = ping(alice, url=target.url("/ok"))
    execution = pending(job)
    health.set_enabled(job, False)

    worker.run_batch([execution.id])

    assert target.requests == []
    execution.refresh_from_db()
    assert execution.status == Status.SKIPPED
    assert execution.error == "Skipped: the job was paused before this run."
    assert execution.finished_at is not None


def test_a_manual_run_of_a_paused_job_goes_ahead(alice, target):
    job = ping(alice, url=target.url("/ok"), enabled=False)
    execution = pending(job, trigger=Trigger.MANUAL)

    worker.run_batch([execution.id])

    assert execution_ids(target) == [execution.id]
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED


# Invariant 3: executions of one job never overlap.


def test_a_slot_that_comes_while_the_previous_run_is_running_is_skipped(alice, target):
    job = ping(alice, url=target.url("/ok"))
    previous = pending(job, seconds_ago=60, status=Status.RUNNING, started_at=timezone.now())
    execution = pending(job)

    worker.run_batch([execution.id])

    assert target.requests == []
    execution.refresh_from_db()
    assert execution.status == Status.SKIPPED
    assert execution.error == "Skipped: the previous execution was still running."
    previous.refresh_from_db()
    assert previous.status == Status.RUNNING


def test_two_runs_of_one_job_in_a_batch_do_not_overlap(alice, target):
    job = ping(alice, url=target.url("/ok"))
    catch_up = pending(job, seconds_ago=60, trigger=Trigger.CATCH_UP)
    manual = pending(job, trigger=Trigger.MANUAL)

    worker.run_batch([catch_up.id, manual.id])

    assert len(target.requests) == 1
    statuses = sorted(Execution.objects.values_list("status", flat=True))
    assert statuses == [Status.SKIPPED, Status.SUCCEEDED]


def test_it_fires_no_earlier_than_the_scheduled_second(alice, target):
    job = ping(alice, url=target.url("/ok"))
    # Claimed ahead, as the dispatcher does: the slot is a second or two away.
    execution = pending(job, seconds_ago=-2)

    worker.run_batch([execution.id])

    (arrival,) = target.requests
    assert arrival.arrived_at >= execution.scheduled_for
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert execution.lateness_ms >= 0
    assert execution.started_at >= execution.scheduled_for


def test_a_batch_fires_its_requests_side_by_side(alice, target):
    # Five requests the target answers after a second each.
    jobs = [ping(alice, url=target.url("/slow/1"), title=f"Slow {n}") for n in range(5)]
    ids = [pending(job).id for job in jobs]

    worker.run_batch(ids)

    arrivals = sorted(arrival.arrived_at for arrival in target.requests)
    assert len(arrivals) == 5
    # All five were in flight together: the last arrived before the first could be answered.
    assert arrivals[-1] - arrivals[0] < timedelta(seconds=1)
    assert set(Execution.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_a_fast_result_is_recorded_while_a_slow_one_is_still_in_flight(
    transactional_db, alice, target
):
    fast = pending(ping(alice, url=target.url("/ok"), title="Fast"))
    slow = pending(ping(alice, url=target.url("/slow/3"), title="Slow"))

    with ThreadPoolExecutor(1) as pool:
        batch = pool.submit(closing_connection(worker.run_batch), [fast.id, slow.id])
        deadline = time.monotonic() + 10
        while status_of(fast) in (Status.PENDING, Status.RUNNING) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Recorded (so its retries and alerts can follow) before the slow one answered.
        assert status_of(fast) == Status.SUCCEEDED
        assert status_of(slow) == Status.RUNNING
        batch.result()

    assert status_of(slow) == Status.SUCCEEDED


def test_a_request_that_cannot_be_built_fails_alone(alice, target, settings):
    broken = ping(alice, url=target.url("/ok"), title="Broken", auth_username="alice")
    # Its password was encrypted with a key the service no longer has.
    Job.objects.filter(id=broken.id).update(auth_password_encrypted="not-a-fernet-token")
    fine = ping(alice, url=target.url("/ok"), title="Fine")
    broken_run, fine_run = pending(broken), pending(fine)

    worker.run_batch([broken_run.id, fine_run.id])

    assert execution_ids(target) == [fine_run.id]
    broken_run.refresh_from_db()
    assert (broken_run.status, broken_run.failure_reason) == (Status.FAILED, "internal")
    assert "InvalidToken" in broken_run.error
    fine_run.refresh_from_db()
    assert fine_run.status == Status.SUCCEEDED


def test_running_an_empty_or_unknown_batch_does_nothing(db, target):
    worker.run_batch([])
    worker.run_batch([123456789])

    assert target.requests == []


def test_a_catch_up_run_found_weeks_late_is_still_recorded(alice, target):
    # E.g. a lost message re-sent by the recovery sweep after a long outage.
    execution = pending(
        ping(alice, url=target.url("/ok")), seconds_ago=40 * 24 * 3600, trigger=Trigger.CATCH_UP
    )

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert execution.lateness_ms == worker.MAX_LATENESS_MS


def lock_waiters() -> int:
    """Database sessions of this test database waiting for a lock another one holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_runs_of_one_job_claimed_by_two_workers_at_once_do_not_overlap(
    transactional_db, alice, monkeypatch
):
    # A manual run and the job's slot arrive in two messages, at two workers, together.
    job = ping(alice, url="http://127.0.0.1:9/")
    manual, scheduled = pending(job, trigger=Trigger.MANUAL), pending(job, seconds_ago=2)
    holding, release = threading.Event(), threading.Event()
    skip_reason = worker.skip_reason

    def skip_reason_slowly(execution: Execution, busy: set[int]) -> str:
        # The first claim stops after it found the job idle, before it commits.
        if threading.current_thread().name.startswith("first") and not holding.is_set():
            holding.set()
            release.wait(timeout=30)
        return skip_reason(execution, busy)

    monkeypatch.setattr(worker, "skip_reason", skip_reason_slowly)
    claim = closing_connection(worker.claim)

    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="first") as first_pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="second") as second_pool,
    ):
        first = first_pool.submit(claim, [manual.id])
        try:
            assert holding.wait(timeout=30)
            second = second_pool.submit(claim, [scheduled.id])
            # The second claim either finishes, or waits for the first: no blind sleep.
            deadline = time.monotonic() + 30
            while not second.done() and not lock_waiters() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            release.set()
            first.result(timeout=30)
        second.result(timeout=30)

    statuses = dict(Execution.objects.values_list("id", "status"))
    assert statuses == {manual.id: Status.RUNNING, scheduled.id: Status.SKIPPED}


# A worker held up past its slots, and the runs of workers that died.


def test_a_slot_found_past_the_missed_limit_at_fire_time_is_missed_and_caught_up_once(
    alice, target, sent, settings, django_capture_on_commit_callbacks
):
    settings.MISSED_AFTER_SECONDS = 60
    job = ping(alice, url=target.url("/ok"))
    stale = pending(job, seconds_ago=61)

    with django_capture_on_commit_callbacks(execute=True):
        worker.run_batch([stale.id])
        worker.run_batch([stale.id])  # a duplicate message changes nothing

    stale.refresh_from_db()
    assert (stale.status, stale.missed_count) == (Status.MISSED, 1)
    held_up = re.match(r"Not sent: its worker was held up until (\d+) s after", stale.error)
    assert held_up and int(held_up[1]) >= 61
    assert target.requests == []
    (catch_up,) = job.executions.filter(trigger=Trigger.CATCH_UP)
    assert sent == [[catch_up.id]]
    assert not job.health_changes.exists()  # not the target's failure


def test_a_slot_within_the_missed_limit_is_sent_late_with_its_lateness(alice, target, settings):
    settings.MISSED_AFTER_SECONDS = 60
    execution = pending(ping(alice, url=target.url("/ok")), seconds_ago=30)

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert execution.sent_at >= execution.scheduled_for + timedelta(seconds=30)
    assert execution.lateness_ms >= 30_000


def claimed_by(job: Job, instance: str, *, seen_ago: float, started_ago: float) -> Execution:
    """A running execution whose worker last proved alive `seen_ago` seconds back."""
    now = timezone.now()
    Heartbeat.record("worker:w@test", now - timedelta(seconds=seen_ago), instance=instance)
    started = now - timedelta(seconds=started_ago)
    return Execution.objects.create(
        job=job,
        scheduled_for=started,
        status=Status.RUNNING,
        started_at=started,
        claimed_by=instance,
    )


def test_a_run_left_by_a_dead_worker_does_not_hold_up_the_next_slot(alice, target):
    job = ping(alice, url=target.url("/ok"))
    # Its worker was seen after the run's second (it may have sent it), then went silent.
    abandoned = claimed_by(job, "worker:w@test/1/dead", seen_ago=30, started_ago=40)
    slot = pending(job)

    worker.run_batch([slot.id])

    abandoned.refresh_from_db()
    slot.refresh_from_db()
    assert (abandoned.status, abandoned.failure_reason) == (Status.FAILED, "worker_lost")
    assert "may already have received it" in abandoned.error
    assert slot.status == Status.SUCCEEDED
    assert [Execution.objects.get(id=e).id for e in execution_ids(target)] == [slot.id]


def test_a_slow_but_live_workers_run_keeps_its_job_busy(alice, target):
    job = ping(alice, url=target.url("/ok"))
    running = claimed_by(job, "worker:w@test/1/alive", seen_ago=0, started_ago=240)
    slot = pending(job)

    worker.run_batch([slot.id])

    running.refresh_from_db()
    slot.refresh_from_db()
    assert running.status == Status.RUNNING
    assert (slot.status, slot.error) == (
        Status.SKIPPED,
        "Skipped: the previous execution was still running.",
    )
    assert target.requests == []


def test_results_come_too_late_for_a_run_the_sweep_finished(alice, target):
    job = ping(alice, url=target.url("/ok"))
    execution = pending(job)
    (claimed,) = worker.claim([execution.id])
    # Taken for dead meanwhile: its run is finished as lost, and counted once.
    Execution.objects.filter(id=execution.id).update(claimed_by="worker:w@test/1/gone")
    recovery.finish_lost([Execution.objects.get(id=execution.id)], timezone.now())
    outcome = http.Outcome(
        started_at=timezone.now(), finished_at=timezone.now(), succeeded=True, http_status=200
    )

    worker.record_results([claimed], [outcome])

    execution.refresh_from_db()
    assert (execution.status, execution.failure_reason) == (Status.FAILED, "worker_lost")
    job.refresh_from_db()
    assert job.consecutive_failures == 1


# What an execution keeps of the response


@pytest.mark.parametrize("kib", [0, 1, 8, 64])
def test_an_execution_keeps_as_much_of_the_body_as_its_job_chooses(alice, target, kib: int):
    execution = pending(ping(alice, url=target.url("/big/100000"), response_body_kib=kib))

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.http_status) == (Status.SUCCEEDED, 200)
    assert execution.response_body == "x" * (kib * 1024)
    assert execution.response_truncated


def test_an_execution_keeps_at_most_100_response_headers_of_16_kib(alice, target):
    many = pending(ping(alice, url=target.url("/headers/150/10")))
    large = pending(ping(alice, title="Large", url=target.url("/headers/20/4000")))

    worker.run_batch([many.id, large.id])

    for execution in (many, large):
        execution.refresh_from_db()
        assert execution.status == Status.SUCCEEDED
        headers = execution.response_headers
        assert len(headers) <= http.MAX_RESPONSE_HEADERS
        assert sum(len(name) + len(value) for name, value in headers.items()) <= 16 * 1024
        assert execution.response_headers_omitted > 0
    assert len(many.response_headers) == 100
    assert len(large.response_headers) == 4
