"""Header values a member marks secret: encrypted at rest, sent, never shown back."""

import pytest
from django.db import connection

from accounts.projects import personal_project
from jobs.engine import run_now, worker
from jobs.models import Job

TOKEN = "tok_live_5ecret"
pytestmark = pytest.mark.usefixtures("private_targets")


def stored_column(job: Job) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_headers_encrypted FROM jobs_job WHERE id = %s", [job.id])
        return cursor.fetchone()[0]


def test_the_api_stores_them_encrypted_and_shows_only_their_names(alice_api, alice):
    response = alice_api.post(
        "/api/v1/jobs/",
        {
            "title": "t",
            "url": "http://127.0.0.1:9/",
            "schedule": "@daily",
            "secret_headers": {"X-Api-Key": TOKEN},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["secret_header_names"] == ["X-Api-Key"]
    assert TOKEN not in response.content.decode()
    job = Job.objects.get()
    assert TOKEN not in stored_column(job)
    assert job.secret_headers == {"X-Api-Key": TOKEN}
    assert TOKEN not in alice_api.get(f"/api/v1/jobs/{job.id}/").content.decode()


def test_a_patch_without_them_keeps_them_and_an_empty_object_removes_them(alice_api, alice):
    job = Job(
        user=alice,
        project=personal_project(alice),
        title="t",
        url="http://127.0.0.1:9/",
        schedule="@daily",
    )
    job.secret_headers = {"X-Api-Key": TOKEN}
    job.save()

    alice_api.patch(f"/api/v1/jobs/{job.id}/", {"title": "renamed"}, format="json")
    job.refresh_from_db()
    assert job.secret_headers == {"X-Api-Key": TOKEN}

    alice_api.patch(f"/api/v1/jobs/{job.id}/", {"secret_headers": {}}, format="json")
    job.refresh_from_db()
    assert job.secret_headers == {}


def test_bad_secret_headers_are_refused_like_headers(alice_api, alice):
    response = alice_api.post(
        "/api/v1/jobs/",
        {
            "title": "t",
            "url": "http://127.0.0.1:9/",
            "schedule": "@daily",
            "secret_headers": {"Host": "x"},
        },
        format="json",
    )

    assert response.status_code == 400
    assert "secret_headers" in response.json()
    assert not Job.objects.exists()


def test_they_are_sent_with_the_request(alice, target):
    job = Job(
        user=alice,
        project=personal_project(alice),
        title="t",
        url=target.url("/echo"),
        schedule="@daily",
        headers={"X-Plain": "p"},
    )
    job.secret_headers = {"Authorization": f"Bearer {TOKEN}"}
    job.save()

    worker.run_batch([run_now.run_now(job).id])

    (arrival,) = target.requests
    assert arrival.headers["Authorization"] == f"Bearer {TOKEN}"
    assert arrival.headers["X-Plain"] == "p"


def test_the_edit_page_never_shows_them_and_keeps_them_when_left_empty(alice_client, alice):
    job = Job(
        user=alice,
        project=personal_project(alice),
        title="t",
        url="http://127.0.0.1:9/",
        schedule="*/5 * * * *",
    )
    job.secret_headers = {"X-Api-Key": TOKEN}
    job.save()

    page = alice_client.get(f"/jobs/{job.id}/edit/").content.decode()
    assert TOKEN not in page
    assert "Saved secret headers: X-Api-Key." in page

    form = {
        "title": "t",
        "url": "http://127.0.0.1:9/",
        "method": "GET",
        "preset": "custom",
        "schedule": "*/5 * * * *",
        "timezone": "UTC",
        "timeout_seconds": "30",
    }
    alice_client.post(f"/jobs/{job.id}/edit/", form)
    job.refresh_from_db()
    assert job.secret_headers == {"X-Api-Key": TOKEN}

    alice_client.post(f"/jobs/{job.id}/edit/", {**form, "clear_secret_headers": "on"})
    job.refresh_from_db()
    assert job.secret_headers == {}
