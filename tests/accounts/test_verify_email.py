from datetime import timedelta
from urllib.parse import urlsplit

import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import User

SIGNUP = "/accounts/signup/"
RESEND = "/accounts/verify-again/"
SETTINGS = "/accounts/settings/"
API_KEYS = "/accounts/settings/api-keys/"


def sign_up_dave(client: Client, mailoutbox: list, emailed_link) -> str:
    """Sign up through the form and return the path of the link in the email."""
    client.post(SIGNUP, {"email": "dave@example.org", "password": "plum tree harbour 42"})
    (message,) = mailoutbox
    return urlsplit(emailed_link(message)).path


def test_the_emailed_link_verifies_the_address(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)

    # Opened later from the mailbox, in a browser that is not signed in.
    browser = Client()
    response = browser.get(link)

    assert response.status_code == 302
    page = browser.get("/accounts/login/").content.decode()
    assert "Your email address is confirmed. You can create jobs now." in page
    dave = User.objects.get(email="dave@example.org")
    assert dave.is_verified
    assert dave.notification_email == ""


def test_the_banner_goes_once_the_address_is_verified(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)

    client.get(link)

    page = client.get(SETTINGS).content.decode()
    assert "Signed in as <strong>dave@example.org</strong> (confirmed)." in page
    assert "Confirm your email address" not in page
    assert "Send the link again" not in page


def test_a_tampered_link_is_refused_and_changes_nothing(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)
    token = link.split("/")[-2]
    tampered = link.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))

    response = client.get(tampered)

    assert response.status_code == 400
    page = response.content.decode()
    assert "We could not confirm this address" in page
    assert "This link is not valid. Check that you copied all of it." in page
    assert not User.objects.get(email="dave@example.org").is_verified


def test_a_link_still_works_just_before_three_days(client, db, mailoutbox, emailed_link):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        link = sign_up_dave(client, mailoutbox, emailed_link)
        traveller.shift(timedelta(days=3) - timedelta(minutes=1))

        response = client.get(link)

    assert response.status_code == 302
    assert User.objects.get(email="dave@example.org").is_verified


def test_an_expired_link_is_refused_and_changes_nothing(client, db, mailoutbox, emailed_link):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        link = sign_up_dave(client, mailoutbox, emailed_link)
        traveller.shift(timedelta(days=3, minutes=1))

        response = client.get(link)

    assert response.status_code == 400
    assert "This link has expired. Log in and ask for a new one." in response.content.decode()
    assert not User.objects.get(email="dave@example.org").is_verified


def test_a_link_for_a_deleted_account_is_refused(client, db, mailoutbox, emailed_link):
    link = sign_up_dave(client, mailoutbox, emailed_link)
    User.objects.filter(email="dave@example.org").delete()

    response = client.get(link)

    assert response.status_code == 400
    assert "This link is for an account that no longer exists." in response.content.decode()


def test_an_unverified_member_sees_the_banner(client, carol):
    client.force_login(carol)

    page = client.get(SETTINGS).content.decode()

    assert "Confirm your email address (carol@example.org) to create jobs." in page
    assert f'action="{RESEND}"' in page
    assert "Send the link again" in page


def test_a_verified_member_sees_no_banner(alice_client):
    page = alice_client.get(SETTINGS).content.decode()

    assert "Confirm your email address" not in page
    assert RESEND not in page


def test_the_resend_link_sends_a_new_link_that_works(client, carol, mailoutbox, emailed_link):
    client.force_login(carol)

    response = client.post(RESEND, {"next": API_KEYS})

    assert response.status_code == 302
    assert response.url == API_KEYS
    page = client.get(API_KEYS).content.decode()
    assert "We sent a new confirmation link to carol@example.org." in page
    (message,) = mailoutbox
    assert message.to == ["carol@example.org"]
    assert message.subject == "Confirm your email address for cronsvc"
    client.get(urlsplit(emailed_link(message)).path)
    carol.refresh_from_db()
    assert carol.is_verified


def test_the_resend_link_sends_nothing_to_a_verified_member(alice_client, mailoutbox):
    response = alice_client.post(RESEND, {"next": SETTINGS}, follow=True)

    assert "Your email address is already confirmed." in response.content.decode()
    assert mailoutbox == []


def test_the_resend_link_does_not_redirect_off_the_site(client, carol):
    client.force_login(carol)

    response = client.post(RESEND, {"next": "https://evil.example/phish"})

    assert response.status_code == 302
    assert response.url == SETTINGS


def test_the_resend_link_needs_a_post(client, carol, mailoutbox):
    client.force_login(carol)

    assert client.get(RESEND).status_code == 405
    assert mailoutbox == []


def test_the_resend_link_needs_a_signed_in_member(client, db, mailoutbox):
    response = client.post(RESEND)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert mailoutbox == []
