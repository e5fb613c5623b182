from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from tests.conftest import log_in


def create_member(*args: str) -> str:
    out = StringIO()
    call_command("create_member", *args, stdout=out)
    return out.getvalue()


def can_log_in(email: str, password: str) -> bool:
    response = log_in(Client(), email, password)
    return response.status_code == 302 and response.url == "/"


def test_it_creates_a_verified_member_with_the_given_password(db):
    out = create_member("dave@example.org", "--password", "plum tree harbour 42")

    assert out == "Created member dave@example.org.\n"
    dave = User.objects.get(email="dave@example.org")
    assert dave.is_verified
    assert EmailAddress.objects.filter(user=dave, primary=True, verified=True).exists()
    assert not dave.is_staff
    assert can_log_in("dave@example.org", "plum tree harbour 42")


def test_it_prints_a_random_password_once_when_none_is_given(db):
    out = create_member("dave@example.org")

    created, password_line = out.splitlines()
    assert created == "Created member dave@example.org."
    password = password_line.removeprefix("Password: ")
    assert len(password) >= 16
    assert can_log_in("dave@example.org", password)


def test_each_random_password_is_different(db):
    first = create_member("dave@example.org").splitlines()[1]
    second = create_member("erin@example.org").splitlines()[1]

    assert first != second


@pytest.mark.parametrize("email", ["alice@example.org", "ALICE@Example.ORG"])
def test_it_refuses_an_email_taken_in_any_case(alice, email):
    with pytest.raises(CommandError, match=r"A member with the email \S+ already exists\."):
        create_member(email)

    assert User.objects.count() == 1


def test_it_refuses_an_address_another_member_has_confirmed(alice):
    EmailAddress.objects.create(user=alice, email="alerts@example.org", verified=True)

    with pytest.raises(CommandError, match=r"already exists\."):
        create_member("alerts@example.org")


@pytest.mark.parametrize("email", ["dave", "dave@", "@example.org", "dave example.org", ""])
def test_it_refuses_an_invalid_email(db, email):
    with pytest.raises(CommandError, match=r"is not a valid email address\."):
        create_member(email)

    assert not User.objects.exists()
