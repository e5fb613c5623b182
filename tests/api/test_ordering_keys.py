"""/api/v1/ordering-keys/: the project's keys with their queues, and resuming a stopped one."""

from datetime import UTC, datetime
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEntry
from jobs.engine import tick
from jobs.models import Execution, Job, OrderingKey
from tests.conftest import make_job

KEYS = "/api/v1/ordering-keys/"
SLOT = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
minutely = partial(make_job, schedule="* * * * *", timezone="UTC")
pytestmark = pytest.mark.usefixtures("fresh_limits", "engine_settings")


@pytest.fixture
def billing(alice, sent, django_capture_on_commit_callbacks) -> list[Job]:
    """Two jobs on "billing" and one on "reports", ticked at their slot: billing's first
    run released, its second waiting."""
    with time_machine.travel(SLOT.replace(second=30, minute=59, hour=11), tick=False) as clock:
        jobs = [
            minutely(alice, title=title, ordering_key=key)
            for title, key in [("Charge", "billing"), ("Invoice", "billing"), ("Daily", "reports")]
        ]
        minutely(alice, title="Unkeyed")
        clock.move_to(SLOT)
        with django_capture_on_commit_callbacks(execute=True):
            tick.tick()
    return jobs


def run_of(job: Job) -> Execution:
    return job.executions.get()


def test_it_lists_the_projects_keys_with_their_queues(alice_api, billing):
    charge, invoice, daily = billing

    response = alice_api.get(KEYS)

    assert response.status_code == 200
    assert response.json() == [
        {
            "key": "billing",
            "stopped": False,
            "stopped_at": None,
            "stopped_by": None,
            "running": run_of(charge).id,
            "waiting": 1,
            "jobs": [charge.id, invoice.id],
        },
        {
            "key": "reports",
            "stopped": False,
            "stopped_at": None,
            "stopped_by": None,
            "running": run_of(daily).id,
            "waiting": 0,
            "jobs": [daily.id],
        },
    ]


def test_a_waiting_run_names_the_run_it_waits_on(alice_api, billing):
    charge, invoice, _ = billing

    execution = alice_api.get(f"/api/v1/executions/{run_of(invoice).id}/").json()

    assert (execution["status"], execution["waiting_on"]) == ("pending", run_of(charge).id)


def test_resuming_a_stopped_key_lets_its_next_run_go(alice_api, billing):
    charge, invoice, _ = billing
    failed = run_of(charge)
    Execution.objects.filter(id=failed.id).update(
        status=Execution.Status.FAILED, finished_at=timezone.now()
    )
    OrderingKey.objects.filter(name="billing").update(stopped_at=timezone.now(), stopped_by=failed)
    assert alice_api.get(KEYS).json()[0]["stopped_by"] == failed.id

    response = alice_api.post(f"{KEYS}billing/resume/")

    assert response.status_code == 200
    assert response.json()["stopped"] is False
    assert response.json()["running"] == run_of(invoice).id
    assert not run_of(invoice).waiting
    assert AuditEntry.objects.filter(action="ordering_key.resumed").exists()


def test_resuming_a_key_that_is_not_stopped_changes_nothing(alice_api, billing):
    response = alice_api.post(f"{KEYS}billing/resume/")

    assert response.status_code == 200
    assert response.json()["waiting"] == 1
    assert not AuditEntry.objects.filter(action="ordering_key.resumed").exists()


def test_a_key_no_job_has_is_not_found(alice_api, billing):
    assert alice_api.post(f"{KEYS}nothing-here/resume/").status_code == 404


def test_bob_sees_nothing_of_alices_keys(bob_api, billing):
    assert bob_api.get(KEYS).json() == []
    assert bob_api.post(f"{KEYS}billing/resume/").status_code == 404


def test_a_read_only_key_cannot_resume(alice_read_only_api, billing):
    assert alice_read_only_api.get(KEYS).status_code == 200
    assert alice_read_only_api.post(f"{KEYS}billing/resume/").status_code == 403


def test_a_job_takes_a_key_and_what_a_failure_does(alice_api):
    response = alice_api.post(
        "/api/v1/jobs/",
        {
            "title": "Charge",
            "url": "http://127.0.0.1:9/charge",
            "schedule": "@hourly",
            "ordering_key": "billing:eu",
            "ordering_on_failure": "stop",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["ordering_key"], response.json()["ordering_on_failure"]) == (
        "billing:eu",
        "stop",
    )
    assert alice_api.get(KEYS).json()[0]["key"] == "billing:eu"


def test_the_list_costs_the_same_however_many_keys_and_runs(alice_api, alice, billing):
    alice_api.get(KEYS)  # the key's use is recorded now, not again within minutes
    with CaptureQueriesContext(connection) as few:
        assert len(alice_api.get(KEYS).json()) == 2
    for n in range(20):
        job = minutely(alice, title=f"More {n}", ordering_key=f"more-{n}")
        Execution.objects.create(job=job, scheduled_for=SLOT, waiting=True)

    with CaptureQueriesContext(connection) as many:
        assert len(alice_api.get(KEYS).json()) == 22

    assert len(many) == len(few)
