from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.api_auth import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.projects import personal_project


def create_api_key(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def authenticate(plain: str) -> tuple:
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {plain}")
    return ApiKeyAuthentication().authenticate(Request(request))


def test_it_prints_only_the_key_and_the_key_authenticates(alice):
    out, err = create_api_key("alice@example.org")

    (plain,) = out.splitlines()
    assert out == plain + "\n"
    assert err == ""
    assert plain.startswith("csk_")
    user, key = authenticate(plain)
    assert user == alice
    assert (key.scope, key.project) == ("write", personal_project(alice))
    assert key.name == "created from the command line"


def test_it_finds_the_member_whatever_the_case_of_the_email(alice):
    out, _ = create_api_key("ALICE@Example.org")

    assert authenticate(out.strip())[0] == alice


def test_it_creates_a_read_only_key(alice):
    out, _ = create_api_key("alice@example.org", "--read-only", "--name", "dashboard")

    _, key = authenticate(out.strip())
    assert key.scope == "read"
    assert key.name == "dashboard"


def test_it_stores_only_a_hash(alice):
    out, _ = create_api_key("alice@example.org")

    stored = [str(value) for value in ApiKey.objects.values_list().get()]
    assert not any(out.strip() in value for value in stored)


def test_it_refuses_an_unknown_email(alice):
    with pytest.raises(CommandError, match=r"No member has the email mallory@example\.org\."):
        create_api_key("mallory@example.org")

    assert not ApiKey.objects.exists()
