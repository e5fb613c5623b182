"""Secrets and limits: credentials stay with the site they were given for, and one member's
limits hold however many requests or keys they use at once."""

from datetime import timedelta

import pytest

from jobs.models import Job
from tests.conftest import api_client, api_client_for, make_job, race, run_test_run
from tests.web.test_job_form import job_form_data

JOBS = "/api/v1/jobs/"
pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits")


def job_with_credentials(alice) -> Job:
    job = make_job(alice, url="https://reports.example.com/run", auth_username="robot")
    job.auth_password = "hunter2"
    job.secret_headers = {"X-Token": "s3cret"}
    job.save()
    return job


def saved_credentials(job: Job) -> tuple[str, dict]:
    job.refresh_from_db()
    return job.auth_password, job.secret_headers


def edit_form(job: Job, **changes: str) -> dict[str, str]:
    saved = {"title": job.title, "url": job.url, "preset": "custom", "schedule": job.schedule}
    return job_form_data(**{**saved, **changes})


def test_a_url_moved_to_another_site_in_the_form_drops_the_credentials(alice_client, alice):
    job = job_with_credentials(alice)

    response = alice_client.post(
        f"/jobs/{job.id}/edit/",
        edit_form(job, url="https://elsewhere.example.net/run"),
        follow=True,
    )

    assert saved_credentials(job) == ("", {})
    assert (
        "The URL now points at another site, so the saved password and secret headers were "
        "removed. Enter them again if the new site needs them."
    ) in response.content.decode()


def test_a_new_path_on_the_same_site_keeps_them(alice_client, alice):
    job = job_with_credentials(alice)

    alice_client.post(
        f"/jobs/{job.id}/edit/", edit_form(job, url="https://reports.example.com/other")
    )

    assert saved_credentials(job) == ("hunter2", {"X-Token": "s3cret"})


@pytest.mark.parametrize(
    "moved",
    ["http://reports.example.com/run", "https://reports.example.com:8443/run"],
    ids=["scheme", "port"],
)
def test_a_new_scheme_or_port_is_another_site(alice_api, alice, moved):
    job = job_with_credentials(alice)

    response = alice_api.patch(f"{JOBS}{job.id}/", {"url": moved}, format="json")

    assert response.status_code == 200
    assert response.json()["auth_password_set"] is False
    assert response.json()["secret_header_names"] == []
    assert response.json()["warnings"] == [
        "The URL now points at another site, so the saved password and secret headers were "
        "removed. Enter them again if the new site needs them."
    ]


def test_credentials_given_with_the_move_are_kept(alice_api, alice):
    job = job_with_credentials(alice)

    response = alice_api.patch(
        f"{JOBS}{job.id}/",
        {"url": "https://elsewhere.example.net/", "auth_password": "correct horse"},
        format="json",
    )

    assert response.json()["warnings"] == [
        "The URL now points at another site, so the saved secret headers were removed. "
        "Enter them again if the new site needs them."
    ]
    assert saved_credentials(job) == ("correct horse", {})


def test_a_test_run_at_another_site_sends_no_saved_credentials(alice_client, alice, target):
    job = job_with_credentials(alice)

    run_test_run(alice_client, {**edit_form(job, url=target.url("/ok")), "job_id": str(job.id)})

    (arrival,) = target.requests
    assert "Authorization" not in arrival.headers
    assert "X-Token" not in arrival.headers
    assert saved_credentials(job) == ("hunter2", {"X-Token": "s3cret"})


def test_twenty_parallel_creates_at_the_cap_make_exactly_the_cap(
    transactional_db, alice, alice_key, settings
):
    settings.MAX_JOBS_PER_PROJECT = 5
    settings.API_THROTTLE_RATE = "100/minute"
    payload = {"title": "Racer", "url": "https://example.com/", "schedule": "@daily"}

    statuses = race(
        lambda: api_client(alice_key).post(JOBS, payload, format="json").status_code, count=20
    )

    assert sorted(statuses) == [201] * 5 + [400] * 15
    assert Job.objects.count() == 5


def test_two_keys_of_one_member_share_the_api_allowance(alice, settings):
    settings.API_THROTTLE_RATE = "3/minute"
    first, second = api_client_for(alice), api_client_for(alice)
    for client in (first, second, first):
        assert client.get(JOBS).status_code == 200

    response = second.get(JOBS)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_a_key_records_its_use_at_most_once_a_minute(alice_api, alice, clock):
    alice_api.get(JOBS)
    first_use = alice.api_keys.get().last_used_at

    clock.shift(timedelta(seconds=59))
    alice_api.get(JOBS)
    assert alice.api_keys.get().last_used_at == first_use

    clock.shift(timedelta(seconds=2))
    alice_api.get(JOBS)
    assert alice.api_keys.get().last_used_at == first_use + timedelta(seconds=61)


def test_twenty_parallel_run_nows_make_exactly_the_allowance(
    transactional_db, alice, alice_key, settings, sent
):
    settings.MANUAL_RUNS_PER_MINUTE = 3
    job = make_job(alice)

    def run_now() -> int:
        return api_client(alice_key).post(f"{JOBS}{job.id}/run/").status_code

    statuses = race(run_now, count=20)

    assert sorted(statuses) == [202] * 3 + [429] * 17
    assert job.executions.count() == 3
    assert len(sent.ids) == 3
