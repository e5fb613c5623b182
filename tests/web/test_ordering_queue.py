"""An ordering key on the job form and the job page: the key's queue (what runs, what waits,
whether it is stopped) and the Resume queue button."""

from datetime import UTC, datetime
from functools import partial

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Membership, Role
from jobs.engine import tick
from jobs.models import Execution, Job, OrderingKey
from tests.conftest import make_job, make_member, page_text, reloaded
from tests.web.test_job_form import CREATE, job_form_data

SLOT = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
minutely = partial(make_job, schedule="* * * * *", timezone="UTC")
pytestmark = pytest.mark.usefixtures("engine_settings")


@pytest.fixture
def queue(alice, sent, django_capture_on_commit_callbacks) -> tuple[Job, Job]:
    """Two jobs on "billing", ticked at their slot: Charge's run released, Invoice's waiting."""
    with time_machine.travel(datetime(2026, 5, 12, 11, 59, 30, tzinfo=UTC), tick=False) as clock:
        jobs = (
            minutely(alice, title="Charge", ordering_key="billing"),
            minutely(alice, title="Invoice", ordering_key="billing"),
        )
        clock.move_to(SLOT)
        with django_capture_on_commit_callbacks(execute=True):
            tick.tick()
    return jobs


def stop(job: Job) -> Execution:
    failed = job.executions.get()
    Execution.objects.filter(id=failed.id).update(
        status=Execution.Status.FAILED, finished_at=timezone.now()
    )
    OrderingKey.objects.filter(name="billing").update(stopped_at=SLOT, stopped_by=failed)
    return failed


def test_the_job_page_shows_the_keys_queue(alice_client, queue):
    charge, invoice = queue
    running, waiting = charge.executions.get(), invoice.executions.get()

    text = page_text(alice_client.get(f"/jobs/{invoice.id}/"))

    assert "Ordering key billing" in text
    # (the other job's title is a link, which the page text sets apart)
    assert "Runs of Charge , this job go one at a time." in text
    assert f"#{running.id} Charge 12 May, 12:00:00 UTC pending" in text
    assert f"#{waiting.id} Invoice 12 May, 12:00:00 UTC waiting on #{running.id}" in text
    assert "Resume queue" not in text


def test_a_job_without_a_key_shows_no_queue(alice_client, alice):
    job = make_job(alice)

    assert "Ordering key" not in page_text(alice_client.get(f"/jobs/{job.id}/"))


def test_a_stopped_queue_says_so_and_resumes_from_the_page(alice_client, queue):
    charge, invoice = queue
    failed = stop(charge)

    text = page_text(alice_client.get(f"/jobs/{invoice.id}/"))
    assert f"by the failure of run #{failed.id} of Charge" in text
    assert "later runs wait until it is resumed." in text

    response = alice_client.post(f"/jobs/{invoice.id}/resume-queue/", follow=True)

    text = page_text(response)
    assert "The queue “billing” is running again." in text
    assert "Resume queue" not in text
    assert not invoice.executions.get().waiting
    assert not OrderingKey.objects.get(name="billing").is_stopped


def test_a_viewer_cannot_resume_the_queue(client, alice, queue):
    charge, invoice = queue
    stop(charge)
    viewer = make_member("viewer@example.org")
    Membership.objects.create(project=invoice.project, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)

    response = client.post(f"/jobs/{invoice.id}/resume-queue/")

    assert response.status_code == 403
    assert OrderingKey.objects.get(name="billing").is_stopped


def test_the_form_sets_the_key_and_what_a_failure_does(alice_client, alice):
    data = job_form_data(ordering_key="billing", ordering_on_failure="stop")

    response = alice_client.post(CREATE, data)

    assert response.status_code == 302
    job = reloaded(Job.objects.get(title="Nightly report"))
    assert (job.ordering_key, job.ordering_on_failure) == ("billing", "stop")
