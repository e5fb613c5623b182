"""jobs/engine/run_now.py: Run now records a manual execution, queues it, and is limited
per minute."""

from datetime import UTC, datetime
from functools import partial

import pytest
from kombu.exceptions import OperationalError

from jobs.engine import run_now, tick, worker
from jobs.models import Execution, Job
from tests.conftest import frozen_at, make_job

NOW = datetime(2026, 5, 12, 10, 0, 30, tzinfo=UTC)
Status, Trigger = Execution.Status, Execution.Trigger
# The API's own throttle counts live in the cache.
pytestmark = pytest.mark.usefixtures("engine_settings", "fresh_limits")
clock = frozen_at(NOW)
rebuild_site = partial(
    make_job, title="Rebuild site", url="http://127.0.0.1:9/", schedule="0 3 * * *", timezone="UTC"
)


def run(path: str) -> str:
    return f"/api/v1/jobs/{path}/run/"


def test_it_records_a_pending_manual_execution_and_queues_it_after_commit(
    alice, clock, sent, django_capture_on_commit_callbacks
):
    job = rebuild_site(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        execution = run_now.run_now(job)

    assert sent == []
    execution.refresh_from_db()
    assert (execution.trigger, execution.status) == (Trigger.MANUAL, Status.PENDING)
    assert execution.scheduled_for == execution.enqueued_at == NOW
    callbacks[0]()
    assert sent == [[execution.id]]


def test_a_manual_run_leaves_the_schedule_alone(alice, clock):
    job = rebuild_site(alice)
    next_run_at = job.next_run_at

    run_now.run_now(job)

    job.refresh_from_db()
    assert job.next_run_at == next_run_at


def test_a_manual_run_is_sent_at_once(alice, target):
    job = rebuild_site(alice)
    Job.objects.filter(id=job.id).update(url=target.url("/ok"))
    job.refresh_from_db()

    execution = run_now.run_now(job)
    worker.run_batch([execution.id])

    assert len(target.requests) == 1
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert 0 <= execution.lateness_ms < 5000


def test_more_manual_runs_a_minute_than_allowed_are_refused(alice, bob, clock, settings):
    settings.MANUAL_RUNS_PER_MINUTE = 3
    first, second = rebuild_site(alice), rebuild_site(alice, title="Second")
    for job in (first, second, first):
        clock.shift(1)
        run_now.run_now(job)

    with pytest.raises(run_now.TooManyRuns, match="At most 3 manual runs a minute"):
        run_now.run_now(second)

    assert Execution.objects.filter(trigger=Trigger.MANUAL).count() == 3
    # The limit is alice's: bob's runs are counted apart.
    run_now.run_now(rebuild_site(bob, title="Bob's job"))


def test_the_limit_frees_up_after_a_minute(alice, clock, settings):
    settings.MANUAL_RUNS_PER_MINUTE = 2
    job = rebuild_site(alice)
    run_now.run_now(job)
    clock.shift(1)
    run_now.run_now(job)

    clock.shift(59)
    with pytest.raises(run_now.TooManyRuns):
        run_now.run_now(job)
    clock.shift(1)

    run_now.run_now(job)
    assert job.executions.count() == 3


def test_scheduled_runs_do_not_count_against_the_limit(alice, clock, settings):
    settings.MANUAL_RUNS_PER_MINUTE = 1
    job = rebuild_site(alice)
    Execution.objects.create(job=job, scheduled_for=NOW.replace(second=0))

    run_now.run_now(job)

    assert job.executions.count() == 2


def test_the_api_accepts_a_run_with_202_and_the_execution(alice_api, alice, clock, sent):
    job = rebuild_site(alice)

    response = alice_api.post(run(job.id))

    assert response.status_code == 202
    body = response.json()
    execution = Execution.objects.get()
    assert body["id"] == execution.id
    assert (body["job"], body["trigger"], body["status"]) == (job.id, "manual", "pending")


def test_the_api_answers_429_past_the_limit(alice_api, alice, clock, sent):
    job = rebuild_site(alice)
    for _ in range(10):
        clock.shift(1)
        assert alice_api.post(run(job.id)).status_code == 202

    response = alice_api.post(run(job.id))

    assert response.status_code == 429
    assert "At most 10 manual runs a minute" in response.json()["detail"]
    assert job.executions.count() == 10


def test_bob_cannot_run_alices_job(bob_api, alice, clock, sent):
    job = rebuild_site(alice)

    response = bob_api.post(run(job.id))

    assert response.status_code == 404
    assert not Execution.objects.exists()


def test_with_the_broker_away_the_run_is_still_accepted_for_the_sweep_to_send(
    transactional_db, alice_api, alice, monkeypatch
):
    def unreachable(name: str, args: list) -> None:
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(tick.celery_app, "send_task", unreachable)
    job = rebuild_site(alice)

    response = alice_api.post(run(job.id))

    assert response.status_code == 202
    execution = Execution.objects.get()
    assert (execution.trigger, execution.status) == (Trigger.MANUAL, Status.PENDING)
    assert execution.enqueued_at is not None  # the sweep re-sends it after REQUEUE_AFTER_SECONDS
