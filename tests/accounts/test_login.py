import re

from django.test import Client

from tests.conftest import log_in

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"


def signed_in_as(client: Client) -> str | None:
    """Whom the settings page greets, or None when it sends the visitor to log in."""
    response = client.get("/accounts/settings/")
    if response.status_code == 302:
        return None
    (email,) = re.findall(r"Signed in as <strong>([^<]+)</strong>", response.content.decode())
    return email


def test_it_signs_in_with_the_email_in_any_case(client, alice):
    response = log_in(client, "ALICE@Example.Org")

    assert response.status_code == 302
    assert response.url == "/"
    assert signed_in_as(client) == "alice@example.org"


def test_it_refuses_a_wrong_password_with_a_form_error(client, alice):
    response = log_in(client, "alice@example.org", "wrong password")

    assert response.status_code == 200
    assert "The email address or the password is not correct." in response.content.decode()
    assert signed_in_as(client) is None


def test_it_refuses_an_unknown_email_with_the_same_error(client, alice):
    response = log_in(client, "mallory@example.org")

    assert response.status_code == 200
    assert "The email address or the password is not correct." in response.content.decode()


def test_a_member_who_has_not_confirmed_their_address_cannot_log_in(client, carol, mailoutbox):
    response = log_in(client, "carol@example.org")

    assert response.status_code == 302
    assert response.url == "/accounts/confirm-email/"
    assert "We sent you an email." in client.get(response.url).content.decode()
    assert signed_in_as(client) is None
    (message,) = mailoutbox
    assert message.to == ["carol@example.org"]
    assert message.subject == "Confirm your email address for cronsvc"


def test_the_form_labels_its_fields_and_links_the_other_pages(client, db):
    page = client.get(LOGIN).content.decode()

    assert '<label for="id_login">Email</label>' in page
    assert '<label for="id_password">Password</label>' in page
    assert 'href="/accounts/password/reset/"' in page
    assert 'href="/accounts/signup/"' in page


def test_log_out_signs_the_member_out(alice_client):
    response = alice_client.post(LOGOUT)

    assert response.status_code == 302
    assert signed_in_as(alice_client) is None


def test_a_get_of_log_out_only_asks(alice_client):
    response = alice_client.get(LOGOUT)

    assert response.status_code == 200
    assert signed_in_as(alice_client) == "alice@example.org"


def test_the_admin_signs_in_through_the_same_page(client, staff):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=%2Fadmin%2F"
    log_in(client, "staff@example.org")
    assert client.get("/admin/").status_code == 200


def test_the_old_password_reset_address_still_leads_there(client, db):
    response = client.get("/accounts/password-reset/")

    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/"
