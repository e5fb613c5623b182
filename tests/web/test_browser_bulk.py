"""Many jobs in a real browser: import an export file, filter by a tag, pause the selection."""

import json

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.conftest import log_in_as_alice

pytestmark = pytest.mark.browser


def an_export(tmp_path) -> str:
    jobs = [
        {"title": title, "url": f"http://127.0.0.1:9/{n}", "schedule": "@hourly", "tags": tags}
        for n, (title, tags) in enumerate(
            [("Invoices", ["billing"]), ("Reminders", ["billing"]), ("Backup", ["nightly"])]
        )
    ]
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps({"version": 1, "jobs": jobs}))
    return str(path)


def test_alice_imports_jobs_filters_by_tag_and_pauses_the_selection(
    page: Page, live_server, transactional_db, alice, private_targets, tmp_path
):
    log_in_as_alice(page, live_server)

    page.get_by_role("link", name="Import").click()
    page.get_by_label("Export file (JSON)").set_input_files(an_export(tmp_path))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="3 jobs to import")).to_be_visible()
    assert not Job.objects.exists()
    page.get_by_role("button", name="Import all").click()
    expect(page.get_by_text("3 jobs imported.")).to_be_visible()

    page.get_by_role("link", name="billing").first.click()
    expect(page).to_have_url(f"{live_server.url}/jobs/?tag=billing")
    expect(page.get_by_role("link", name="Backup")).to_have_count(0)
    page.get_by_label("Select Invoices").check()
    page.get_by_label("Select Reminders").check()
    page.get_by_label("Action for the selected jobs").select_option(label="Pause")
    page.get_by_role("button", name="Apply to selected").click()

    expect(page.get_by_text("Pause: 2 of 2 jobs changed.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/jobs/?tag=billing")
    paused = Job.objects.filter(enabled=False).values_list("title", flat=True)
    assert sorted(paused) == ["Invoices", "Reminders"]
