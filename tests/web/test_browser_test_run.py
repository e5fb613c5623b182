"""Test run in a real browser: the button answers at once, the partial polls (htmx, every
second) while a worker process sends the request, and the result replaces it."""

import pytest
from playwright.sync_api import Page, expect

from jobs.models import TestRun
from tests.conftest import log_in_as_alice
from tests.processes import Engine, flush_broker

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_alice_test_runs_a_new_job_and_sees_the_answer(
    page: Page, live_server, transactional_db, alice, private_targets, target, tmp_path
):
    flush_broker()  # nothing left over from another run
    with Engine(tmp_path) as engine:
        engine.start_worker("system", queues="system,test_runs")
        log_in_as_alice(page, live_server)
        page.goto(f"{live_server.url}/jobs/new/")
        page.get_by_label("Title").fill("Warm the cache")
        page.get_by_label("URL").fill(target.url("/html"))

        page.get_by_role("button", name="Test run").click()

        result = page.locator("#test-run")
        expect(result).to_contain_text("Succeeded · HTTP 200", timeout=20_000)
        expect(result).to_contain_text("<script>alert(1)</script>")  # shown, not run
        expect(result).to_contain_text("This test run is not kept in the job's history.")

    assert TestRun.objects.get().status == TestRun.Status.DONE
    assert len(target.requests) == 1
