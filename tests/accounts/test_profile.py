from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.conftest import PASSWORD

SETTINGS = "/accounts/settings/"
CHANGE_PASSWORD = "/accounts/settings/password/"
NEW_PASSWORD = "quiet lantern orbit 7"


def save(client: Client, **fields: str) -> object:
    return client.post(SETTINGS, {"timezone": "Europe/Berlin", "notification_email": "", **fields})


def test_it_shows_the_member_their_settings(alice_client):
    page = alice_client.get(SETTINGS).content.decode()

    assert "Signed in as <strong>alice@example.org</strong> (confirmed)." in page
    assert "Notifications go to <strong>alice@example.org</strong>." in page
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page


def test_it_saves_a_new_timezone(alice_client, alice):
    response = save(alice_client, timezone="America/New_York")

    assert response.status_code == 302
    assert response.url == SETTINGS
    assert "Settings saved." in alice_client.get(SETTINGS).content.decode()
    alice.refresh_from_db()
    assert alice.timezone == "America/New_York"


def test_it_refuses_an_unknown_timezone(alice_client, alice, mailoutbox):
    response = save(alice_client, timezone="Mars/Olympus_Mons", notification_email="a@example.net")

    assert response.status_code == 200
    assert "Select a valid choice. Mars/Olympus_Mons is not one of the available choices." in (
        response.content.decode()
    )
    alice.refresh_from_db()
    assert alice.timezone == "Europe/Berlin"
    assert mailoutbox == []


def test_a_new_notification_email_waits_for_its_link(alice_client, alice, mailoutbox, emailed_link):
    save(alice_client, notification_email="alerts@example.net")

    page = alice_client.get(SETTINGS).content.decode()
    assert "Follow the link we sent to alerts@example.net to start using it." in page
    assert "Notifications go to <strong>alice@example.org</strong>." in page
    alice.refresh_from_db()
    assert alice.alert_address == "alice@example.org"
    (message,) = mailoutbox
    assert message.to == ["alerts@example.net"]
    assert message.subject == "Confirm your email address for cronsvc"
    assert "Please confirm that alerts@example.net is your address" in message.body

    alice_client.get(urlsplit(emailed_link(message)).path)

    page = alice_client.get(SETTINGS).content.decode()
    assert "Job notifications will go to alerts@example.net." in page
    assert "Notifications go to <strong>alerts@example.net</strong>." in page
    alice.refresh_from_db()
    assert alice.alert_address == "alerts@example.net"
    assert alice.email == "alice@example.org"


def test_an_empty_notification_email_goes_back_to_the_sign_in_address(
    alice_client, alice, mailoutbox
):
    alice.notification_email = "alerts@example.net"
    alice.save()

    save(alice_client, notification_email="")

    alice.refresh_from_db()
    assert alice.alert_address == "alice@example.org"
    assert mailoutbox == []


def test_the_sign_in_address_needs_no_new_link(alice_client, alice, mailoutbox):
    alice.notification_email = "alerts@example.net"
    alice.save()

    save(alice_client, notification_email="ALICE@example.org")

    alice.refresh_from_db()
    assert alice.notification_email == ""
    assert mailoutbox == []


def test_an_unchanged_notification_email_sends_nothing(alice_client, alice, mailoutbox):
    alice.notification_email = "alerts@example.net"
    alice.save()

    save(alice_client, notification_email="alerts@example.net", timezone="Asia/Tokyo")

    alice.refresh_from_db()
    assert alice.notification_email == "alerts@example.net"
    assert alice.timezone == "Asia/Tokyo"
    assert mailoutbox == []


def test_it_refuses_an_invalid_notification_email(alice_client, alice, mailoutbox):
    response = save(alice_client, notification_email="alerts@", timezone="Asia/Tokyo")

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    alice.refresh_from_db()
    assert alice.timezone == "Europe/Berlin"
    assert mailoutbox == []


def test_it_changes_the_password_and_keeps_the_member_signed_in(alice_client, alice):
    response = alice_client.post(
        CHANGE_PASSWORD,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    page = alice_client.get(SETTINGS).content.decode()
    assert "Your password has been changed." in page
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_password_change_signs_out_other_sessions(alice_client, alice):
    elsewhere = Client()
    elsewhere.force_login(alice)

    alice_client.post(
        CHANGE_PASSWORD,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert elsewhere.get(SETTINGS).status_code == 302


def test_it_refuses_a_wrong_old_password(alice_client, alice):
    response = alice_client.post(
        CHANGE_PASSWORD,
        {"old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_it_refuses_new_passwords_that_differ(alice_client, alice):
    response = alice_client.post(
        CHANGE_PASSWORD,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": "other one"},
    )

    assert response.status_code == 200
    # Django writes the apostrophe of "didn't" as U+2019.
    assert "The two password fields didn\u2019t match." in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize(
    "path",
    [
        SETTINGS,
        CHANGE_PASSWORD,
        "/accounts/settings/delete/",
        "/accounts/settings/api-keys/",
    ],
)
def test_settings_pages_ask_visitors_to_log_in(client, db, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={path}"


def test_an_unconfirmed_member_is_told_alerts_wait_for_the_confirmation(client, carol):
    client.force_login(carol)

    page = client.get(SETTINGS).content.decode()

    assert "Notifications start once you confirm your email address." in page
    assert "Notifications go to" not in page
    assert carol.alert_address is None
