import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
HOME_ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.20"


def log_in(
    client: Client, email: str, password: str = PASSWORD, *, address: str = HOME_ADDRESS
) -> object:
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client) -> str | None:
    """Whom the settings page greets, or None when it sends the visitor to log in."""
    response = client.get("/accounts/settings/")
    if response.status_code == 302:
        return None
    (email,) = re.findall(r"Signed in as <strong>([^<]+)</strong>", response.content.decode())
    return email


def lock_out_alice(client: Client) -> None:
    for _ in range(5):
        log_in(client, "alice@example.org", "wrong password")


def test_it_signs_in_with_the_email_in_any_case(client, alice):
    response = log_in(client, "ALICE@Example.Org")

    assert response.status_code == 302
    assert response.url == "/"
    assert signed_in_as(client) == "alice@example.org"


def test_it_refuses_a_wrong_password_with_a_form_error(client, alice):
    response = log_in(client, "alice@example.org", "wrong password")

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in response.content.decode()
    assert signed_in_as(client) is None


def test_it_refuses_an_unknown_email_with_the_same_error(client, alice):
    response = log_in(client, "mallory@example.org")

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in response.content.decode()


def test_the_form_labels_its_fields(client, db):
    page = client.get(LOGIN).content.decode()

    assert '<label for="id_username">Email</label>' in page
    assert '<label for="id_password">Password</label>' in page
    assert 'href="/accounts/password-reset/"' in page


def test_log_out_signs_the_member_out(alice_client):
    response = alice_client.post(LOGOUT)

    assert response.status_code == 302
    assert signed_in_as(alice_client) is None


def test_log_out_needs_a_post(alice_client):
    assert alice_client.get(LOGOUT).status_code == 405
    assert signed_in_as(alice_client) == "alice@example.org"


def test_four_failures_do_not_lock_the_account(client, alice):
    for _ in range(4):
        log_in(client, "alice@example.org", "wrong password")

    assert log_in(client, "alice@example.org").status_code == 302


def test_five_failures_lock_the_account_even_for_the_right_password(client, alice):
    lock_out_alice(client)

    response = log_in(client, "alice@example.org")

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins" in page
    assert "Try again in 15 minutes" in page
    assert 'href="/accounts/password-reset/"' in page
    assert signed_in_as(client) is None


def test_failures_count_for_the_account_however_the_email_is_typed(client, alice):
    for email in ["alice@example.org", "ALICE@example.org", "Alice@Example.org"] * 2:
        log_in(client, email, "wrong password")

    assert log_in(client, "alice@example.org").status_code == 429


def test_the_lock_does_not_stop_another_account_from_the_same_address(client, alice, bob):
    lock_out_alice(client)

    response = log_in(client, "bob@example.org")

    assert response.status_code == 302
    assert signed_in_as(client) == "bob@example.org"


def test_the_lock_does_not_stop_the_same_account_from_another_address(client, alice):
    lock_out_alice(client)

    response = log_in(client, "alice@example.org", address=OTHER_ADDRESS)

    assert response.status_code == 302
    assert signed_in_as(client) == "alice@example.org"


@pytest.mark.parametrize(
    ("wait", "status"),
    [(timedelta(minutes=14, seconds=59), 429), (timedelta(minutes=15, seconds=1), 302)],
)
def test_the_lock_lifts_after_fifteen_minutes(client, alice, wait, status):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        lock_out_alice(client)
        traveller.shift(wait)

        assert log_in(client, "alice@example.org").status_code == status


def test_a_success_before_the_limit_starts_the_count_again(client, alice):
    for _ in range(4):
        log_in(client, "alice@example.org", "wrong password")
    log_in(client, "alice@example.org")
    client.post(LOGOUT)

    for _ in range(4):
        log_in(client, "alice@example.org", "wrong password")

    assert log_in(client, "alice@example.org").status_code == 302
