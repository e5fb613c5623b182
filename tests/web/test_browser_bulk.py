"""Many jobs in a real browser: import a crontab file, tag some of the jobs, filter by the
tag, pause all that match, and show them on a public status page."""

import pytest
from playwright.sync_api import Browser, Page, expect

from jobs.models import Job, StatusPage
from tests.conftest import log_in_as_alice

pytestmark = pytest.mark.browser

CRONTAB = """\
MAILTO=ops@example.org
# Billing
*/5 * * * * curl -fsS -u robot:s3cret 'http://127.0.0.1:9/invoices?token=abc123'
0 * * * * curl -fsS -X POST -d 'x' http://127.0.0.1:9/reminders > /dev/null 2>&1
@daily curl -sS http://127.0.0.1:9/backup
"""


def test_alice_imports_a_crontab_tags_filters_and_pauses_what_matches(
    page: Page, browser: Browser, live_server, transactional_db, alice, private_targets, tmp_path
):
    crontab = tmp_path / "crontab.txt"
    crontab.write_text(CRONTAB)
    log_in_as_alice(page, live_server)

    page.get_by_role("link", name="Import").click()
    page.get_by_label("crontab lines").check()
    page.get_by_label("File").set_input_files(str(crontab))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#import-preview")
    expect(preview.get_by_role("heading", name="3 jobs to import")).to_be_visible()
    expect(preview).to_contain_text("GET http://127.0.0.1:9/invoices?token=••••••")
    expect(preview).to_contain_text("password of robot")
    expect(preview).not_to_contain_text("s3cret")
    expect(preview).not_to_contain_text("abc123")
    assert not Job.objects.exists()
    page.get_by_role("button", name="Import these 3").click()
    expect(page.get_by_text("3 jobs imported.")).to_be_visible()

    page.get_by_label("Select GET 127.0.0.1/invoices").check()
    page.get_by_label("Select POST 127.0.0.1/reminders").check()
    page.get_by_label("Action for the selected jobs").select_option(label="Add tag")
    page.get_by_label("Tag to add or remove").fill("billing")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("Add tag: 2 of 2 jobs changed.")).to_be_visible()

    page.get_by_role("link", name="billing").first.click()
    expect(page).to_have_url(f"{live_server.url}/jobs/?tag=billing")
    expect(page.get_by_role("link", name="GET 127.0.0.1/backup")).to_have_count(0)
    page.get_by_label("Select all 2 jobs matching this filter").check()
    page.get_by_label("Action for the selected jobs").select_option(label="Pause")
    page.get_by_role("button", name="Apply to selected").click()

    expect(page.get_by_text("Pause: 2 of 2 jobs changed.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/jobs/?tag=billing")
    expect(page.get_by_role("row").filter(has_text="paused")).to_have_count(2)
    paused = Job.objects.filter(enabled=False).values_list("title", flat=True)
    assert sorted(paused) == ["GET 127.0.0.1/invoices", "POST 127.0.0.1/reminders"]

    page.get_by_role("link", name="Status pages").click()
    page.get_by_role("button", name="New status page").click()
    page.get_by_label("Title").fill("Billing status")
    page.get_by_label("Published").check()
    for title, name in (
        ("GET 127.0.0.1/invoices", "Invoices"),
        ("POST 127.0.0.1/reminders", "Reminders"),
    ):
        page.get_by_label(title, exact=True).check()
        page.get_by_label(f"Public name of “{title}”").fill(name)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Billing status”.")).to_be_visible()
    slug = StatusPage.objects.get().slug  # random: the page shows it to alice

    # Anyone with the address, JavaScript off: both jobs paused, and nothing of their URLs.
    visitor = browser.new_context(java_script_enabled=False)
    public = visitor.new_page()
    public.goto(f"{live_server.url}/status/{slug}/")
    expect(public.get_by_role("heading", name="Billing status")).to_be_visible()
    expect(public.get_by_text("Paused", exact=True)).to_have_count(2)
    assert "127.0.0.1" not in public.content() and "invoices" not in public.content()
    visitor.close()
