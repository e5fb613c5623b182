"""A job's page: its schedule in words, the next runs and the latest executions."""

import re
from datetime import UTC, datetime, timedelta

from jobs.models import Execution
from tests.conftest import frozen_at, html_text, labelled_rows, make_job, page_text

# The Friday before Berlin's clocks go forward (Sunday 29 March 2026, 02:00 → 03:00).
NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
clock = frozen_at(NOW)


def next_runs(response: object) -> list[str]:
    (runs,) = re.findall(r'<ol class="next-runs">(.*?)</ol>', response.content.decode(), re.DOTALL)
    return [html_text(run) for run in re.findall(r"<li[^>]*>(.*?)</li>", runs, re.DOTALL)]


def test_it_needs_a_login(client, alice):
    job = make_job(alice)

    response = client.get(f"/jobs/{job.id}/")

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next=/jobs/{job.id}/"


def test_it_shows_the_schedule_in_words_and_the_next_three_runs_in_the_jobs_timezone(
    alice_client, alice, clock
):
    job = make_job(alice)

    response = alice_client.get(f"/jobs/{job.id}/")

    assert response.status_code == 200
    assert "Schedule At 09:00 0 9 * * * , Europe/Berlin Next runs:" in page_text(response)
    assert next_runs(response) == [
        "Sat 28 Mar 2026, 09:00 CET",
        "Sun 29 Mar 2026, 09:00 CEST",
        "Mon 30 Mar 2026, 09:00 CEST",
    ]


def test_the_next_runs_follow_the_job_not_the_member(alice_client, alice, clock):
    job = make_job(alice, schedule="*/20 * * * *", timezone="America/New_York")

    response = alice_client.get(f"/jobs/{job.id}/")

    assert "Every 20 minutes" in page_text(response)
    assert next_runs(response) == [
        "Fri 27 Mar 2026, 08:20 EDT",
        "Fri 27 Mar 2026, 08:40 EDT",
        "Fri 27 Mar 2026, 09:00 EDT",
    ]


def test_a_paused_job_says_it_is_paused_and_lists_no_runs(alice_client, alice, clock):
    job = make_job(alice, enabled=False)

    response = alice_client.get(f"/jobs/{job.id}/")

    assert "Paused: it does not run until you resume it." in page_text(response)
    assert 'class="next-runs"' not in response.content.decode()
    assert "Resume" in page_text(response)


def test_runs_after_the_expiry_are_not_listed(alice_client, alice, clock):
    job = make_job(alice, expires_at=datetime(2026, 3, 29, 8, 0, tzinfo=UTC))

    response = alice_client.get(f"/jobs/{job.id}/")

    assert next_runs(response) == ["Sat 28 Mar 2026, 09:00 CET", "Sun 29 Mar 2026, 09:00 CEST"]
    assert "Stops after 29 Mar 2026, 10:00 CEST." in page_text(response)


def test_an_expired_job_says_it_has_no_more_runs(alice_client, alice, clock):
    job = make_job(alice, expires_at=datetime(2026, 3, 27, 13, 0, tzinfo=UTC))

    assert next_runs(alice_client.get(f"/jobs/{job.id}/")) == ["none (expired)"]


def test_it_lists_the_latest_executions_with_status_and_lateness(alice_client, alice, clock):
    job = make_job(alice)
    slot = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
    Execution.objects.create(
        job=job,
        scheduled_for=slot - timedelta(days=1),
        status=Execution.Status.SUCCEEDED,
        http_status=200,
        lateness_ms=85,
        duration_ms=412,
    )
    Execution.objects.create(
        job=job,
        scheduled_for=slot,
        status=Execution.Status.FAILED,
        failure_reason=Execution.Reason.TIMEOUT,
        lateness_ms=1250,
        duration_ms=30000,
    )
    Execution.objects.create(
        job=job,
        scheduled_for=slot + timedelta(hours=3, seconds=12),
        trigger=Execution.Trigger.MANUAL,
    )

    response = alice_client.get(f"/jobs/{job.id}/")

    shown = ["Scheduled for", "Trigger", "Status", "Reason", "Lateness", "Duration"]
    assert [tuple(row[name] for name in shown) for row in labelled_rows(response)] == [
        ("Fri 27 Mar, 12:00:12", "Manual", "Pending", "", "", ""),
        ("Fri 27 Mar, 09:00:00", "Schedule", "Failed", "timeout", "1250 ms", "30000 ms"),
        ("Thu 26 Mar, 09:00:00", "Schedule", "Succeeded · 200", "", "85 ms", "412 ms"),
    ]


def test_it_shows_the_newest_executions_a_page_at_a_time(alice_client, alice):
    job = make_job(alice)
    first = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    Execution.objects.bulk_create(
        Execution(job=job, scheduled_for=first + timedelta(days=day), status="succeeded")
        for day in range(30)
    )

    response = alice_client.get(f"/jobs/{job.id}/")

    rows = labelled_rows(response)
    assert len(rows) == 25
    assert (rows[0]["Scheduled for"], rows[-1]["Scheduled for"]) == (
        "Mon 30 Mar, 10:00:00",
        "Fri 6 Mar, 09:00:00",
    )
    assert "Page 1 of 2" in page_text(response)


def test_without_executions_it_says_so(alice_client, alice):
    job = make_job(alice)

    assert "No executions yet." in page_text(alice_client.get(f"/jobs/{job.id}/"))


def test_it_shows_the_request_but_not_the_saved_password(alice_client, alice):
    job = make_job(
        alice,
        method="POST",
        auth_username="reports",
        auth_password="hunter2-but-longer",
        headers={"Accept": "application/json"},
        expected_statuses=[200, 204],
        follow_redirects=False,
        timeout_seconds=7,
        sign_requests=True,
    )

    response = alice_client.get(f"/jobs/{job.id}/")

    shown = page_text(response)
    assert "POST http://127.0.0.1:9/report" in shown
    assert "Basic auth reports with a saved password" in shown
    assert "Headers Accept: application/json" in shown
    assert "Success status 200, 204" in shown
    assert "Redirects not followed" in shown
    assert "Signed with the project's signing secret (Standard Webhooks)" in shown
    assert "Timeout 7 s" in shown
    assert "hunter2-but-longer" not in response.content.decode()
    assert job.auth_password_encrypted not in response.content.decode()


def test_it_says_how_much_of_each_response_body_is_kept(alice_client, alice):
    kept_8 = make_job(alice)
    kept_none = make_job(alice, title="Quiet", response_body_kib=0)

    assert "Response body kept The first 8 KiB" in page_text(
        alice_client.get(f"/jobs/{kept_8.id}/")
    )
    assert "Response body kept None (status and headers only)" in page_text(
        alice_client.get(f"/jobs/{kept_none.id}/")
    )
