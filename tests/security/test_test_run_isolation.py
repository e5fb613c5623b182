"""Test runs cannot hurt other members: another project's test run is a 404 on the page and
in the API, credentials follow the URL's site only and wait encrypted, and a test run at a
target that never answers (a tarpit) holds a worker thread, never the site."""

import json
import time
import urllib.request

import pytest
from django.db import connection

from jobs.engine import test_runs
from jobs.models import TestRun
from tests.conftest import TEST_RUN, basic, free_port, make_job, run_test_run
from tests.processes import Engine, flush_broker
from tests.servers import Tarpit
from tests.web.test_job_form import job_form_data

pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits")


def alices_test_run(alice_client, target) -> TestRun:
    alice_client.post(TEST_RUN, job_form_data(url=target.url("/ok")))
    return TestRun.objects.get()


def test_bob_cannot_read_alices_test_run_on_the_page(alice_client, client, bob, target):
    test_run = alices_test_run(alice_client, target)
    client.force_login(bob)

    assert client.get(f"/jobs/test-runs/{test_run.id}/").status_code == 404


def test_bob_cannot_read_alices_test_run_over_the_api(alice_client, bob_api, target):
    test_run = alices_test_run(alice_client, target)

    assert bob_api.get(f"/api/v1/test-runs/{test_run.id}/").status_code == 404


def test_bob_cannot_test_run_alices_job_over_the_api(alice, bob_api, target):
    job = make_job(alice, url=target.url("/ok"))

    response = bob_api.post(f"/api/v1/jobs/{job.id}/test-run/", {}, format="json")

    assert response.status_code == 404
    assert not TestRun.objects.exists()


def test_a_url_on_another_site_drops_the_saved_credentials_over_the_api(
    alice, alice_api, public_target
):
    job = make_job(alice, url="https://reports.example.com/run", auth_username="robot")
    job.auth_password = "hunter2"
    job.secret_headers = {"X-Token": "s3cret"}
    job.save()

    started = alice_api.post(
        f"/api/v1/jobs/{job.id}/test-run/", {"url": public_target.url("/echo")}, format="json"
    ).json()
    test_runs.send(started["id"])

    (arrival,) = public_target.requests
    # The user name is no secret; the password is not sent with it.
    assert arrival.headers["Authorization"] == basic("robot", "")
    assert "X-Token" not in arrival.headers


def test_on_the_same_site_the_saved_credentials_go_with_it(alice, alice_client, target):
    job = make_job(alice, url=target.url("/ok"), auth_username="robot")
    job.auth_password = "hunter2"
    job.save()
    data = job_form_data(url=target.url("/echo"), auth_username="robot")

    run_test_run(alice_client, {**data, "job_id": str(job.id)})

    (arrival,) = target.requests
    assert arrival.headers["Authorization"] == basic("robot", "hunter2")


def test_no_secret_is_stored_in_plain_text(alice_client, target):
    data = job_form_data(
        url=target.url("/echo"),
        auth_username="robot",
        auth_password="pw-hunter2",
        secret_headers="X-Token: tok-s3cret",
    )
    alice_client.post(TEST_RUN, data)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM jobs_testrun")
        row = json.dumps(cursor.fetchall(), default=str)

    assert TestRun.objects.get().secret_headers == {"X-Token": "tok-s3cret"}
    assert "pw-hunter2" not in row
    assert "tok-s3cret" not in row


def elapsed(url: str, **request: object) -> tuple[float, int, bytes]:
    started = time.monotonic()
    with urllib.request.urlopen(urllib.request.Request(url, **request), timeout=10) as answer:
        return time.monotonic() - started, answer.status, answer.read()


@pytest.mark.slow
def test_a_test_run_at_a_tarpit_leaves_the_site_answering(
    transactional_db, alice, alice_key, tmp_path
):
    flush_broker()  # nothing left over from another run
    bearer = {"Authorization": f"Bearer {alice_key}", "Content-Type": "application/json"}
    job = {"title": "Tarpit", "schedule": "@daily", "timeout_seconds": 30}
    # One web process of two threads: the smallest threaded web still answers.
    with Tarpit() as tarpit, Engine(tmp_path, WEB_WORKERS="1", WEB_THREADS="2") as engine:
        engine.start_worker("system", queues="system,test_runs")
        web = engine.start_web(free_port())

        took, status, body = elapsed(
            f"{web}/api/v1/jobs/test-run/",
            data=json.dumps({**job, "url": tarpit.url}).encode(),
            headers=bearer,
            method="POST",
        )
        # At once, not after the target's 30 s (a fresh web process's first message also
        # opens its broker connection, so allow it more than the second below).
        assert (status, took < 5) == (202, True), took
        poll = json.loads(body)["url"]
        engine.wait_until(lambda: tarpit.connections, what="the worker to call the tarpit")

        # While the worker hangs on the tarpit, the site answers everyone else at once.
        # (API pages: HTML pages need collected static files, which this checkout lacks.)
        for path in ["/api/v1/", "/api/v1/jobs/", "/api/v1/jobs/?search=tarpit", poll]:
            url = path if path.startswith("http") else f"{web}{path}"
            took, status, body = elapsed(url, headers=bearer)
            assert (status, took < 1) == (200, True), (path, took)
        assert json.loads(body)["status"] == "pending"
        assert engine.processes["web"].poll() is None
