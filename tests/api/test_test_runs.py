"""The API's test runs: POST answers 202 at once with where to poll, a worker sends the
request, and GET /api/v1/test-runs/{id}/ then shows what came back."""

import pytest

from jobs.engine import test_runs
from jobs.models import Execution, Job, TestRun
from tests.conftest import basic, make_job
from tests.web.test_job_form import job_form_data

NEW = "/api/v1/jobs/test-run/"
pytestmark = pytest.mark.usefixtures("fresh_limits", "private_targets")


def job_fields(**fields: object) -> dict:
    return {"title": "Report", "url": "http://127.0.0.1:9/", "schedule": "@daily", **fields}


def send_and_read(api, started: dict) -> dict:
    """What polling shows once a worker has sent it (here the function its task calls)."""
    test_runs.send(started["id"])
    response = api.get(started["url"])
    assert response.status_code == 200
    return response.json()


def test_it_answers_202_with_where_to_poll_and_sends_nothing_itself(alice_api, target):
    response = alice_api.post(NEW, job_fields(url=target.url("/ok")), format="json")

    assert response.status_code == 202
    started = response.json()
    test_run = TestRun.objects.get()
    poll = f"http://testserver/api/v1/test-runs/{test_run.id}/"
    assert started == {"id": test_run.id, "status": "pending", "url": poll}
    assert response["Location"] == poll
    assert target.requests == []
    assert not Job.objects.exists()


def test_polling_shows_pending_then_the_result(alice_api, target):
    started = alice_api.post(NEW, job_fields(url=target.url("/html")), format="json").json()

    pending = alice_api.get(started["url"]).json()
    assert (pending["status"], pending["http_status"], pending["finished_at"]) == (
        "pending",
        None,
        None,
    )

    done = send_and_read(alice_api, started)

    assert done["status"] == "done"
    assert (done["succeeded"], done["http_status"], done["failure_reason"]) == (True, 200, "")
    assert done["response_body"] == "<script>alert(1)</script>"
    assert done["response_headers"]["Content-Type"].startswith("text/html")
    assert done["target_url"] == target.url("/html")
    assert done["url"] == started["url"]
    assert not Execution.objects.exists()


def test_it_sends_the_fields_given(alice_api, target):
    fields = job_fields(
        url=target.url("/echo"),
        method="POST",
        headers={"X-Purpose": "test run"},
        secret_headers={"X-Token": "s3cret"},
        body="hello",
        auth_username="robot",
        auth_password="hunter2",
        assertions=[{"kind": "body_contains", "value": "nowhere"}],
    )

    started = alice_api.post(NEW, fields, format="json").json()
    done = send_and_read(alice_api, started)

    (arrival,) = target.requests
    assert (arrival.method, arrival.body) == ("POST", b"hello")
    assert arrival.headers["X-Purpose"] == "test run"
    assert arrival.headers["X-Token"] == "s3cret"
    assert arrival.headers["Authorization"] == basic("robot", "hunter2")
    assert (done["succeeded"], done["failure_reason"]) == (False, "assertion")
    assert done["assertion_results"][0]["passed"] is False


def test_bad_fields_are_a_400_per_field_and_record_nothing(alice_api):
    response = alice_api.post(NEW, job_fields(url="ftp://example.com/", schedule="61 * * * *"))

    assert response.status_code == 400
    assert set(response.json()) == {"url", "schedule"}
    assert not TestRun.objects.exists()


def test_a_saved_job_is_sent_as_saved_with_its_credentials(alice_api, alice, target):
    job = make_job(alice, url=target.url("/echo"), auth_username="robot")
    job.auth_password = "hunter2"
    job.save()

    response = alice_api.post(f"/api/v1/jobs/{job.id}/test-run/", {}, format="json")

    assert response.status_code == 202
    send_and_read(alice_api, response.json())
    (arrival,) = target.requests
    assert arrival.headers["Authorization"] == basic("robot", "hunter2")


def test_fields_given_for_a_saved_job_change_this_run_only(alice_api, alice, target):
    job = make_job(alice, url=target.url("/ok"))

    started = alice_api.post(
        f"/api/v1/jobs/{job.id}/test-run/", {"url": target.url("/echo"), "method": "PUT"}
    ).json()
    send_and_read(alice_api, started)

    (arrival,) = target.requests
    assert (arrival.method, arrival.path) == ("PUT", "/echo")
    job.refresh_from_db()
    assert (job.url, job.method) == (target.url("/ok"), "GET")


def test_the_sixth_in_a_minute_is_a_429_and_counts_with_the_form(alice_api, alice_client, target):
    for _ in range(4):
        assert alice_api.post(NEW, job_fields(), format="json").status_code == 202
    alice_client.post("/jobs/test-run/", {})  # an invalid form is not counted
    assert alice_client.post("/jobs/test-run/", job_form_data()).status_code == 200

    response = alice_api.post(NEW, job_fields(), format="json")

    assert response.status_code == 429
    assert response.json()["detail"].startswith("At most 5 test runs a minute.")
    assert response["Retry-After"] == "60"
    assert TestRun.objects.count() == 5


def test_a_read_only_key_cannot_start_one(alice_read_only_api):
    assert alice_read_only_api.post(NEW, job_fields(), format="json").status_code == 403
    assert not TestRun.objects.exists()
