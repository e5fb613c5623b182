"""A job's history in a real browser: executions appear on the open job page by themselves
(htmx polling), an execution's page shows the response, and Chart.js draws the charts.

The executions are run by calling the engine's `run_batch` from the test, in a thread of its
own as a worker would (Playwright's sync API keeps an event loop in the test's thread, so
`asyncio.run` cannot run there), against the local target's /flaky route: two failures,
then successes.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from alerts import delivery
from jobs.engine import run_now, worker
from jobs.models import Execution, Job
from tests.conftest import closing_connection, log_in_as_alice, make_job

pytestmark = pytest.mark.browser
POLL_WAIT = 12_000  # ms: the page polls every 5 s


def run_once(job: Job) -> Execution:
    """Run now, then the batch a worker would run for it."""
    execution = run_now.run_now(job)

    with ThreadPoolExecutor(max_workers=1) as worker_thread:
        played = worker_thread.submit(closing_connection(worker.run_batch), [execution.id])
        played.result(timeout=30)
    execution.refresh_from_db()
    assert execution.is_finished
    return execution


def htmx_settled(page: Page) -> None:
    """htmx wires up swapped-in content only once it settles (20 ms on); a change made
    before then would go unnoticed, as no person is quick enough to do."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, "
        ".htmx-added')"
    )


@pytest.fixture
def no_broker(monkeypatch) -> None:
    # The test plays the worker itself; nothing needs to reach Celery.
    monkeypatch.setattr(run_now, "enqueue", lambda execution_ids: None)
    monkeypatch.setattr(delivery.celery_app, "send_task", lambda *args, **kwargs: None)


def test_executions_appear_by_themselves_and_open_with_their_response(
    page: Page, live_server, transactional_db, alice, private_targets, target, no_broker
):
    log_in_as_alice(page, live_server)
    page.get_by_role("button", name="Create your first job").click()
    page.get_by_label("Title").fill("Flaky endpoint")
    page.get_by_label("URL").fill(target.url("/flaky"))
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_text("“Flaky endpoint” is scheduled.")).to_be_visible()
    expect(page.get_by_text("No executions yet.")).to_be_visible()
    job = Job.objects.get()
    # Gone if the page reloads: the rows must come in without one.
    page.evaluate("window.notReloaded = true")

    failed = run_once(job)
    assert (failed.status, failed.http_status) == (Execution.Status.FAILED, 503)
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(1, timeout=POLL_WAIT)
    expect(rows.first).to_contain_text("Failed · 503")

    run_once(job)
    succeeded = run_once(job)
    assert succeeded.status == Execution.Status.SUCCEEDED
    expect(rows).to_have_count(3, timeout=POLL_WAIT)
    expect(rows.nth(0)).to_contain_text("Succeeded · 200")
    expect(rows.nth(0)).to_contain_text("Manual")
    expect(rows.nth(1)).to_contain_text("Failed · 503")
    expect(rows.nth(2)).to_contain_text("Failed · 503")
    assert page.evaluate("window.notReloaded") is True

    # The chart canvas is drawn by Chart.js, at a real size.
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-day'))"
        " && Chart.getChart(document.getElementById('chart-week'))"
    )
    box = page.locator("#chart-day").bounding_box()
    assert box["width"] > 0 and box["height"] > 0
    # Runs are counted in whole numbers: no 0.5 on the axis.
    for chart in ("chart-day", "chart-week"):
        ticks = page.evaluate(
            f"Chart.getChart(document.getElementById('{chart}')).scales.runs.ticks"
            ".map(tick => tick.value)"
        )
        assert len(ticks) > 1 and all(float(tick).is_integer() for tick in ticks), ticks

    rows.nth(0).get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("Succeeded · 200")  # said once
    expect(page.locator("pre.response-body").last).to_have_text("Flaky OK")
    page.get_by_role("link", name="Flaky endpoint").click()
    page.locator("#history tbody tr").nth(2).get_by_role("link").click()
    expect(page.locator("pre.response-body").last).to_have_text("Flaky failure 1")


def test_the_status_filter_changes_the_table_without_a_reload(
    page: Page, live_server, transactional_db, alice, private_targets, target, no_broker
):
    job = make_job(alice, title="Flaky endpoint", url=target.url("/flaky"), timezone="UTC")
    for _ in range(3):
        run_once(job)
    log_in_as_alice(page, live_server)
    page.goto(f"{live_server.url}/jobs/{job.id}/")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.notReloaded = true")
    htmx_settled(page)

    page.get_by_label("Show").select_option(label="failed")

    expect(rows).to_have_count(2)
    htmx_settled(page)
    page.get_by_label("Show").select_option(label="succeeded")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Succeeded · 200")
    assert page.evaluate("window.notReloaded") is True
