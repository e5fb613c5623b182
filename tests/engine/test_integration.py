"""The engine end to end: real beat and worker processes, PostgreSQL, Redis and a local target."""

import base64
import json
from collections import Counter
from datetime import datetime
from functools import partial

import pytest

from jobs.models import Execution, HealthChange, Job
from jobs.outbound import http
from tests.conftest import arrivals_by_execution, make_job, seconds_from_now
from tests.processes import Engine, flush_broker

pytestmark = pytest.mark.slow
Status = Execution.Status
FINISHED = [Status.SUCCEEDED, Status.FAILED, Status.SKIPPED]
# Once a year: nothing runs unless a test moves next_run_at (cron slots are whole minutes).
YEARLY = "0 0 1 1 *"
yearly_report = partial(make_job, schedule=YEARLY, timeout_seconds=10, timezone="UTC")


def test_a_job_due_in_a_few_seconds_is_called_once_and_recorded(
    transactional_db, alice, target, tmp_path
):
    flush_broker()  # nothing left over from another run
    job = yearly_report(
        alice,
        url=target.url("/echo?source=cronsvc"),
        method="POST",
        headers={"X-Token": "abc123", "Content-Type": "application/json"},
        body='{"report": "nightly"}',
        auth_username="reporter",
        auth_password="s3cret",
    )

    with Engine(tmp_path) as engine:
        engine.start_worker()
        engine.start_beat()
        slot = seconds_from_now(3)
        Job.objects.filter(id=job.id).update(next_run_at=slot)

        execution = engine.wait_until(
            lambda: job.executions.filter(status__in=FINISHED).first(),
            what="the execution to finish",
        )

    (arrival,) = target.requests
    assert (arrival.method, arrival.path, arrival.query) == ("POST", "/echo", {"source": "cronsvc"})
    assert arrival.headers["X-Token"] == "abc123"
    assert arrival.headers["Content-Type"] == "application/json"
    credentials = base64.b64encode(b"reporter:s3cret").decode()
    assert arrival.headers["Authorization"] == f"Basic {credentials}"
    assert arrival.body == b'{"report": "nightly"}'
    assert arrival.headers[http.EXECUTION_HEADER] == str(execution.id)
    # Claimed ahead of its second by the tick, fired on it.
    assert arrival.arrived_at >= slot

    assert execution.status == Status.SUCCEEDED
    assert (execution.scheduled_for, execution.trigger) == (slot, Execution.Trigger.SCHEDULE)
    assert (execution.http_status, execution.failure_reason) == (200, "")
    assert 0 <= execution.lateness_ms < 2000
    assert execution.duration_ms >= 0
    assert execution.finished_at >= execution.started_at >= slot
    echoed = json.loads(execution.response_body)
    assert (echoed["method"], echoed["body"]) == ("POST", '{"report": "nightly"}')
    assert execution.response_headers["Content-Type"].startswith("application/json")

    assert job.executions.count() == 1
    job.refresh_from_db()
    assert job.last_execution_id == execution.id
    assert job.next_run_at == datetime(slot.year + 1, 1, 1, tzinfo=slot.tzinfo)


def test_jobs_due_on_the_same_second_each_run_once_and_failures_are_recorded(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    good = [yearly_report(alice, url=target.url("/ok"), title=f"Good {n}") for n in range(20)]
    bad = yearly_report(alice, url=target.url("/status/500"), title="Bad")

    # Small messages, so the batch is spread over several and both threads of the worker.
    with Engine(tmp_path, EXECUTIONS_PER_MESSAGE="6") as engine:
        engine.start_worker(concurrency=2)
        engine.start_beat()
        slot = seconds_from_now(3)
        Job.objects.update(next_run_at=slot)

        engine.wait_until(
            lambda: Execution.objects.filter(status__in=FINISHED).count() == 21,
            what="21 finished executions",
        )

    assert arrivals_by_execution(target) == Counter(
        {id_: 1 for id_ in Execution.objects.values_list("id", flat=True)}
    )
    assert all(arrival.arrived_at >= slot for arrival in target.requests)
    statuses = Counter(Execution.objects.values_list("status", flat=True))
    assert statuses == {Status.SUCCEEDED: 20, Status.FAILED: 1}
    assert Execution.objects.filter(job__in=good, scheduled_for=slot).count() == 20
    failed = bad.executions.get()
    assert (failed.http_status, failed.failure_reason) == (500, "http_status")
    (change,) = HealthChange.objects.all()
    assert (change.job_id, change.kind, change.execution_id) == (bad.id, "failing", failed.id)
