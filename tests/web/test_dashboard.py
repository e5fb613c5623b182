"""The dashboard: the member's jobs, one row each."""

from datetime import UTC, datetime
from functools import partial

import pytest

from jobs.models import Execution, Job
from tests.conftest import frozen_at, labelled_rows, make_job

DASHBOARD = "/jobs/"
NOW = datetime(2026, 3, 10, 10, 2, 30, tzinfo=UTC)  # a Tuesday, 11:02:30 in Berlin
clock = frozen_at(NOW)
five_minute_report = partial(
    make_job, url="https://reports.example.org/run?token=x", schedule="*/5 * * * *"
)


def finish(job: Job, status: str, http_status: int | None = None, **fields: object) -> Execution:
    """An execution the worker has finished, recorded on the job as its latest."""
    execution = Execution.objects.create(
        job=job, scheduled_for=NOW, status=status, http_status=http_status, **fields
    )
    job.last_execution = execution
    job.save(update_fields=["last_execution"])
    return execution


def columns(row: dict[str, str], *names: str) -> tuple[str, ...]:
    return tuple(row[name] for name in names)


def test_it_needs_a_login(client, db):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={DASHBOARD}"


def test_the_home_page_sends_a_member_to_the_dashboard(alice_client):
    response = alice_client.get("/")

    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_a_job_row_says_what_when_and_how_it_went(alice_client, alice, clock):
    job = five_minute_report(alice)
    finish(job, Execution.Status.SUCCEEDED, 200)

    response = alice_client.get(DASHBOARD)

    assert response.status_code == 200
    (row,) = labelled_rows(response)
    assert columns(row, "Job", "Target", "Schedule", "State", "Last result", "Next run") == (
        "Nightly report",
        "reports.example.org",
        "Every 5 minutes",
        "active",
        "Succeeded · 200",
        "Tue 10 Mar, 11:05 CET",
    )
    assert f'href="/jobs/{job.id}/"' in response.content.decode()


def test_the_next_run_is_shown_in_each_jobs_own_timezone(alice_client, alice, clock):
    five_minute_report(alice, title="Berlin", schedule="0 9 * * *")
    five_minute_report(alice, title="New York", schedule="0 9 * * *", timezone="America/New_York")
    five_minute_report(alice, title="Tokyo", schedule="0 9 * * *", timezone="Asia/Tokyo")

    rows = labelled_rows(alice_client.get(DASHBOARD))

    assert [columns(row, "Job", "Schedule", "Next run") for row in rows] == [
        ("Berlin", "At 09:00", "Wed 11 Mar, 09:00 CET"),
        ("New York", "At 09:00", "Tue 10 Mar, 09:00 EDT"),
        ("Tokyo", "At 09:00", "Wed 11 Mar, 09:00 JST"),
    ]


def test_a_paused_job_says_so_and_has_no_next_run(alice_client, alice, clock):
    five_minute_report(alice, enabled=False)

    (row,) = labelled_rows(alice_client.get(DASHBOARD))

    assert columns(row, "State", "Last result", "Next run") == ("paused", "not run yet", "—")


@pytest.mark.parametrize(
    ("status", "http_status", "shown"),
    [
        (Execution.Status.FAILED, 500, "Failed · 500"),
        (Execution.Status.FAILED, None, "Failed"),
        (Execution.Status.MISSED, None, "Missed"),
        (Execution.Status.SKIPPED, None, "Skipped"),
    ],
)
def test_the_last_result_is_the_latest_execution(alice_client, alice, status, http_status, shown):
    finish(five_minute_report(alice), status, http_status)

    (row,) = labelled_rows(alice_client.get(DASHBOARD))

    assert row["Last result"] == shown


def test_it_lists_only_the_members_own_jobs(alice_client, alice, bob):
    five_minute_report(alice, title="Alice's backup")
    five_minute_report(bob, title="Bob's backup", url="https://bob.example.net/")

    rows = labelled_rows(alice_client.get(DASHBOARD))

    assert [row["Job"] for row in rows] == ["Alice's backup"]


def test_with_no_jobs_it_invites_the_member_to_create_one(alice_client):
    page = alice_client.get(DASHBOARD).content.decode()

    assert "No jobs yet." in page
    assert "Create your first job" in page
    assert 'href="/jobs/new/"' in page
