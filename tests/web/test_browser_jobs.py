"""A job's life in a real browser: create with a preset, watch the live preview, edit to a custom
schedule, pause, resume, delete.

Fields are found by their labels and controls by their roles, so the pages also work for
people who do not see them. The preview and the preset fields need htmx and job_form.js to
load and run, which only a browser shows.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.conftest import log_in_as_alice

pytestmark = pytest.mark.browser


def test_alice_creates_edits_pauses_resumes_and_deletes_a_job(
    page: Page, live_server, transactional_db, alice, private_targets
):
    preview = page.locator("#schedule-preview")
    log_in_as_alice(page, live_server)

    page.get_by_role("button", name="Create your first job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    page.get_by_label("Title").fill("Warm the cache")
    page.get_by_label("URL").fill("http://127.0.0.1:9/warm")
    methods = page.get_by_label("Method").locator("option").all_inner_texts()
    assert methods == ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    expect(page.get_by_label("Runs")).to_have_value("every_n_minutes")
    expect(page.get_by_label("Timezone")).to_have_value("Europe/Berlin")
    # Only the inputs of the chosen preset show.
    expect(page.get_by_label("At minute")).to_be_hidden()
    expect(page.get_by_label("Cron expression")).to_be_hidden()
    expect(preview).to_contain_text("Every 5 minutes")
    page.get_by_label("Every", exact=True).select_option(label="15 minutes")

    expect(preview).to_contain_text("Every 15 minutes")
    expect(preview.get_by_role("listitem")).to_have_count(3)
    expect(preview.get_by_role("listitem").first).to_contain_text("CE")  # CET or CEST
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_text("“Warm the cache” is scheduled.")).to_be_visible()
    job = Job.objects.get()
    assert (job.user, job.schedule, job.timezone) == (alice, "*/15 * * * *", "Europe/Berlin")

    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Every", exact=True)).to_have_value("15")
    page.get_by_label("Runs").select_option(label="Custom cron expression")
    expect(page.get_by_label("Every", exact=True)).to_be_hidden()
    expression = page.get_by_label("Cron expression")
    expect(expression).to_be_visible()
    expression.fill("30 4 * * 1")

    expect(preview).to_contain_text("At 04:30, only on Monday")
    expect(preview.get_by_role("listitem")).to_have_count(3)
    expect(preview.get_by_role("listitem").first).to_contain_text(re.compile(r"^Mon .* 04:30 "))
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("“Warm the cache” is saved.")).to_be_visible()
    expect(page.get_by_text("At 04:30, only on Monday")).to_be_visible()
    job.refresh_from_db()
    assert job.schedule == "30 4 * * 1"

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("“Warm the cache” is paused.")).to_be_visible()
    expect(page.get_by_text("Paused: it does not run until you resume it.")).to_be_visible()
    job.refresh_from_db()
    assert (job.enabled, job.next_run_at) == (False, None)

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("“Warm the cache” is running again.")).to_be_visible()
    expect(page.locator(".next-runs").get_by_role("listitem")).to_have_count(3)
    job.refresh_from_db()
    assert job.enabled
    assert job.next_run_at is not None

    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete “Warm the cache”?")).to_be_visible()
    page.get_by_role("button", name="Delete the job").click()

    expect(page.get_by_text("“Warm the cache” and its history are deleted.")).to_be_visible()
    expect(page.get_by_text("No jobs yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Warm the cache")).to_have_count(0)
    assert not Job.objects.exists()


def test_the_preview_shows_a_mistake_in_a_custom_expression(
    page: Page, live_server, transactional_db, alice
):
    log_in_as_alice(page, live_server)
    page.goto(f"{live_server.url}/jobs/new/")

    page.get_by_label("Runs").select_option(label="Custom cron expression")
    page.get_by_label("Cron expression").fill("61 * * * *")

    expect(page.locator("#schedule-preview")).to_contain_text(
        "the minute field “61” is not valid (allowed: 0 to 59)."
    )
    expect(page.locator("#schedule-preview").get_by_role("listitem")).to_have_count(0)


def test_a_value_left_in_a_preset_the_member_moved_away_from_does_not_count(
    page: Page, live_server, transactional_db, alice, private_targets
):
    preview = page.locator("#schedule-preview")
    log_in_as_alice(page, live_server)
    page.goto(f"{live_server.url}/jobs/new/")
    page.get_by_label("Title").fill("Morning digest")
    page.get_by_label("URL").fill("http://127.0.0.1:9/digest")

    page.get_by_label("Runs").select_option(label="Every hour at minute M")
    page.get_by_label("At minute").fill("75")
    expect(preview).to_contain_text("At minute: Ensure this value is less than or equal to 59.")
    page.get_by_label("Runs").select_option(label="Every day at a time")
    page.get_by_label("At (HH:MM)").fill("06:30")
    expect(preview).to_contain_text("At 06:30")
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_text("“Morning digest” is scheduled.")).to_be_visible()
    assert Job.objects.get().schedule == "30 6 * * *"


def test_alice_makes_a_job_that_runs_once_and_one_that_runs_after_it(
    page: Page, live_server, transactional_db, alice, private_targets
):
    log_in_as_alice(page, live_server)
    page.goto(f"{live_server.url}/jobs/new/")
    page.get_by_label("Title").fill("Export")
    page.get_by_label("URL").fill("http://127.0.0.1:9/export")

    page.get_by_label("Once, at a set time").check()
    expect(page.get_by_label("Runs", exact=True)).to_be_hidden()
    page.get_by_label("Run once at").fill("2099-01-02T03:04")
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_text("Once at Fri 2 Jan 2099, 03:04 CET, then paused.")).to_be_visible()
    page.goto(f"{live_server.url}/jobs/new/")
    page.get_by_label("Title").fill("Import")
    page.get_by_label("URL").fill("http://127.0.0.1:9/import")
    page.get_by_label("Only after another job").check()
    expect(page.get_by_label("Run once at")).to_be_hidden()
    page.get_by_label("Run after").select_option(label="Export")
    page.get_by_label("When it", exact=True).select_option(label="succeeds")
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_text("Runs after Export when it succeeds.")).to_be_visible()
    page.get_by_role("link", name="Export").click()
    expect(page.get_by_text("Triggers Import when this job succeeds.")).to_be_visible()
