"""The Test run button on the job form: it records the form's current, unsaved settings as a
test run and answers at once with a partial that polls; a worker sends the request, and the
poll then shows the response, escaped. Nothing is added to the job's history; five a minute
per member."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.projects import personal_project
from jobs.engine import test_runs
from jobs.models import Execution, Job, TestRun
from tests.conftest import POLL_URL, TEST_RUN, make_job, page_text, run_test_run
from tests.processes import Engine, flush_broker
from tests.web.test_job_form import job_form_data

# The per-minute counts live in the cache and would leak from one test to the next.
pytestmark = pytest.mark.usefixtures("fresh_limits", "private_targets")


def test_pressing_it_answers_at_once_with_a_partial_that_polls(alice_client, alice, target):
    response = alice_client.post(TEST_RUN, job_form_data(url=target.url("/ok")))

    assert response.status_code == 200
    test_run = TestRun.objects.get()
    content = response.content.decode()
    poll = f'hx-get="/jobs/test-runs/{test_run.id}/" hx-trigger="every 1s" hx-swap="outerHTML"'
    assert poll in content
    assert f"Waiting for the answer from {target.url('/ok')}" in page_text(response)
    # Nothing was sent by the web request: that is the worker's.
    assert target.requests == []
    assert (test_run.status, test_run.project, test_run.user) == (
        TestRun.Status.PENDING,
        personal_project(alice),
        alice,
    )


def result_once_done(client, poll_url: str) -> object | None:
    """Poll as the page does: the answer once it no longer polls."""
    answer = client.get(poll_url)
    return None if POLL_URL.search(answer.content.decode()) else answer


@pytest.mark.slow
def test_a_worker_process_sends_it_and_the_poll_shows_the_result(
    transactional_db, alice_client, alice, target, tmp_path
):
    flush_broker()  # nothing left over from another run
    with Engine(tmp_path) as engine:
        engine.start_worker("system", queues="system,test_runs")

        started = alice_client.post(TEST_RUN, job_form_data(url=target.url("/echo")))
        poll_url = POLL_URL.search(started.content.decode())[1]
        result = engine.wait_until(
            lambda: result_once_done(alice_client, poll_url), what="the test run's result"
        )

    assert "Succeeded · HTTP 200" in page_text(result)
    (arrival,) = target.requests
    test_run = TestRun.objects.get()
    assert arrival.headers["X-Cronsvc-Execution"] == f"test-run-{test_run.id}"
    assert test_run.status == TestRun.Status.DONE


def test_the_poll_goes_on_polling_until_a_worker_has_sent_it(alice_client, alice, target):
    alice_client.post(TEST_RUN, job_form_data(url=target.url("/ok")))
    test_run = TestRun.objects.get()
    poll_url = f"/jobs/test-runs/{test_run.id}/"

    waiting = alice_client.get(poll_url)
    assert POLL_URL.search(waiting.content.decode())

    test_runs.send(test_run.id)
    done = alice_client.get(poll_url)

    assert "Succeeded · HTTP 200" in page_text(done)
    assert "hx-trigger" not in done.content.decode()  # the result ends the polling
    assert len(target.requests) == 1


def test_it_runs_the_unsaved_form_and_shows_the_response_escaped(alice_client, alice, target):
    response = run_test_run(alice_client, job_form_data(url=target.url("/html")))

    assert response.status_code == 200
    page = page_text(response)
    assert "Succeeded · HTTP 200" in page
    assert "This test run is not kept in the job's history." in page
    content = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content
    assert "Content-Type: text/html" in page
    (arrival,) = target.requests
    assert (arrival.method, arrival.path) == ("GET", "/html")
    assert not Job.objects.exists()
    assert not Execution.objects.exists()


def test_it_sends_what_the_form_says_now(alice_client, alice, target):
    data = job_form_data(
        url=target.url("/echo?x=1"),
        method="POST",
        headers="X-Purpose: test run",
        body='{"hello": "world"}',
        expected_statuses="200",
    )

    response = run_test_run(alice_client, data)

    (arrival,) = target.requests
    assert (arrival.method, arrival.query, arrival.body) == (
        "POST",
        {"x": "1"},
        b'{"hello": "world"}',
    )
    assert arrival.headers["X-Purpose"] == "test run"
    assert arrival.headers["X-Cronsvc-Execution"].startswith("test-run-")
    assert "Succeeded · HTTP 200" in page_text(response)
    assert "\\&quot;hello\\&quot;" in response.content.decode()  # the echo, escaped


def test_a_failing_target_shows_the_reason(alice_client, alice, target):
    response = run_test_run(alice_client, job_form_data(url=target.url("/status/500")))

    page = page_text(response)
    assert f"Failed · HTTP 500 · {Execution.Reason.HTTP_STATUS.label}" in page
    assert "Status 500" in page


def test_on_the_edit_form_an_empty_password_means_the_saved_one(alice_client, alice, target):
    job = Job(
        user=alice,
        project=personal_project(alice),
        title="Nightly report",
        url=target.url("/ok"),
        schedule="0 9 * * *",
        auth_username="reporter",
    )
    job.auth_password = "hunter2"
    job.save()
    data = job_form_data(
        url=target.url("/echo"), method="PUT", auth_username="reporter", auth_password=""
    )

    run_test_run(alice_client, {**data, "job_id": str(job.id)})

    (arrival,) = target.requests
    expected = base64.b64encode(b"reporter:hunter2").decode()
    assert arrival.headers["Authorization"] == f"Basic {expected}"
    assert arrival.method == "PUT"
    # The saved job is as it was.
    job.refresh_from_db()
    assert (job.method, job.url, job.auth_password) == ("GET", target.url("/ok"), "hunter2")
    assert not Execution.objects.exists()


def test_a_password_typed_in_the_form_is_used_instead(alice_client, alice, target):
    job = Job(
        user=alice,
        project=personal_project(alice),
        title="Report",
        url=target.url("/ok"),
        schedule="0 9 * * *",
    )
    job.auth_password = "hunter2"
    job.save()
    data = job_form_data(url=target.url("/echo"), auth_username="ops", auth_password="new-one")

    run_test_run(alice_client, {**data, "job_id": str(job.id)})

    (arrival,) = target.requests
    assert arrival.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:new-one").decode()
    job.refresh_from_db()
    assert job.auth_password == "hunter2"


def test_credentials_wait_encrypted_and_are_gone_once_sent(alice_client, alice, target):
    data = job_form_data(url=target.url("/echo"), auth_username="ops", auth_password="new-one")

    alice_client.post(TEST_RUN, data)
    waiting = TestRun.objects.get()

    assert "new-one" not in waiting.auth_password_encrypted
    assert waiting.auth_password == "new-one"
    test_runs.send(waiting.id)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.auth_password_encrypted) == (TestRun.Status.DONE, "")


def test_the_sixth_test_run_in_a_minute_is_refused(alice_client, alice, target):
    data = job_form_data(url=target.url("/ok"))
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False) as clock:
        for _ in range(5):
            assert "Succeeded" in page_text(run_test_run(alice_client, data))

        sixth = alice_client.post(TEST_RUN, data)

        assert sixth.status_code == 200  # htmx swaps only 2xx answers in
        assert "At most 5 test runs a minute. Try again shortly." in page_text(sixth)
        assert len(target.requests) == 5
        assert TestRun.objects.count() == 5

        # A use counts for a whole minute, its last second included (accounts/limits.py).
        clock.shift(timedelta(minutes=1, seconds=1))
        assert "Succeeded" in page_text(run_test_run(alice_client, data))
        assert len(target.requests) == 6


def test_the_limit_is_per_member(alice_client, alice, bob, client, target):
    data = job_form_data(url=target.url("/ok"))
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(6):
            alice_client.post(TEST_RUN, data)
        alice_client.logout()
        client.force_login(bob)

        assert "Succeeded" in page_text(run_test_run(client, data))


def test_an_invalid_form_shows_its_errors_and_sends_nothing(alice_client, alice, target):
    response = alice_client.post(TEST_RUN, job_form_data(title="", url="not a url"))

    page = page_text(response)
    assert "Fix the form first:" in page
    assert "Title: This field is required." in page
    assert "URL: Only http:// and https:// URLs can be called." in page
    assert not TestRun.objects.exists()


def test_a_private_address_is_refused_unless_the_operator_allows_it(
    alice_client, alice, target, settings
):
    settings.ALLOW_PRIVATE_TARGETS = False

    response = alice_client.post(TEST_RUN, job_form_data(url=target.url("/ok")))

    assert "points to an internal address" in page_text(response)
    assert not TestRun.objects.exists()


def test_a_test_run_no_worker_took_says_so_and_stops_polling(alice_client, alice, target):
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False) as clock:
        alice_client.post(TEST_RUN, job_form_data(url=target.url("/ok")))
        poll_url = f"/jobs/test-runs/{TestRun.objects.get().id}/"
        clock.shift(timedelta(seconds=89))
        assert POLL_URL.search(alice_client.get(poll_url).content.decode())

        clock.shift(timedelta(seconds=2))
        lost = alice_client.get(poll_url)

    assert "This test run got no answer from the workers." in page_text(lost)
    assert "hx-trigger" not in lost.content.decode()


def test_bob_cannot_test_run_alices_job(client, bob, alice, target):
    job = Job(
        user=alice,
        project=personal_project(alice),
        title="Report",
        url=target.url("/ok"),
        schedule="0 9 * * *",
    )
    job.auth_password = "hunter2"
    job.save()
    client.force_login(bob)

    response = client.post(
        TEST_RUN, {**job_form_data(url=target.url("/echo")), "job_id": str(job.id)}
    )

    assert response.status_code == 404
    assert not TestRun.objects.exists()


def test_a_job_id_that_is_not_a_number_is_404(alice_client, alice, target):
    response = alice_client.post(
        TEST_RUN, {**job_form_data(url=target.url("/ok")), "job_id": "1 OR 1=1"}
    )

    assert response.status_code == 404


def test_it_is_post_only(alice_client):
    assert alice_client.get(TEST_RUN).status_code == 405


def test_polling_needs_a_login(client, alice, alice_client, target):
    alice_client.post(TEST_RUN, job_form_data(url=target.url("/ok")))
    client.logout()

    response = client.get(f"/jobs/test-runs/{TestRun.objects.get().id}/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_edit_form_has_the_button_and_the_job_id(alice_client, alice):
    job = make_job(alice, title="Report", url="https://example.com/", timezone="UTC")

    content = alice_client.get(f"/jobs/{job.id}/edit/").content.decode()

    assert f'<input type="hidden" name="job_id" value="{job.id}">' in content
    assert 'hx-post="/jobs/test-run/" hx-include="#job-form" hx-target="#test-run"' in content
