"""The job form's "Runs" choice (a schedule, once, only after another job), spread and
chains, and the job page's "runs after" and "triggers"."""

from datetime import UTC, datetime

import pytest

from jobs.models import Job
from tests.conftest import frozen_at, make_job, page_text
from tests.web.test_job_form import CREATE, edit_page_values, field_error, job_form_data

NOW = datetime(2026, 3, 10, 10, 2, 30, tzinfo=UTC)  # 11:02:30 in Berlin
pytestmark = pytest.mark.usefixtures("private_targets")
clock = frozen_at(NOW)


def test_a_one_off_job_is_made_with_its_time_in_the_jobs_timezone(alice_client, clock):
    data = job_form_data(when="once", run_at="2026-03-10T18:30", delete_after_run="on")

    response = alice_client.post(CREATE, data)

    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.schedule, job.run_at, job.delete_after_run) == (
        "",
        datetime(2026, 3, 10, 17, 30, tzinfo=UTC),
        True,
    )
    assert job.next_runs() == [job.run_at]
    page = page_text(alice_client.get(response.url))
    assert "Once at Tue 10 Mar 2026, 18:30 CET, then paused" in page


def test_a_time_in_the_past_is_refused_beside_it(alice_client, clock):
    response = alice_client.post(CREATE, job_form_data(when="once", run_at="2026-03-10T09:00"))

    assert response.status_code == 200
    assert "This time has passed" in field_error(response, "run_at")
    assert not Job.objects.exists()


def test_once_needs_a_time(alice_client, clock):
    response = alice_client.post(CREATE, job_form_data(when="once", run_at=""))

    assert field_error(response, "run_at") == "Enter when to run it."


def test_a_job_that_runs_after_another_has_no_schedule_and_both_pages_say_so(
    alice_client, alice, clock
):
    parent = make_job(alice, title="Export")
    data = job_form_data(
        title="Import",
        when="after",
        after_job=str(parent.id),
        after_outcome="success",
        after_delay_seconds="120",
    )

    response = alice_client.post(CREATE, data)

    assert response.status_code == 302
    child = Job.objects.get(title="Import")
    assert (child.schedule, child.after_job, child.after_outcome) == ("", parent, "success")
    assert child.next_run_at is None
    child_page = page_text(alice_client.get(f"/jobs/{child.id}/"))
    assert "Runs after Export when it succeeds, 120 s later." in child_page
    parent_page = page_text(alice_client.get(f"/jobs/{parent.id}/"))
    assert "Triggers Import when this job succeeds." in parent_page


def test_after_another_job_needs_the_job(alice_client, clock):
    response = alice_client.post(CREATE, job_form_data(when="after", after_job=""))

    assert field_error(response, "after_job") == "Choose the job this one runs after."


def test_a_cycle_is_refused_beside_the_field(alice_client, alice, clock):
    a = make_job(alice, title="A")
    b = make_job(alice, title="B", schedule="", after_job=a)

    data = edit_page_values(alice_client, a, after_job=str(b.id))
    response = alice_client.post(f"/jobs/{a.id}/edit/", data)

    assert response.status_code == 200
    assert "a chain cannot loop" in field_error(response, "after_job")
    assert Job.objects.get(id=a.id).after_job is None


def test_another_projects_job_is_not_offered(alice_client, bob, clock):
    bobs = make_job(bob, title="Bob's job")

    page = alice_client.get(CREATE).content.decode()
    response = alice_client.post(CREATE, job_form_data(when="after", after_job=str(bobs.id)))

    assert "Bob&#x27;s job" not in page and "Bob's job" not in page
    assert "Select a valid choice" in field_error(response, "after_job")


def test_editing_keeps_the_way_a_job_runs(alice_client, alice, clock):
    parent = make_job(alice, title="Export")
    child = make_job(alice, title="Import", schedule="", after_job=parent, spread_seconds=0)
    once = make_job(alice, title="Once", schedule="", run_at=datetime(2026, 4, 1, 8, tzinfo=UTC))

    for job in (child, once):
        response = alice_client.post(
            f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, title=f"{job.title}!")
        )
        assert response.status_code == 302

    assert Job.objects.get(id=child.id).after_job == parent
    assert Job.objects.get(id=once.id).run_at == datetime(2026, 4, 1, 8, tzinfo=UTC)
    assert Job.objects.get(id=once.id).schedule == ""


def test_spread_is_saved_and_shown(alice_client, clock):
    response = alice_client.post(CREATE, job_form_data(spread_seconds="120"))

    job = Job.objects.get()
    assert job.spread_seconds == 120
    page = page_text(alice_client.get(response.url))
    assert f"each run starts {job.spread_offset.seconds} s after its time" in page


def test_a_spread_over_five_minutes_is_refused(alice_client, clock):
    response = alice_client.post(CREATE, job_form_data(spread_seconds="301"))

    assert "less than or equal to 300" in field_error(response, "spread_seconds")
