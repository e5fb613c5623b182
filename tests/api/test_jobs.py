"""REST API v1 jobs (/api/v1/jobs/...): what a member's key can see and change."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiKey
from jobs.models import Execution, Job
from tests.conftest import NOON, api_client_for, make_job
from tests.dns import Nameserver

JOBS = "/api/v1/jobs/"

# Every field a job is read back with (the write-only auth_password and secret_headers are not).
JOB_FIELDS = {
    "id",
    "badge_url",
    "title",
    "url",
    "method",
    "headers",
    "secret_header_names",
    "body",
    "auth_username",
    "auth_password_set",
    "schedule",
    "schedule_description",
    "run_at",
    "delete_after_run",
    "spread_seconds",
    "after_job",
    "after_outcome",
    "after_delay_seconds",
    "ordering_key",
    "ordering_on_failure",
    "timezone",
    "timeout_seconds",
    "expected_statuses",
    "follow_redirects",
    "sign_requests",
    "retries",
    "retry_delay_seconds",
    "assertions",
    "response_body_kib",
    "enabled",
    "failure_threshold",
    "notify_on_failure",
    "notify_on_recovery",
    "notify_on_disable",
    "remind_every_hours",
    "alerts_muted_until",
    "channels",
    "expires_at",
    "tags",
    "next_runs",
    "last_execution",
    "consecutive_failures",
    "created_at",
    "updated_at",
    "warnings",
}
# There is no internet here: jobs call the discard port on this machine. Throttle counts live
# in the cache and would leak from one test to the next.
pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits")


@pytest.fixture
def carol_api(carol) -> APIClient:
    return api_client_for(carol)


def job_url(job: Job, action: str = "") -> str:
    return f"{JOBS}{job.pk}/{action + '/' if action else ''}"


def titles(response) -> list[str]:
    return [job["title"] for job in response.json()["results"]]


# Listing


def test_the_list_is_a_page_of_the_members_own_jobs(alice_api, alice, bob):
    make_job(alice, title="Backup")
    make_job(alice, title="Report")
    make_job(bob, title="Bob's job")

    response = alice_api.get(JOBS)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2
    assert page["next"] is None
    assert page["previous"] is None
    assert titles(response) == ["Backup", "Report"]
    assert set(page["results"][0]) == JOB_FIELDS


def test_a_long_list_comes_in_pages_of_fifty(alice_api, alice):
    for number in range(51):
        make_job(alice, title=f"Job {number:02}")

    first = alice_api.get(JOBS).json()
    second = alice_api.get(first["next"]).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert [job["title"] for job in second["results"]] == ["Job 50"]
    assert second["next"] is None
    assert second["previous"] is not None


def test_the_list_costs_the_same_queries_for_many_jobs(alice_api, alice):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_api.get(JOBS).status_code == 200
        return len(queries)

    job = make_job(alice, title="First")
    job.last_execution = Execution.objects.create(job=job, scheduled_for=NOON)
    job.save()
    queries_for_list()  # the key's first use of the minute also writes last_used_at
    one = queries_for_list()
    for number in range(5):
        job = make_job(alice, title=f"More {number}")
        job.last_execution = Execution.objects.create(job=job, scheduled_for=NOON)
        job.save()

    assert queries_for_list() == one


def test_it_filters_by_enabled(alice_api, alice):
    make_job(alice, title="Running")
    make_job(alice, title="Paused", enabled=False)

    assert titles(alice_api.get(JOBS, {"enabled": "false"})) == ["Paused"]
    assert titles(alice_api.get(JOBS, {"enabled": "true"})) == ["Running"]


def test_it_refuses_an_enabled_filter_that_is_not_a_boolean(alice_api, alice_job):
    response = alice_api.get(JOBS, {"enabled": "maybe"})

    assert response.status_code == 400
    assert response.json() == {"enabled": ["Use true or false."]}


def test_it_searches_titles_and_urls_ignoring_case(alice_api, alice):
    make_job(alice, title="Nightly backup", url="http://127.0.0.1:9/backup")
    make_job(alice, title="Report", url="http://127.0.0.1:9/reports/weekly")

    assert titles(alice_api.get(JOBS, {"search": "BACKUP"})) == ["Nightly backup"]
    assert titles(alice_api.get(JOBS, {"search": "weekly"})) == ["Report"]
    assert titles(alice_api.get(JOBS, {"search": "nothing like it"})) == []


def test_a_search_with_a_nul_character_is_refused_not_an_error(alice_api, alice_job):
    # PostgreSQL text cannot hold NUL: passed through, it would be a 500.
    response = alice_api.get(JOBS, {"search": "a\x00b"})

    assert response.status_code == 400
    assert set(response.json()) == {"search"}


# Creating


def test_creating_a_job_returns_it_with_every_field(alice_api, alice, clock):
    response = alice_api.post(
        JOBS,
        {"title": "Report", "url": "http://127.0.0.1:9/report", "schedule": "0 9 * * *"},
        format="json",
    )

    assert response.status_code == 201
    job = response.json()
    assert set(job) == JOB_FIELDS
    assert "auth_password" not in job
    assert job["timezone"] == "Europe/Berlin"  # alice's own
    assert job["method"] == "GET"
    assert job["headers"] == {}
    assert job["timeout_seconds"] == 30
    assert job["enabled"] is True
    assert job["auth_password_set"] is False
    assert job["last_execution"] is None
    assert job["consecutive_failures"] == 0
    assert job["expires_at"] is None
    assert job["response_body_kib"] == 8
    # 09:00 in Berlin (CEST) is 07:00 UTC.
    assert job["next_runs"] == [
        "2026-05-13T07:00:00Z",
        "2026-05-14T07:00:00Z",
        "2026-05-15T07:00:00Z",
    ]
    assert job["created_at"] == "2026-05-12T10:00:00Z"
    saved = Job.objects.get(pk=job["id"])
    assert saved.user == alice
    assert saved.next_run_at == datetime(2026, 5, 13, 7, 0, tzinfo=UTC)


def test_creating_a_job_with_every_setting(alice_api, alice, clock):
    payload = {
        "title": "Webhook",
        "url": "http://127.0.0.1:9/hook",
        "method": "POST",
        "headers": {"X-Token": "abc", "Content-Type": "application/json"},
        "body": '{"ping": true}',
        "auth_username": "robot",
        "schedule": "@hourly",
        "timezone": "America/New_York",
        "timeout_seconds": 10,
        "expected_statuses": [200, 204],
        "follow_redirects": False,
        "response_body_kib": 64,
        "notify_on_failure": False,
        "notify_on_recovery": False,
        "notify_on_disable": False,
        "expires_at": "2026-06-01T00:00:00Z",
    }

    response = alice_api.post(JOBS, payload, format="json")

    assert response.status_code == 201
    job = response.json()
    assert {name: job[name] for name in payload} == payload
    assert job["next_runs"][0] == "2026-05-12T11:00:00Z"


@pytest.mark.parametrize("kib", [0, 1, 8, 64])
def test_the_response_body_kept_can_be_changed_to_each_choice(alice_api, alice_job, kib: int):
    response = alice_api.patch(job_url(alice_job), {"response_body_kib": kib}, format="json")

    assert response.status_code == 200
    assert response.json()["response_body_kib"] == kib
    alice_job.refresh_from_db()
    assert alice_job.response_body_kib == kib


def test_header_values_of_8_kib_are_taken(alice_api, alice_job):
    value = "a" * 8192
    response = alice_api.patch(
        job_url(alice_job),
        {"headers": {"X-Long": value}, "secret_headers": {"X-Key": value}},
        format="json",
    )

    assert response.status_code == 200
    alice_job.refresh_from_db()
    assert alice_job.headers == {"X-Long": value}
    assert alice_job.secret_headers == {"X-Key": value}


def test_a_password_is_taken_but_never_given_back(alice_api, alice_job):
    secret = "hunter2-correct-horse"
    response = alice_api.post(
        JOBS,
        {
            "title": "Private",
            "url": "http://127.0.0.1:9/",
            "schedule": "@daily",
            "auth_username": "robot",
            "auth_password": secret,
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["auth_password_set"] is True
    job_id = response.json()["id"]
    assert Job.objects.get(pk=job_id).auth_password == secret
    for read in (response, alice_api.get(f"{JOBS}{job_id}/"), alice_api.get(JOBS)):
        assert 'auth_password"' not in read.content.decode()
        assert secret not in read.content.decode()


def test_an_empty_password_removes_the_saved_one(alice_api, alice_job):
    alice_job.auth_password = "hunter2"
    alice_job.save()

    response = alice_api.patch(job_url(alice_job), {"auth_password": ""}, format="json")

    assert response.status_code == 200
    assert response.json()["auth_password_set"] is False
    assert not Job.objects.get(pk=alice_job.pk).auth_password_set


def test_a_patch_without_a_password_keeps_the_saved_one(alice_api, alice_job):
    alice_job.auth_password = "hunter2"
    alice_job.save()

    response = alice_api.patch(job_url(alice_job), {"title": "Renamed"}, format="json")

    assert response.json()["auth_password_set"] is True
    assert Job.objects.get(pk=alice_job.pk).auth_password == "hunter2"


def test_a_member_who_has_not_confirmed_their_email_cannot_create_jobs(carol_api, carol):
    response = carol_api.post(
        JOBS, {"title": "t", "url": "http://127.0.0.1:9/", "schedule": "@daily"}, format="json"
    )

    # Refused when the key is read (accounts/api_auth.py), before any view runs.
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Confirm your email address (follow the link we emailed you) to use the API."
    }
    assert not Job.objects.exists()


def test_the_job_cap_refuses_one_more_job(alice_api, alice, settings):
    settings.MAX_JOBS_PER_MEMBER = 2
    payload = {"title": "t", "url": "http://127.0.0.1:9/", "schedule": "@daily"}
    assert alice_api.post(JOBS, payload, format="json").status_code == 201
    assert alice_api.post(JOBS, payload, format="json").status_code == 201

    response = alice_api.post(JOBS, payload, format="json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["You have reached the limit of 2 jobs."]}
    assert alice.jobs.count() == 2


def test_the_job_cap_counts_only_the_members_own_jobs(alice_api, bob, settings):
    settings.MAX_JOBS_PER_MEMBER = 1
    make_job(bob)

    response = alice_api.post(
        JOBS, {"title": "t", "url": "http://127.0.0.1:9/", "schedule": "@daily"}, format="json"
    )

    assert response.status_code == 201


# One job


def test_it_shows_one_job(alice_api, alice_job, clock):
    response = alice_api.get(job_url(alice_job))

    assert response.status_code == 200
    assert response.json()["title"] == "Nightly report"
    assert response.json()["schedule_description"] == "At 09:00"


def test_it_shows_the_last_execution_in_short(alice_api, alice_job):
    execution = Execution.objects.create(
        job=alice_job,
        scheduled_for=NOON,
        status=Execution.Status.FAILED,
        failure_reason=Execution.Reason.HTTP_STATUS,
        http_status=503,
        duration_ms=120,
        lateness_ms=15,
    )
    alice_job.last_execution = execution
    alice_job.save()

    summary = alice_api.get(job_url(alice_job)).json()["last_execution"]

    assert summary == {
        "id": execution.pk,
        "scheduled_for": "2026-05-12T10:00:00Z",
        "trigger": "schedule",
        "status": "failed",
        "failure_reason": "http_status",
        "http_status": 503,
        "duration_ms": 120,
        "lateness_ms": 15,
    }


def test_changing_the_schedule_moves_the_next_runs(alice_api, alice_job, clock):
    response = alice_api.patch(job_url(alice_job), {"schedule": "30 14 * * *"}, format="json")

    assert response.status_code == 200
    assert response.json()["next_runs"][0] == "2026-05-12T12:30:00Z"
    assert Job.objects.get(pk=alice_job.pk).schedule == "30 14 * * *"


def test_moving_a_job_to_a_timezone_where_it_never_runs_is_refused(alice_api, alice):
    # 02:xx on the last Sunday of March runs in UTC; in Berlin the clocks skip it.
    job = make_job(alice, schedule="*/15 2 * 3 L0", timezone="UTC")

    response = alice_api.patch(job_url(job), {"timezone": "Europe/Berlin"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "timezone": [
            "This schedule never runs in Europe/Berlin: its times fall in the hour"
            " the clocks skip when they go forward."
        ]
    }
    assert Job.objects.get(pk=job.pk).timezone == "UTC"


def test_renaming_a_job_keeps_its_next_run(alice_api, alice_job, clock):
    before = Job.objects.get(pk=alice_job.pk).next_run_at
    clock.shift(timedelta(hours=30))  # the 09:00 slot has come; not dispatched yet

    response = alice_api.patch(job_url(alice_job), {"title": "Renamed"}, format="json")

    assert response.status_code == 200
    job = Job.objects.get(pk=alice_job.pk)
    assert job.title == "Renamed"
    assert job.next_run_at == before


def test_it_deletes_a_job(alice_api, alice_job):
    response = alice_api.delete(job_url(alice_job))

    assert response.status_code == 204
    assert not Job.objects.filter(pk=alice_job.pk).exists()


def test_put_is_not_offered(alice_api, alice_job):
    response = alice_api.put(job_url(alice_job), {"title": "x"}, format="json")

    assert response.status_code == 405


def test_run_now_records_a_pending_manual_execution(alice_api, alice_job, clock):
    response = alice_api.post(job_url(alice_job, "run"))

    assert response.status_code == 202
    execution = response.json()
    assert execution["job"] == alice_job.pk
    assert execution["trigger"] == "manual"
    assert execution["status"] == "pending"
    assert execution["scheduled_for"] == "2026-05-12T10:00:00Z"
    saved = Execution.objects.get(pk=execution["id"])
    assert saved.job == alice_job
    assert saved.trigger == Execution.Trigger.MANUAL


def test_run_now_is_limited_per_minute(alice_api, alice_job, settings):
    settings.MANUAL_RUNS_PER_MINUTE = 2
    for _ in range(2):
        assert alice_api.post(job_url(alice_job, "run")).status_code == 202

    response = alice_api.post(job_url(alice_job, "run"))

    assert response.status_code == 429
    assert response.json()["detail"].startswith("At most 2 manual runs a minute.")
    assert response["Retry-After"] == "60"
    assert alice_job.executions.count() == 2


def test_pause_and_resume(alice_api, alice_job, clock):
    paused = alice_api.post(job_url(alice_job, "pause"))

    assert paused.status_code == 200
    assert paused.json()["enabled"] is False
    assert paused.json()["next_runs"] == []
    assert Job.objects.get(pk=alice_job.pk).next_run_at is None

    resumed = alice_api.post(job_url(alice_job, "resume"))

    assert resumed.status_code == 200
    assert resumed.json()["enabled"] is True
    assert resumed.json()["next_runs"][0] == "2026-05-13T07:00:00Z"
    assert Job.objects.get(pk=alice_job.pk).enabled


# Keys and limits


def test_it_needs_a_key(client, alice_job):
    response = client.get(JOBS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_is_refused(alice_api, alice, alice_job):
    ApiKey.objects.get(user=alice).revoke()

    response = alice_api.get(JOBS)

    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has been revoked."}


def test_a_read_only_key_can_read(alice_read_only_api, alice_job):
    assert alice_read_only_api.get(JOBS).status_code == 200
    assert alice_read_only_api.get(job_url(alice_job)).status_code == 200
    assert alice_read_only_api.get(job_url(alice_job, "executions")).status_code == 200


@pytest.mark.parametrize(
    ("method", "action", "data"),
    [
        ("post", None, {"title": "t", "url": "http://127.0.0.1:9/", "schedule": "@daily"}),
        ("patch", "", {"title": "Changed"}),
        ("delete", "", None),
        ("post", "run", None),
        ("post", "pause", None),
        ("post", "resume", None),
    ],
)
def test_a_read_only_key_cannot_change_anything(
    alice_read_only_api, alice_job, method: str, action: str | None, data: dict | None
):
    url = JOBS if action is None else job_url(alice_job, action)

    response = getattr(alice_read_only_api, method)(url, data, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "This API key is read-only."}
    job = Job.objects.get()
    assert job.title == "Nightly report"
    assert job.enabled
    assert not job.executions.exists()


def test_too_many_requests_are_refused_with_retry_after(alice_api, alice_job, settings):
    settings.API_THROTTLE_RATE = "3/minute"
    for _ in range(3):
        assert alice_api.get(JOBS).status_code == 200

    response = alice_api.get(JOBS)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_key_has_its_own_allowance(alice_api, bob_api, settings):
    settings.API_THROTTLE_RATE = "3/minute"
    for _ in range(4):
        alice_api.get(JOBS)

    assert bob_api.get(JOBS).status_code == 200


# Bob cannot


@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "run"),
        ("post", "pause"),
        ("post", "resume"),
        ("get", "executions"),
    ],
)
def test_bob_cannot_reach_alices_job(bob_api, alice_job, method: str, action: str):
    response = getattr(bob_api, method)(job_url(alice_job, action), {"title": "Bob's"})

    assert response.status_code == 404
    job = Job.objects.get(pk=alice_job.pk)
    assert job.title == "Nightly report"
    assert job.enabled
    assert not job.executions.exists()


def test_bob_does_not_see_alices_job_in_his_list(bob_api, alice_job):
    response = bob_api.get(JOBS)

    assert response.json()["count"] == 0
    assert bob_api.get(JOBS, {"search": "Nightly"}).json()["results"] == []


def test_a_url_whose_nameserver_never_answers_is_saved_after_the_lookup_timeout(
    alice_api, settings, private_targets_refused
):
    # The default SAVE_TIME_DNS_TIMEOUT_SECONDS (2): saving waits that long, no longer, and
    # the URL is accepted; the engine checks the address again when it connects.
    with Nameserver() as nameserver:
        settings.DNS_NAMESERVERS = [nameserver.address]
        started = time.monotonic()

        response = alice_api.post(
            "/api/v1/jobs/",
            {"title": "Far", "url": "https://silent.test/cron", "schedule": "@daily"},
            format="json",
        )

        took = time.monotonic() - started
    assert response.status_code == 201, response.json()
    assert 2 <= took < 3.5, took
    assert Job.objects.get().url == "https://silent.test/cron"
