"""One execution's page: the request as sent (secrets hidden), the response's headers and
body (escaped), timings; only for the job's owner."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from django.utils import timezone

from jobs.engine import worker
from jobs.models import Execution, Job
from tests.conftest import make_job, page_text

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SLOT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


# A request full of secrets for the page to hide.
secretive_job = partial(
    make_job,
    url="https://example.com/report?page=2&token=abc123",
    method="POST",
    headers={
        "Authorization": "Bearer s3cr3t-bearer",
        "X-Api-Key": "k3y-value",
        "Accept": "application/json",
    },
    body='{"report": "nightly"}',
    auth_username="reporter",
    auth_password="hunter2-password",
)


def make_execution(job: Job, **fields: object) -> Execution:
    return Execution.objects.create(
        **{
            "job": job,
            "scheduled_for": SLOT,
            "status": Execution.Status.FAILED,
            "started_at": SLOT + timedelta(milliseconds=70),
            "sent_at": SLOT + timedelta(milliseconds=85),
            "finished_at": SLOT + timedelta(milliseconds=497),
            "duration_ms": 412,
            "lateness_ms": 85,
            "failure_reason": Execution.Reason.HTTP_STATUS,
            "http_status": 500,
            "response_headers": {"Content-Type": "text/html", "X-Note": "<b>bold</b>"},
            "response_body": SCRIPT,
            "timings": {"dns_ms": 3, "connect_ms": 12, "first_byte_ms": 80},
            **fields,
        }
    )


@pytest.fixture
def execution(alice) -> Execution:
    return make_execution(secretive_job(alice))


def test_it_needs_a_login(client, execution):
    response = client.get(f"/jobs/executions/{execution.id}/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_bob_gets_404_for_alices_execution(client, bob, execution):
    client.force_login(bob)

    assert client.get(f"/jobs/executions/{execution.id}/").status_code == 404


def test_a_missing_execution_is_404(alice_client, execution):
    assert alice_client.get(f"/jobs/executions/{execution.id + 1000}/").status_code == 404


def test_it_shows_the_outcome_and_timings_in_the_jobs_timezone(alice_client, execution):
    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert "Execution Failed · 500 When" in page  # the heading says the status once
    assert "Scheduled for Tue 10 Mar 2026, 10:00:00 CET" in page
    assert "Trigger Schedule" in page
    assert "Started 10:00:00.070 Sent 10:00:00.085 Late by 85 ms" in page
    assert "Duration 412 ms" in page
    assert "DNS resolved after 3 ms Connected after 12 ms First byte after 80 ms" in page
    assert execution.get_failure_reason_display() in page


def sent_by_the_worker(job: Job) -> Execution:
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())
    worker.run_batch([execution.id])
    execution.refresh_from_db()
    return execution


def test_it_shows_the_request_as_sent_with_secrets_hidden(
    alice_client, alice, target, private_targets
):
    job = secretive_job(alice, url=target.url("/report?page=2&token=abc123"))
    job.secret_headers = {"X-Custom": "very-private-value"}
    job.save()
    execution = sent_by_the_worker(job)
    # What was sent stays on the page after the job changes.
    job.url, job.method, job.body = target.url("/elsewhere"), "GET", ""
    job.save()

    response = alice_client.get(f"/jobs/executions/{execution.id}/")
    page = page_text(response)

    sent = target.url("/report?page=2&token=••••••")
    assert f"Request (as sent; secrets hidden) POST {sent} " in page
    names = page.partition(" Headers ")[2].partition(" Body ")[0]
    assert set(names.split(", ")) == {
        "Authorization",  # basic auth, in place of the member's own
        "X-Api-Key",
        "Accept",
        "X-Custom",
        "User-Agent",
        "X-Cronsvc-Execution",
        "X-Cronsvc-Attempt",
    }
    assert 'Body 21 bytes {"report": "nightly"}' in page
    content = response.content.decode()
    for secret in ("s3cr3t-bearer", "k3y-value", "hunter2-password", "abc123", "very-private"):
        assert secret not in content
    assert "/elsewhere" not in content


def test_a_password_in_the_url_is_hidden(alice_client, alice, target, private_targets):
    url = target.url("/report").replace("http://", "http://reporter:pa55word@")
    execution = sent_by_the_worker(secretive_job(alice, url=url))

    response = alice_client.get(f"/jobs/executions/{execution.id}/")

    assert f"POST {url.replace('pa55word', '••••••')}" in page_text(response)
    assert "pa55word" not in response.content.decode()


def test_a_long_body_shows_its_size_and_start(alice_client, alice, target, private_targets):
    execution = sent_by_the_worker(secretive_job(alice, url=target.url("/ok"), body="é" * 300))

    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert f"Body 600 bytes {'é' * 100} " in page


def test_an_execution_from_before_requests_were_recorded_says_so(alice_client, execution):
    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert "Request (as sent; secrets hidden) Not recorded." in page


def test_the_response_headers_and_body_are_escaped(alice_client, execution):
    response = alice_client.get(f"/jobs/executions/{execution.id}/")
    content = response.content.decode()

    assert ESCAPED in content
    assert SCRIPT not in content
    assert "X-Note: &lt;b&gt;bold&lt;/b&gt;" in content
    assert "Content-Type: text/html" in page_text(response)


def test_a_truncated_body_says_so(alice_client, alice):
    execution = make_execution(secretive_job(alice), response_truncated=True)

    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert "Body (cut: only its start was kept):" in page


def test_an_error_without_a_response_is_shown(alice_client, alice):
    execution = make_execution(
        secretive_job(alice),
        failure_reason=Execution.Reason.TIMEOUT,
        http_status=None,
        error="No response within 30 s.",
        response_headers={},
        response_body="",
    )

    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert "No response within 30 s." in page
    assert "Body: (empty)" in page


def test_a_real_response_from_the_target_is_escaped_on_the_page_and_unchanged_in_the_api(
    alice_client, alice_api, alice, target, private_targets
):
    job = make_job(alice, title="Page", url=target.url("/html"), schedule="* * * * *")
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    execution.refresh_from_db()
    assert (execution.status, execution.http_status) == (Execution.Status.SUCCEEDED, 200)
    page = alice_client.get(f"/jobs/executions/{execution.id}/").content.decode()
    assert ESCAPED in page
    assert SCRIPT not in page
    assert "text/html" in page
    api = alice_api.get(f"/api/v1/executions/{execution.id}/")
    assert api.status_code == 200
    assert api.json()["response_body"] == SCRIPT
    assert api.json()["response_headers"]["Content-Type"].startswith("text/html")


@pytest.mark.usefixtures("private_targets")
def test_response_headers_past_the_cap_are_counted_on_the_page(alice_client, alice, target):
    job = make_job(alice, url=target.url("/headers/150/10"))
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())
    worker.run_batch([execution.id])
    execution.refresh_from_db()

    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert page.count("X-Header-") == 100
    omitted = execution.response_headers_omitted
    assert omitted >= 50
    assert f"{omitted} more headers not kept: at most 100 headers, 16 KiB in all, are kept." in page


def test_a_body_the_job_does_not_keep_says_so(alice_client, alice):
    execution = make_execution(
        secretive_job(alice, response_body_kib=0), response_body="", response_truncated=True
    )

    page = page_text(alice_client.get(f"/jobs/executions/{execution.id}/"))

    assert "Body: not kept (the job keeps none)." in page
    assert "(empty)" not in page
