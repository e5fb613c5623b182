"""jobs/variables.py: {{unixtime}}, {{scheduled_for}}, {{execution_id}} and {{uuid}} in a job's
URL, header values and body, filled in for each attempt by the worker; checked at save time."""

import json
import time
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from accounts import audit, projects
from accounts.projects import personal_project
from jobs import variables
from jobs.engine import run_now, test_runs, tick, worker
from jobs.models import Execution
from tests.conftest import make_job
from tests.web.test_job_form import job_form_data

pytestmark = pytest.mark.usefixtures("private_targets")
EVERY_VARIABLE = "t={{unixtime}}&at={{scheduled_for}}&id={{execution_id}}&u={{ uuid }}"


def variables_job(alice, target, **fields):
    return make_job(
        alice,
        url=target.url("/echo?" + EVERY_VARIABLE),
        method="POST",
        headers={"X-Request-Id": "{{uuid}}", "X-Plain": "no variables"},
        secret_headers={"X-Secret": "{{uuid}}"},
        body='{"run": "{{execution_id}}", "at": "{{scheduled_for}}"}',
        schedule="0 * * * *",
        timezone="UTC",
        **fields,
    )


def pending(job, **fields) -> Execution:
    now = timezone.now()
    return Execution.objects.create(job=job, scheduled_for=now, enqueued_at=now, **fields)


def test_a_scheduled_run_sends_its_own_values_in_the_url_headers_and_body(alice, target):
    job = variables_job(alice, target)
    execution = pending(job)
    before = int(time.time())

    worker.run_batch([execution.id])

    (arrival,) = target.requests
    assert before <= int(arrival.query["t"]) <= int(time.time())
    assert arrival.query["at"].endswith("Z")
    assert datetime.fromisoformat(arrival.query["at"]) == execution.scheduled_for
    assert arrival.query["id"] == str(execution.id)
    assert str(uuid.UUID(arrival.query["u"])) == arrival.query["u"]
    # One value per attempt: the same uuid wherever it appears in the request.
    assert arrival.headers["X-Request-Id"] == arrival.query["u"]
    assert arrival.headers["X-Plain"] == "no variables"
    # Secrets are sent as the member wrote them.
    assert arrival.headers["X-Secret"] == "{{uuid}}"
    assert json.loads(arrival.body) == {
        "run": str(execution.id),
        "at": arrival.query["at"],
    }
    execution.refresh_from_db()
    assert execution.request["url"].endswith(f"&id={execution.id}&u={arrival.query['u']}")


def test_each_retry_is_an_attempt_with_values_of_its_own(
    alice, target, sent, django_capture_on_commit_callbacks
):
    target.flaky_failures = 1
    job = make_job(
        alice,
        url=target.url("/flaky?id={{execution_id}}&u={{uuid}}"),
        schedule="0 * * * *",
        retries=1,
        retry_delay_seconds=1,
    )
    first = pending(job)

    worker.run_batch([first.id])
    retry = Execution.objects.get(retry_of=first)
    with django_capture_on_commit_callbacks(execute=True):
        tick.claim_retries(timezone.now(), retry.scheduled_for + timedelta(seconds=1))
    worker.run_batch(sent[-1])

    one, two = target.requests
    assert (one.query["id"], two.query["id"]) == (str(first.id), str(retry.id))
    assert one.query["u"] != two.query["u"]
    retry.refresh_from_db()
    assert retry.status == Execution.Status.SUCCEEDED


def test_a_run_now_fills_them_in(alice, target):
    job = variables_job(alice, target)

    execution = run_now.run_now(job)
    worker.run_batch([execution.id])

    (arrival,) = target.requests
    assert arrival.query["id"] == str(execution.id)


def test_a_signed_request_signs_the_body_as_filled_in(alice, target):
    project = personal_project(alice)
    actor = audit.Actor(user=alice, via=audit.Via.WEB)
    secret = projects.new_signing_secret(project, by=actor)
    job = variables_job(alice, target, sign_requests=True)
    execution = pending(job)

    worker.run_batch([execution.id])

    (arrival,) = target.requests
    verified = Webhook(secret).verify(arrival.body, dict(arrival.headers))
    assert verified["run"] == str(execution.id)


def test_a_test_run_shows_the_request_it_sent_with_the_values(alice_api, alice, target):
    job = variables_job(alice, target)

    started = alice_api.post(f"/api/v1/jobs/{job.id}/test-run/", {}, format="json").json()
    test_runs.send(started["id"])
    shown = alice_api.get(started["url"]).json()

    (arrival,) = target.requests
    assert arrival.query["id"] == f"test-run-{started['id']}"
    assert shown["request"]["url"].endswith(f"id=test-run-{started['id']}&u={arrival.query['u']}")
    assert shown["request"]["body_start"] == arrival.body.decode()


def test_the_test_run_page_shows_the_request_it_sent(alice_client, alice, target):
    job = variables_job(alice, target)
    test_run = test_runs.start(job, by=alice)
    test_runs.send(test_run.id)

    page = alice_client.get(f"/jobs/test-runs/{test_run.id}/").content.decode()

    (arrival,) = target.requests
    assert f"id=test-run-{test_run.id}&amp;u={arrival.query['u']}" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "https://example.com/?t={{unixtme}}"),
        ("headers", {"X-Run": "{{foo}}"}),
        ("body", "{{ foo }} and {{unixtime}}"),
    ],
)
def test_an_unknown_variable_is_a_400_on_its_field(alice_api, field, value):
    job = {"title": "t", "url": "https://example.com/", "schedule": "@daily", field: value}

    response = alice_api.post("/api/v1/jobs/", job, format="json")

    assert response.status_code == 400
    (message,) = response.json()[field]
    assert "Unknown variable {{" in message
    assert "the variables are {{unixtime}}, {{scheduled_for}}" in message
    assert not alice_api.get("/api/v1/jobs/").json()["count"]


@pytest.mark.parametrize(
    "url",
    [
        "https://{{uuid}}.example.com/",
        "https://example.com:{{unixtime}}/",
        "https://user:{{uuid}}@example.com/",
    ],
)
def test_a_variable_in_the_host_part_of_the_url_is_a_400(alice_api, url):
    job = {"title": "t", "url": url, "schedule": "@daily"}

    response = alice_api.post("/api/v1/jobs/", job, format="json")

    assert response.status_code == 400
    assert response.json()["url"] == [
        "Variables cannot be used in the host part of the URL; put them in its path or query."
    ]


def test_the_job_form_names_an_unknown_variable(alice_client):
    data = job_form_data(url="https://example.com/?t={{foo}}")

    response = alice_client.post("/jobs/new/", data)

    assert response.status_code == 200
    assert "Unknown variable {{foo}}" in response.content.decode()


def test_secret_headers_may_hold_braces(alice_api):
    job = {"title": "t", "url": "https://example.com/", "schedule": "@daily"}
    job["secret_headers"] = {"X-Key": "{{not-a-variable}}"}

    assert alice_api.post("/api/v1/jobs/", job, format="json").status_code == 201


def test_a_request_without_variables_is_handed_on_as_it_is():
    headers = {"X-Plain": "value"}
    at = timezone.now()

    url, sent_headers, body = variables.filled(
        "https://example.com/", headers, "body", execution_id="1", scheduled_for=at
    )

    assert sent_headers is headers
    assert (url, body) == ("https://example.com/", "body")
