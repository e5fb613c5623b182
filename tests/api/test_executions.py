"""REST API v1 executions: a job's history (/api/v1/jobs/{id}/executions/) and one
execution with its response (/api/v1/executions/{id}/)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from jobs.engine import worker
from jobs.models import Execution, Job
from tests.conftest import make_job

EXECUTION_FIELDS = {
    "id",
    "job",
    "scheduled_for",
    "started_at",
    "sent_at",
    "finished_at",
    "duration_ms",
    "lateness_ms",
    "trigger",
    "status",
    "failure_reason",
    "http_status",
    "response_headers",
    "response_headers_omitted",
    "response_body",
    "response_truncated",
    "error",
    "request",
    "attempt",
    "retry_of",
    "next_attempt_at",
    "chained_from",
    "waiting_on",
}
SLOT = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def finished(alice_job) -> Execution:
    """A run that got a 200 with a body a browser would execute if it were HTML."""
    return Execution.objects.create(
        job=alice_job,
        scheduled_for=SLOT,
        started_at=SLOT + timedelta(milliseconds=40),
        finished_at=SLOT + timedelta(milliseconds=290),
        duration_ms=250,
        lateness_ms=40,
        status=Execution.Status.SUCCEEDED,
        http_status=200,
        response_headers={"Content-Type": "text/html", "X-Request-Id": "abc123"},
        response_body="<script>alert(1)</script>",
    )


def history_url(job: Job) -> str:
    return f"/api/v1/jobs/{job.pk}/executions/"


def test_the_history_is_newest_first_with_every_field(alice_api, alice_job, finished):
    newer = Execution.objects.create(
        job=alice_job,
        scheduled_for=SLOT + timedelta(minutes=5),
        status=Execution.Status.FAILED,
        failure_reason=Execution.Reason.TIMEOUT,
        error="No response within 30 seconds.",
    )
    manual = Execution.objects.create(
        job=alice_job, scheduled_for=SLOT + timedelta(minutes=2), trigger=Execution.Trigger.MANUAL
    )

    response = alice_api.get(history_url(alice_job))

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 3
    assert [row["id"] for row in page["results"]] == [newer.pk, manual.pk, finished.pk]
    assert all(set(row) == EXECUTION_FIELDS for row in page["results"])
    assert page["results"][0] == {
        "id": newer.pk,
        "job": alice_job.pk,
        "scheduled_for": "2026-05-12T10:05:00Z",
        "started_at": None,
        "sent_at": None,
        "finished_at": None,
        "duration_ms": None,
        "lateness_ms": None,
        "trigger": "schedule",
        "status": "failed",
        "failure_reason": "timeout",
        "http_status": None,
        "response_headers": {},
        "response_headers_omitted": 0,
        "response_body": "",
        "response_truncated": False,
        "error": "No response within 30 seconds.",
        "request": None,  # not recorded
        "attempt": 1,
        "retry_of": None,
        "next_attempt_at": None,
        "chained_from": None,
        "waiting_on": None,
    }
    assert page["results"][1]["trigger"] == "manual"
    assert page["results"][1]["status"] == "pending"


def test_the_history_holds_only_that_jobs_executions(alice_api, alice, alice_job, finished):
    other = make_job(alice, title="Other")
    Execution.objects.create(job=other, scheduled_for=SLOT)

    response = alice_api.get(history_url(alice_job))

    assert [row["id"] for row in response.json()["results"]] == [finished.pk]


def test_a_long_history_comes_in_pages(alice_api, alice_job):
    Execution.objects.bulk_create(
        Execution(job=alice_job, scheduled_for=SLOT + timedelta(minutes=5 * number))
        for number in range(51)
    )

    first = alice_api.get(history_url(alice_job)).json()
    second = alice_api.get(first["next"]).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["results"][0]["scheduled_for"] == "2026-05-12T14:10:00Z"
    assert [row["scheduled_for"] for row in second["results"]] == ["2026-05-12T10:00:00Z"]


def test_one_execution_comes_with_its_response(alice_api, finished):
    response = alice_api.get(f"/api/v1/executions/{finished.pk}/")

    assert response.status_code == 200
    execution = response.json()
    assert set(execution) == EXECUTION_FIELDS
    assert execution["status"] == "succeeded"
    assert execution["http_status"] == 200
    assert execution["started_at"] == "2026-05-12T10:00:00.040000Z"
    assert execution["finished_at"] == "2026-05-12T10:00:00.290000Z"
    assert execution["duration_ms"] == 250
    assert execution["lateness_ms"] == 40
    assert execution["response_headers"] == {
        "Content-Type": "text/html",
        "X-Request-Id": "abc123",
    }


def test_an_execution_says_which_request_it_sent(alice_api, alice, target, private_targets):
    job = make_job(
        alice,
        url=target.url("/ok?token=abc123"),
        method="PUT",
        headers={"X-Api-Key": "k3y"},
        body="hello",
    )
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())
    worker.run_batch([execution.id])

    response = alice_api.get(f"/api/v1/executions/{execution.pk}/")

    assert response.status_code == 200
    assert response.json()["request"] == {
        "method": "PUT",
        "url": target.url("/ok?token=••••••"),
        "headers": ["X-Api-Key", "User-Agent", "X-Cronsvc-Execution", "X-Cronsvc-Attempt"],
        "body_size": 5,
        "body_start": "hello",
    }
    assert "k3y" not in response.content.decode()


def test_a_response_body_comes_back_as_the_same_json_string(alice_api, finished):
    response = alice_api.get(f"/api/v1/executions/{finished.pk}/")

    # JSON, so a browser opening the URL shows text; nothing is escaped or dropped.
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert json.loads(response.content)["response_body"] == "<script>alert(1)</script>"
    assert b'"response_body":"<script>alert(1)</script>"' in response.content


def test_a_read_only_key_can_read_executions(alice_read_only_api, finished):
    assert alice_read_only_api.get(f"/api/v1/executions/{finished.pk}/").status_code == 200


def test_there_is_no_list_of_all_executions(alice_api, finished):
    assert alice_api.get("/api/v1/executions/").status_code == 404


def test_an_execution_cannot_be_changed_or_deleted(alice_api, finished):
    url = f"/api/v1/executions/{finished.pk}/"

    assert alice_api.patch(url, {"status": "failed"}, format="json").status_code == 405
    assert alice_api.delete(url).status_code == 405
    assert Execution.objects.get(pk=finished.pk).status == Execution.Status.SUCCEEDED


def test_bob_cannot_read_alices_execution(bob_api, finished):
    response = bob_api.get(f"/api/v1/executions/{finished.pk}/")

    assert response.status_code == 404
    assert "alert" not in response.content.decode()


def test_bob_cannot_read_alices_history(bob_api, alice_job, finished):
    response = bob_api.get(history_url(alice_job))

    assert response.status_code == 404
