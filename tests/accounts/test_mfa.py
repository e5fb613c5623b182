"""Two-factor sign-in (allauth.mfa): whoever turns it on is asked for it at every log-in."""

from django.test import Client

import accounts
from tests.conftest import log_in, reauthenticate, recovery_codes, totp_code

SECOND_STEP = "/accounts/2fa/authenticate/"
SETTINGS = "/accounts/settings/"


def signed_in(client: Client) -> bool:
    return client.get(SETTINGS).status_code == 200


def test_the_password_alone_does_not_sign_in_once_two_factor_is_on(client, alice_totp):
    response = log_in(client, "alice@example.org")

    assert response.status_code == 302
    assert response.url == SECOND_STEP
    page = client.get(SECOND_STEP).content.decode()
    assert "Enter the code from your authenticator app, or one of your recovery codes." in page
    assert not signed_in(client)


def test_the_code_from_the_app_signs_in(client, alice_totp):
    log_in(client, "alice@example.org")

    response = client.post(SECOND_STEP, {"code": totp_code(alice_totp)})

    assert response.status_code == 302
    assert response.url == "/"
    assert signed_in(client)


def test_a_wrong_code_does_not_sign_in(client, alice_totp):
    log_in(client, "alice@example.org")
    wrong = totp_code(alice_totp, seconds_later=300)

    response = client.post(SECOND_STEP, {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(client, alice, alice_totp):
    code, *_ = recovery_codes(alice)
    log_in(client, "alice@example.org")

    assert client.post(SECOND_STEP, {"code": code}).url == "/"
    assert signed_in(client)

    again = Client()
    log_in(again, "alice@example.org")
    assert again.post(SECOND_STEP, {"code": code}).status_code == 200
    assert not signed_in(again)


def test_a_member_turns_on_the_authenticator_app_and_is_asked_for_it_next_time(alice_client):
    reauthenticate(alice_client)
    page = alice_client.get("/accounts/2fa/totp/activate/").content.decode()
    secret = alice_client.session["mfa.totp.secret"]
    assert secret in page

    response = alice_client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})

    assert response.status_code == 302
    alice_client.post("/accounts/logout/")
    assert log_in(alice_client, "alice@example.org").url == SECOND_STEP


def test_turning_it_on_asks_for_the_password_again_first(alice_client):
    response = alice_client.get("/accounts/2fa/totp/activate/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/reauthenticate/")


def test_mfa_enabled_tells_whether_a_member_has_a_second_factor(alice, bob, alice_totp):
    assert accounts.mfa_enabled(alice)
    assert not accounts.mfa_enabled(bob)


def test_settings_say_whether_it_is_on_and_link_it(client, alice, alice_totp, bob):
    client.force_login(alice)
    page = client.get(SETTINGS).content.decode()
    assert "Two-factor sign-in is <strong>on</strong>." in page
    assert '<a href="/accounts/2fa/">Manage it</a>' in page

    client.force_login(bob)
    page = client.get(SETTINGS).content.decode()
    assert "Two-factor sign-in is <strong>off</strong>." in page
    assert '<a href="/accounts/2fa/">Turn it on</a>' in page
    assert 'href="/accounts/sessions/"' in page


def test_the_two_factor_pages_answer(alice_client, alice_totp):
    reauthenticate(alice_client)

    for path in [
        "/accounts/2fa/",
        "/accounts/2fa/recovery-codes/",
        "/accounts/2fa/webauthn/add/",
        "/accounts/2fa/totp/deactivate/",
        "/accounts/sessions/",
        "/accounts/email/",
        "/accounts/password/change/",
    ]:
        assert alice_client.get(path).status_code == 200, path
