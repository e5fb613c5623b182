"""Status pages and badges in a real browser, under the Content-Security-Policy: alice puts
two tagged jobs on a status page and publishes it; anyone opens it, without JavaScript."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import log_in_as_alice, make_job

pytestmark = pytest.mark.browser


def test_alice_publishes_a_status_page_that_works_without_javascript(
    page: Page, browser: Browser, live_server, transactional_db, alice
):
    billing = make_job(alice, title="Invoices cron", tags=["billing"])
    make_job(alice, title="Backup", tags=["nightly"])
    log_in_as_alice(page, live_server)

    page.goto(f"{live_server.url}/jobs/{billing.id}/")
    badge = page.get_by_role("img", name="Invoices cron: up")
    expect(badge).to_be_visible()
    assert badge.evaluate("image => image.naturalWidth") > 0

    page.get_by_role("link", name="Status pages").click()
    expect(page.get_by_role("img", name="billing badge")).to_be_visible()
    page.get_by_role("button", name="New status page").click()
    page.get_by_label("Title").fill("Acme status")
    page.get_by_label("Address", exact=True).fill("acme")
    page.get_by_label("Published").check()
    page.get_by_label("Invoices cron", exact=True).check()
    page.get_by_label("Public name of “Invoices cron”").fill("Billing")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Acme status”.")).to_be_visible()

    # A visitor with JavaScript off sees the whole page.
    visitor = browser.new_context(java_script_enabled=False)
    public = visitor.new_page()
    public.goto(f"{live_server.url}/status/acme/")
    expect(public.get_by_role("heading", name="Acme status")).to_be_visible()
    expect(public.get_by_text("Billing", exact=True)).to_be_visible()
    expect(public.get_by_text("Up", exact=True)).to_be_visible()
    expect(
        public.get_by_role("list", name="Daily uptime of Billing").get_by_role("listitem")
    ).to_have_count(90)
    assert "Invoices cron" not in public.content()
    visitor.close()
