"""What a member does to a job from its page: pause, resume, clone, run now, delete."""

from datetime import UTC, datetime
from functools import partial

import pytest
from django.forms.models import model_to_dict

from jobs.models import Execution, Job
from tests.conftest import frozen_at, html_text, make_job, reloaded

NOW = datetime(2026, 3, 10, 10, 2, 30, tzinfo=UTC)  # a Tuesday, 11:02:30 in Berlin
clock = frozen_at(NOW)
quarter_hourly_report = partial(make_job, schedule="*/15 * * * *")


def followed_page(client: object, response: object) -> str:
    return client.get(response.url).content.decode()


def saved_state(job: Job) -> dict:
    """Everything stored about a job and its history, to show that nothing changed."""
    fresh = reloaded(job)
    return {
        **model_to_dict(fresh),
        "next_run_at": fresh.next_run_at,
        "updated_at": fresh.updated_at,
        "auth_password_encrypted": fresh.auth_password_encrypted,
        "executions": list(fresh.executions.values_list("id", "status")),
        "jobs": Job.objects.count(),
    }


def test_pause_stops_the_job(alice_client, alice, clock):
    job = quarter_hourly_report(alice)

    response = alice_client.post(f"/jobs/{job.id}/pause/")

    assert response.status_code == 302
    assert response.url == f"/jobs/{job.id}/"
    job.refresh_from_db()
    assert (job.enabled, job.next_run_at) == (False, None)
    page = followed_page(alice_client, response)
    assert "“Nightly report” is paused." in page
    assert "Paused: it does not run until you resume it." in page


def test_resume_schedules_the_next_run_again(alice_client, alice, clock):
    job = quarter_hourly_report(alice, enabled=False)
    assert job.next_run_at is None

    response = alice_client.post(f"/jobs/{job.id}/resume/")

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.enabled
    assert job.next_run_at == datetime(2026, 3, 10, 10, 15, tzinfo=UTC)
    assert "“Nightly report” is running again." in followed_page(alice_client, response)


def test_resume_after_a_while_starts_from_now_not_from_the_old_slot(alice_client, alice, clock):
    job = quarter_hourly_report(alice)
    alice_client.post(f"/jobs/{job.id}/pause/")
    clock.move_to(datetime(2026, 3, 12, 7, 50, tzinfo=UTC))

    alice_client.post(f"/jobs/{job.id}/resume/")

    job.refresh_from_db()
    assert job.next_run_at == datetime(2026, 3, 12, 8, 0, tzinfo=UTC)


def test_resuming_a_job_disabled_for_failing_starts_a_fresh_count(alice_client, alice, clock):
    job = quarter_hourly_report(alice, enabled=False, consecutive_failures=25, failing=True)

    alice_client.post(f"/jobs/{job.id}/resume/")

    job.refresh_from_db()
    assert job.enabled
    assert job.consecutive_failures == 0
    # Still failing until it succeeds, so that success is reported as a recovery.
    assert job.failing
    assert "Failing." in alice_client.get(f"/jobs/{job.id}/").content.decode()


@pytest.mark.parametrize("action", ["pause", "resume", "clone", "run"])
def test_actions_need_a_post(alice_client, alice, action):
    job = quarter_hourly_report(alice)
    before = saved_state(job)

    assert alice_client.get(f"/jobs/{job.id}/{action}/").status_code == 405
    assert saved_state(job) == before


def test_clone_makes_a_paused_copy_and_opens_its_edit_page(alice_client, alice, clock):
    job = quarter_hourly_report(
        alice,
        method="POST",
        headers={"X-Token": "abc"},
        body="ping",
        auth_username="reports",
        auth_password="hunter2-but-longer",
        timezone="America/New_York",
        timeout_seconds=7,
        expected_statuses=[200, 204],
        follow_redirects=False,
        notify_on_recovery=False,
        expires_at=datetime(2026, 4, 1, 16, 0, tzinfo=UTC),
    )
    Execution.objects.create(job=job, scheduled_for=NOW, status=Execution.Status.FAILED)

    response = alice_client.post(f"/jobs/{job.id}/clone/")

    copy = Job.objects.exclude(pk=job.pk).get()
    assert response.status_code == 302
    assert response.url == f"/jobs/{copy.id}/edit/"
    page = followed_page(alice_client, response)
    assert "Here is the copy, paused. Check it and resume it when ready." in page
    assert "Edit “Copy of Nightly report”" in page
    assert (copy.title, copy.enabled, copy.next_run_at) == ("Copy of Nightly report", False, None)
    assert copy.user == alice
    assert copy.auth_password == "hunter2-but-longer"
    same_settings = [
        "url",
        "method",
        "headers",
        "body",
        "auth_username",
        "schedule",
        "timezone",
        "timeout_seconds",
        "expected_statuses",
        "follow_redirects",
        "notify_on_failure",
        "notify_on_recovery",
        "notify_on_disable",
        "expires_at",
    ]
    assert model_to_dict(copy, same_settings) == model_to_dict(job, same_settings)
    assert not copy.executions.exists()
    assert copy.last_execution is None


def test_a_copy_of_a_failing_job_starts_with_a_clean_record(alice_client, alice, clock):
    job = quarter_hourly_report(alice, failing=True, consecutive_failures=4, failure_threshold=3)

    alice_client.post(f"/jobs/{job.id}/clone/")

    copy = Job.objects.exclude(pk=job.pk).get()
    assert (copy.failing, copy.consecutive_failures) == (False, 0)
    assert copy.failure_threshold == 3


def test_clone_leaves_the_original_as_it_was(alice_client, alice, clock):
    job = quarter_hourly_report(alice)
    before = saved_state(job)

    alice_client.post(f"/jobs/{job.id}/clone/")

    assert {**saved_state(job), "jobs": 1} == {**before, "jobs": 1}


def test_a_resumed_copy_runs_on_the_original_schedule(alice_client, alice, clock):
    job = quarter_hourly_report(alice)
    alice_client.post(f"/jobs/{job.id}/clone/")
    copy = Job.objects.exclude(pk=job.pk).get()

    alice_client.post(f"/jobs/{copy.id}/resume/")

    copy.refresh_from_db()
    assert copy.next_run_at == job.next_run_at


def test_clone_respects_the_job_cap(alice_client, alice, settings):
    settings.MAX_JOBS_PER_MEMBER = 1
    job = quarter_hourly_report(alice)

    response = alice_client.post(f"/jobs/{job.id}/clone/")

    assert response.status_code == 302
    assert response.url == f"/jobs/{job.id}/"
    assert "You have reached the limit of 1 jobs." in followed_page(alice_client, response)
    assert Job.objects.count() == 1


def test_run_now_records_a_pending_manual_execution(alice_client, alice, clock):
    job = quarter_hourly_report(alice)

    response = alice_client.post(f"/jobs/{job.id}/run/")

    assert response.status_code == 302
    assert response.url == f"/jobs/{job.id}/"
    execution = job.executions.get()
    assert (execution.trigger, execution.status) == ("manual", "pending")
    assert execution.scheduled_for == NOW
    page = html_text(followed_page(alice_client, response))
    assert "“Nightly report” is running now." in page
    assert "Tue 10 Mar, 11:02:30 Manual Pending" in page


def test_run_now_is_limited_per_member_per_minute(alice_client, alice, clock, settings):
    settings.MANUAL_RUNS_PER_MINUTE = 2
    jobs = [quarter_hourly_report(alice, title="One"), quarter_hourly_report(alice, title="Two")]
    for job in jobs:
        alice_client.post(f"/jobs/{job.id}/run/")
        clock.shift(1)

    response = alice_client.post(f"/jobs/{jobs[0].id}/run/")

    assert "At most 2 manual runs a minute. Try again shortly." in followed_page(
        alice_client, response
    )
    assert Execution.objects.count() == 2
    clock.shift(60)
    alice_client.post(f"/jobs/{jobs[0].id}/run/")
    assert Execution.objects.count() == 3


def test_run_now_works_for_a_paused_job_and_leaves_it_paused(alice_client, alice, clock):
    job = quarter_hourly_report(alice, enabled=False)

    alice_client.post(f"/jobs/{job.id}/run/")

    job.refresh_from_db()
    assert job.executions.get().trigger == "manual"
    assert (job.enabled, job.next_run_at) == (False, None)


def test_delete_asks_first(alice_client, alice):
    job = quarter_hourly_report(alice)

    response = alice_client.get(f"/jobs/{job.id}/delete/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Delete “Nightly report”?" in page
    assert "its whole history is deleted" in page
    assert Job.objects.filter(pk=job.pk).exists()


def test_delete_removes_the_job_and_its_history(alice_client, alice, clock):
    job = quarter_hourly_report(alice)
    other = quarter_hourly_report(alice, title="Hourly ping")
    execution = Execution.objects.create(job=job, scheduled_for=NOW, status="succeeded")
    job.last_execution = execution
    job.save(update_fields=["last_execution"])
    Execution.objects.create(job=other, scheduled_for=NOW, status="succeeded")

    response = alice_client.post(f"/jobs/{job.id}/delete/")

    assert response.status_code == 302
    assert response.url == "/jobs/"
    assert list(Job.objects.all()) == [other]
    assert list(Execution.objects.values_list("job", flat=True)) == [other.id]
    page = followed_page(alice_client, response)
    assert "“Nightly report” and its history are deleted." in page
    assert f'href="/jobs/{job.id}/"' not in page


# Another member's job is not found, whatever bob tries, and stays as it was.
BOB_TRIES = [
    ("get", ""),
    ("get", "edit/"),
    ("post", "edit/"),
    ("post", "pause/"),
    ("post", "resume/"),
    ("post", "clone/"),
    ("post", "run/"),
    ("get", "delete/"),
    ("post", "delete/"),
]


@pytest.mark.parametrize(("method", "action"), BOB_TRIES)
@pytest.mark.parametrize("enabled", [True, False], ids=["active", "paused"])
def test_bob_cannot_see_or_change_alices_job(client, alice, bob, method, action, enabled):
    job = quarter_hourly_report(alice, enabled=enabled, auth_password="hunter2-but-longer")
    Execution.objects.create(job=job, scheduled_for=NOW, status="succeeded")
    before = saved_state(job)
    client.force_login(bob)
    data = {"title": "Bob's now", "url": "http://127.0.0.1:9/", "preset": "every_minute"}

    response = getattr(client, method)(f"/jobs/{job.id}/{action}", data if method == "post" else {})

    assert response.status_code == 404
    assert saved_state(job) == before
    assert not bob.jobs.exists()


@pytest.mark.parametrize(("method", "action"), BOB_TRIES)
def test_a_visitor_is_sent_to_log_in(client, alice, method, action):
    job = quarter_hourly_report(alice)
    before = saved_state(job)

    response = getattr(client, method)(f"/jobs/{job.id}/{action}")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
    assert saved_state(job) == before


@pytest.mark.parametrize(("method", "action"), BOB_TRIES)
def test_a_job_that_does_not_exist_is_not_found(alice_client, method, action):
    assert getattr(alice_client, method)(f"/jobs/999999/{action}").status_code == 404
