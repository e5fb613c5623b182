"""Alert channels in a real browser: add a webhook channel, send it a test alert and see it
arrive and show as sent, then select the channel on a job's settings."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from alerts import delivery
from alerts.models import Channel
from tests.conftest import closing_connection, log_in_as_alice, make_job
from tests.target import Target

pytestmark = pytest.mark.browser


def deliver_in_another_thread() -> None:
    # Playwright's event loop runs in this thread; the webhook sender runs its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(closing_connection(delivery.deliver_pending)).result(timeout=30)


def test_alice_adds_a_webhook_sends_a_test_and_selects_it_for_a_job(
    page: Page, live_server, transactional_db, alice, private_targets, target: Target
):
    job = make_job(alice, title="Warm the cache")
    log_in_as_alice(page, live_server)

    page.get_by_role("link", name="Channels").click()
    expect(page.get_by_role("heading", name="Alert channels")).to_be_visible()
    page.get_by_label("Kind").select_option(label="Webhook")
    page.get_by_label("Name").fill("Ops hook")
    page.get_by_label("URL").fill(target.url("/ok?token=s3cret"))
    page.get_by_role("button", name="Add channel").click()

    expect(page.get_by_text("“Ops hook” is added.")).to_be_visible()
    hook = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Ops hook"))
    expect(hook).to_contain_text("http://127.0.0.1/…")
    expect(hook).not_to_contain_text("s3cret")
    hook.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("A test alert to “Ops hook” is on its way.")).to_be_visible()
    expect(hook.get_by_role("cell", name="Pending")).to_be_visible()

    deliver_in_another_thread()
    page.reload()

    expect(hook.get_by_role("cell", name="Sent")).to_be_visible()
    (arrival,) = target.requests
    assert arrival.query == {"token": "s3cret"}
    assert b'"type": "test"' in arrival.body

    page.goto(f"{live_server.url}/jobs/{job.id}/edit/")
    page.get_by_text("Notifications").click()
    page.get_by_label("Ops hook").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("“Warm the cache” is saved.")).to_be_visible()
    assert set(job.channels.values_list("name", flat=True)) == {"", "Ops hook"}
    assert job.channels.count() == Channel.objects.count() == 2
