import pytest
from django.test import Client

from tests.conftest import PASSWORD, add_confirmed_address

SETTINGS = "/accounts/settings/"
CHANGE_PASSWORD = "/accounts/password/change/"
NEW_PASSWORD = "quiet lantern orbit 7"


def save(client: Client, **fields: str) -> object:
    return client.post(SETTINGS, {"timezone": "Europe/Berlin", "notification_email": "", **fields})


def change_password(
    client: Client, old: str = PASSWORD, new: str = NEW_PASSWORD, again: str = ""
) -> object:
    return client.post(
        CHANGE_PASSWORD, {"oldpassword": old, "password1": new, "password2": again or new}
    )


def test_it_shows_the_member_their_settings(alice_client):
    page = alice_client.get(SETTINGS).content.decode()

    assert "Signed in as <strong>alice@example.org</strong>." in page
    assert "Notifications go to <strong>alice@example.org</strong>." in page
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page


def test_it_saves_a_new_timezone(alice_client, alice):
    response = save(alice_client, timezone="America/New_York")

    assert response.status_code == 302
    assert response.url == SETTINGS
    assert "Settings saved." in alice_client.get(SETTINGS).content.decode()
    alice.refresh_from_db()
    assert alice.timezone == "America/New_York"


def test_it_refuses_an_unknown_timezone(alice_client, alice):
    response = save(alice_client, timezone="Mars/Olympus_Mons")

    assert response.status_code == 200
    assert "Select a valid choice. Mars/Olympus_Mons is not one of the available choices." in (
        response.content.decode()
    )
    alice.refresh_from_db()
    assert alice.timezone == "Europe/Berlin"


def test_alerts_can_go_to_another_confirmed_address(alice_client, alice):
    add_confirmed_address(alice, "alerts@example.net")
    page = alice_client.get(SETTINGS).content.decode()
    assert '<option value="alerts@example.net">alerts@example.net</option>' in page

    save(alice_client, notification_email="alerts@example.net")

    page = alice_client.get(SETTINGS).content.decode()
    assert "Notifications go to <strong>alerts@example.net</strong>." in page
    alice.refresh_from_db()
    assert alice.alert_address == "alerts@example.net"
    assert alice.email == "alice@example.org"


def test_only_a_confirmed_address_of_the_members_can_be_chosen(alice_client, alice, bob):
    alice.emailaddress_set.create(email="unconfirmed@example.net", verified=False)

    for address in ["unconfirmed@example.net", "bob@example.org", "elsewhere@example.net"]:
        response = save(alice_client, notification_email=address)

        assert response.status_code == 200
        assert f"Select a valid choice. {address} is not one of the available choices." in (
            response.content.decode()
        )
    alice.refresh_from_db()
    assert alice.notification_email == ""
    assert alice.alert_address == "alice@example.org"


def test_an_empty_choice_goes_back_to_the_sign_in_address(alice_client, alice):
    add_confirmed_address(alice, "alerts@example.net")
    alice.notification_email = "alerts@example.net"
    alice.save()

    save(alice_client, notification_email="")

    alice.refresh_from_db()
    assert alice.alert_address == "alice@example.org"


def test_an_address_removed_later_no_longer_gets_alerts(alice, mailoutbox):
    address = add_confirmed_address(alice, "alerts@example.net")
    alice.notification_email = "alerts@example.net"
    alice.save()

    address.delete()

    assert alice.alert_address == "alice@example.org"


def test_it_changes_the_password_and_keeps_the_member_signed_in(alice_client, alice):
    response = change_password(alice_client)

    assert response.status_code == 302
    page = alice_client.get(SETTINGS).content.decode()
    assert "Password successfully changed." in page
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_password_change_signs_out_other_sessions(alice_client, alice):
    elsewhere = Client()
    elsewhere.force_login(alice)

    change_password(alice_client)

    assert elsewhere.get(SETTINGS).status_code == 302


def test_it_refuses_a_wrong_old_password(alice_client, alice):
    response = change_password(alice_client, old="not it")

    assert response.status_code == 200
    assert "Please type your current password." in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_it_refuses_new_passwords_that_differ(alice_client, alice):
    response = change_password(alice_client, again="other one")

    assert response.status_code == 200
    assert "You must type the same password each time." in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize(
    "path",
    [
        SETTINGS,
        CHANGE_PASSWORD,
        "/accounts/email/",
        "/accounts/2fa/",
        "/accounts/sessions/",
        "/accounts/settings/delete/",
        "/accounts/settings/api-keys/",
    ],
)
def test_settings_pages_ask_visitors_to_log_in(client, db, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_the_settings_link_every_settings_page(alice_client):
    page = alice_client.get(SETTINGS).content.decode()

    for path in [
        "/accounts/email/",
        CHANGE_PASSWORD,
        "/accounts/2fa/",
        "/accounts/sessions/",
        "/accounts/settings/api-keys/",
        "/accounts/settings/delete/",
    ]:
        assert f'href="{path}"' in page


def test_the_old_password_page_leads_to_the_new_one(alice_client):
    response = alice_client.get("/accounts/settings/password/")

    assert response.status_code == 302
    assert response.url == CHANGE_PASSWORD
