"""The List-Unsubscribe link in job emails: no log-in, the signed token names the job; GET
asks, POST (a person's click or a mail app's one-click request) takes the job's email
channels off it (its other channels stay)."""

import pytest
from django.core import signing
from django.test import Client

from alerts import unsubscribe
from jobs.models import Job
from tests.conftest import make_channel, make_job


def emailed(job: Job) -> bool:
    """Whether the job still alerts an email channel."""
    return job.channels.filter(kind="email").exists()


def link(job: Job) -> str:
    """The path of the emailed link."""
    return unsubscribe.link_path(job)


@pytest.fixture
def mail_app() -> Client:
    """Not signed in and holding no CSRF token, as a mail app or another browser is."""
    return Client(enforce_csrf_checks=True)


def test_opening_the_link_asks_first_and_changes_nothing(mail_app, alice):
    job = make_job(alice)

    response = mail_app.get(link(job))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop emails for “Nightly report”?" in page
    assert '<form method="post">' in page
    assert emailed(job)


def test_a_one_click_post_turns_off_all_three_emails_of_that_job_only(mail_app, alice):
    job, other = make_job(alice), make_job(alice, title="Other job")

    response = mail_app.post(link(job), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "You will get no more emails about “Nightly report”" in response.content.decode()
    assert not emailed(job)
    assert emailed(other)


def test_the_jobs_other_channels_stay(mail_app, alice):
    job = make_job(alice)
    hook = make_channel(alice, url="https://hooks.example.com/a")
    job.channels.add(hook)

    mail_app.post(link(job))

    assert list(job.channels.all()) == [hook]


def test_posting_twice_is_harmless(mail_app, alice):
    job = make_job(alice)
    mail_app.post(link(job))

    response = mail_app.post(link(job))

    assert response.status_code == 200
    assert not emailed(job)


def test_the_owner_signed_in_goes_back_to_the_job_with_a_message(client, alice):
    job = make_job(alice)
    client.force_login(alice)

    response = client.post(link(job), follow=True)

    assert response.redirect_chain == [(f"/jobs/{job.id}/", 302)]
    assert "Emails for “Nightly report” are turned off." in response.content.decode()
    assert not emailed(job)


def test_another_member_signed_in_does_not_see_the_job_page(client, alice, bob):
    job = make_job(alice)
    client.force_login(bob)

    response = client.post(link(job))

    assert response.status_code == 200
    assert not emailed(job)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_is_refused(mail_app, alice, method):
    job, other = make_job(alice), make_job(alice, title="Other job")
    # The signature of one job's token with the id of another.
    token = link(job).split("/")[-2]
    other_token = link(other).split("/")[-2]
    forged = other_token.split(":")[0] + ":" + token.split(":", 1)[1]

    response = getattr(mail_app, method)(f"/jobs/unsubscribe/{forged}/")

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert emailed(job) and emailed(other)


def test_a_token_signed_for_something_else_is_refused(mail_app, alice):
    job = make_job(alice)
    token = signing.dumps(job.id)  # signed, but not with the unsubscribe salt

    response = mail_app.post(f"/jobs/unsubscribe/{token}/")

    assert response.status_code == 400
    assert emailed(job)


def test_the_link_of_a_deleted_job_is_not_valid_any_more(mail_app, alice):
    job = make_job(alice)
    path = link(job)
    job.delete()

    response = mail_app.post(path)

    assert response.status_code == 400
