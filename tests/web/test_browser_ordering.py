"""An ordering key in a real browser: set on the job form, its stopped queue shown on the job
page, and resumed with the Resume queue button."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from jobs.models import Execution, Job, OrderingKey
from tests.conftest import log_in_as_alice, make_job

pytestmark = pytest.mark.browser


def test_alice_puts_a_job_on_a_key_and_resumes_its_stopped_queue(
    page: Page, live_server, transactional_db, alice, private_targets
):
    charge = make_job(alice, title="Charge", ordering_key="billing", ordering_on_failure="stop")
    failed = Execution.objects.create(
        job=charge,
        scheduled_for=timezone.now(),
        status=Execution.Status.FAILED,
        finished_at=timezone.now(),
    )
    OrderingKey.objects.create(
        project=charge.project, name="billing", stopped_at=timezone.now(), stopped_by=failed
    )
    log_in_as_alice(page, live_server)

    page.goto(f"{live_server.url}/jobs/new/")
    page.get_by_label("Title").fill("Invoice")
    page.get_by_label("URL").fill("http://127.0.0.1:9/invoice")
    page.get_by_label("Ordering key").fill("billing")
    page.get_by_label("When a run fails").select_option(label="the queue goes on")
    page.get_by_role("button", name="Create job").click()

    queue = page.locator("#ordering-queue")
    expect(queue).to_contain_text("Ordering key billing stopped")
    expect(queue).to_contain_text(f"by the failure of run #{failed.id} of Charge")
    invoice = Job.objects.get(title="Invoice")
    assert (invoice.ordering_key, invoice.ordering_on_failure) == ("billing", "continue")

    queue.get_by_role("button", name="Resume queue").click()

    expect(page.get_by_text("The queue “billing” is running again.")).to_be_visible()
    expect(page.locator("#ordering-queue")).not_to_contain_text("stopped")
    assert not OrderingKey.objects.get(name="billing").is_stopped
