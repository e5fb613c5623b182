"""Confirming an address: the emailed link opens a page whose button (a POST) confirms,
so a mail scanner that follows the link confirms nothing."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, User
from accounts.projects import personal_project
from jobs.models import Job
from tests.conftest import log_in

SIGNUP = "/accounts/signup/"
SETTINGS = "/accounts/settings/"
EMAILS = "/accounts/email/"


def sign_up_dave(client: Client, mailoutbox: list, emailed_link) -> str:
    """Sign up through the form and return the path of the link in the email."""
    client.post(SIGNUP, {"email": "dave@example.org", "password1": "plum tree harbour 42"})
    (message,) = mailoutbox
    return urlsplit(emailed_link(message)).path


def dave() -> User:
    return User.objects.get(email="dave@example.org")


def test_opening_the_link_shows_a_button_and_confirms_nothing(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)

    response = Client().get(link)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Confirm that <strong>dave@example.org</strong> is your address" in page
    assert f'<form method="post" action="{link}">' in page
    assert not dave().is_verified


def test_the_button_confirms_the_address(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)
    # Opened later from the mailbox, in a browser that is not signed in.
    browser = Client()

    response = browser.post(link)

    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    assert "You have confirmed dave@example.org." in browser.get(response.url).content.decode()
    assert dave().is_verified
    assert dave().alert_address == "dave@example.org"
    # Another browser is not signed in by the link: it must log in.
    assert browser.get(SETTINGS).status_code == 302
    assert log_in(browser, "dave@example.org", "plum tree harbour 42").url == "/"


def test_confirming_in_the_browser_that_signed_up_signs_it_in(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)

    client.post(link)

    page = client.get(SETTINGS).content.decode()
    assert "Signed in as <strong>dave@example.org</strong>." in page


def test_a_tampered_link_is_refused_and_changes_nothing(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)
    key = link.split("/")[-2]
    tampered = link.replace(key, key[:-1] + ("A" if key[-1] != "A" else "B"))

    assert "This link has expired or is not valid." in client.get(tampered).content.decode()
    assert client.post(tampered).status_code == 404
    assert not dave().is_verified


def test_a_link_still_works_just_before_three_days(client, db, mailoutbox, emailed_link):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        link = sign_up_dave(client, mailoutbox, emailed_link)
        traveller.shift(timedelta(days=3) - timedelta(minutes=1))

        client.post(link)

    assert dave().is_verified


def test_an_expired_link_is_refused_and_changes_nothing(client, db, mailoutbox, emailed_link):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        link = sign_up_dave(client, mailoutbox, emailed_link)
        traveller.shift(timedelta(days=3, minutes=1))

        page = client.get(link).content.decode()
        response = client.post(link)

    assert "This link has expired or is not valid." in page
    assert response.status_code == 404
    assert not dave().is_verified


@pytest.mark.parametrize(
    "method, path", [("get", SETTINGS), ("get", "/jobs/new/"), ("post", "/jobs/new/")]
)
def test_a_session_counts_only_once_the_address_is_confirmed(client, carol, method, path):
    # allauth signs no one in before they confirm; a session made any other way (an
    # address unconfirmed later, a session from before) does not count either.
    client.force_login(carol)

    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert not Job.objects.exists()


def test_a_new_address_is_confirmed_by_its_own_link(alice_client, alice, mailoutbox, emailed_link):
    alice_client.post(EMAILS, {"action_add": "", "email": "alerts@example.net"})

    (message,) = mailoutbox
    assert message.to == ["alerts@example.net"]
    assert not EmailAddress.objects.get(email="alerts@example.net").verified
    alice_client.post(urlsplit(emailed_link(message)).path)
    address = EmailAddress.objects.get(email="alerts@example.net")
    assert address.verified
    assert not address.primary
    assert alice.alert_address == "alice@example.org"


def test_confirming_a_new_address_revokes_older_keys_and_ends_other_sessions(
    client, alice, mailoutbox, emailed_link
):
    log_in(client, "alice@example.org")
    elsewhere = Client()
    log_in(elsewhere, "alice@example.org")
    key, _ = ApiKey.issue(user=alice, project=personal_project(alice), name="deploy script")
    client.post(EMAILS, {"action_add": "", "email": "alerts@example.net"})

    response = client.post(urlsplit(emailed_link(mailoutbox[0])).path, follow=True)

    page = response.content.decode()
    assert (
        "You confirmed alerts@example.net, so the API keys made before it are revoked: "
        f"“deploy script” ({key.prefix}…)."
    ) in page
    key.refresh_from_db()
    assert key.is_revoked
    assert elsewhere.get(SETTINGS).status_code == 302
    assert client.get(SETTINGS).status_code == 200
