"""accounts/lockout.py: failed log-ins lock out unknown devices, never the member's own.

A client that logged in before carries the device cookie; a fresh Client is an unknown
device. REMOTE_ADDR is the address the attempts come from."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts import lockout
from tests.conftest import log_in

OFFICE = "203.0.113.7"  # one address for everyone behind the office's proxy
ELSEWHERE = "198.51.100.20"
LOCKED = "Too many failed sign-ins. Try again in 15 minutes, or reset your password."


def attempt(client: Client, password: str = "", *, address: str = OFFICE) -> object:
    """A log-in as alice: with the right password unless one is given."""
    if password:
        return log_in(client, "alice@example.org", password, REMOTE_ADDR=address)
    return log_in(client, "alice@example.org", REMOTE_ADDR=address)


def logged_in(response) -> bool:
    return response.status_code == 302 and response.url == "/"


def refused_as_locked(response) -> bool:
    return response.status_code == 200 and LOCKED in response.content.decode()


def fail(client: Client, times: int = 5, *, address: str = OFFICE) -> None:
    for _ in range(times):
        assert attempt(client, "wrong password", address=address).status_code == 200


@pytest.fixture
def alices_laptop(alice) -> Client:
    """A browser alice logged in on before (and logged out of): a known device."""
    laptop = Client()
    assert logged_in(attempt(laptop))
    assert lockout.COOKIE in laptop.cookies
    laptop.post("/accounts/logout/")
    return laptop


def test_four_failures_do_not_lock_the_account(client, alice):
    fail(client, 4)

    assert logged_in(attempt(client))


def test_five_failures_lock_unknown_devices_out_even_with_the_right_password(client, alice):
    fail(client)

    assert refused_as_locked(attempt(client))
    assert refused_as_locked(attempt(Client(), address=ELSEWHERE))


def test_an_attacker_failing_from_the_members_address_does_not_lock_out_her_laptop(
    alice, alices_laptop
):
    attacker = Client()
    fail(attacker, 10)
    assert refused_as_locked(attempt(attacker))

    assert logged_in(attempt(alices_laptop, address=OFFICE))


def test_failures_on_her_laptop_lock_only_the_laptop(alice, alices_laptop):
    fail(alices_laptop)

    assert refused_as_locked(attempt(alices_laptop))
    assert logged_in(attempt(Client(), address=ELSEWHERE))


def test_failures_count_for_the_account_however_the_email_is_typed(client, alice):
    for email in ["alice@example.org", "ALICE@example.org", "Alice@Example.org"] * 2:
        log_in(client, email, "wrong password", REMOTE_ADDR=OFFICE)

    assert refused_as_locked(attempt(client))


def test_the_lock_does_not_stop_another_account_from_the_same_address(client, alice, bob):
    fail(client)

    response = log_in(client, "bob@example.org", REMOTE_ADDR=OFFICE)

    assert logged_in(response)


def test_a_forged_device_cookie_is_an_unknown_device(client, alice, alices_laptop):
    fail(client)
    client.cookies[lockout.COOKIE] = alices_laptop.cookies[lockout.COOKIE].value[:-2] + "xx"

    assert refused_as_locked(attempt(client))


def test_bobs_device_is_unknown_for_alice(client, alice, bob):
    log_in(client, "bob@example.org", REMOTE_ADDR=OFFICE)
    client.post("/accounts/logout/")
    fail(Client())

    assert refused_as_locked(attempt(client))


@pytest.mark.parametrize(
    ("wait", "locked"),
    [(timedelta(minutes=14, seconds=59), True), (timedelta(minutes=15, seconds=1), False)],
)
def test_the_lock_lifts_after_fifteen_minutes(client, alice, wait, locked):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        fail(client)
        traveller.shift(wait)

        response = attempt(client)

    assert refused_as_locked(response) if locked else logged_in(response)


def test_after_a_success_the_device_counts_its_own_failures(client, alice):
    fail(client, 4)
    assert logged_in(attempt(client))
    client.post("/accounts/logout/")

    fail(client, 4)

    assert logged_in(attempt(client))


def test_ten_failures_a_minute_from_one_address_lock_unknown_devices_there(client, alice, bob):
    for email in ["alice@example.org", "bob@example.org"] * 5:
        log_in(client, email, "wrong password", REMOTE_ADDR=OFFICE)

    response = log_in(Client(), "carol@example.org", REMOTE_ADDR=OFFICE)

    assert refused_as_locked(response)
