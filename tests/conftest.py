"""Personas and shared fixtures: alice owns jobs and a key, bob is another member,
carol has signed up but not confirmed her email address yet."""

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from jobs.models import Job
from tests.target import Target

PASSWORD = "correct horse battery staple"


# A Tuesday, 12:00 in Berlin (CEST): the fixed "now" of the `clock` fixture.
NOON = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Time stands at NOON (modules with another moment define their own `clock`)."""
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def make_job(user: User, **fields) -> Job:
    """alice's usual job: a daily report at 09:00 Berlin time, on a local address."""
    fields = {
        "title": "Nightly report",
        "url": "http://127.0.0.1:9/report",
        "schedule": "0 9 * * *",
        "timezone": "Europe/Berlin",
        **fields,
    }
    return Job.objects.create(user=user, **fields)


@pytest.fixture(autouse=True)
def unhashed_static_files(settings) -> None:
    # The manifest storage needs `collectstatic`; tests read the files where they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    # The per-member rate limits live in the cache, which outlives a test.
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # PBKDF2 spends a quarter of a second per password on purpose; the tests check hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_member(email: str, *, verified: bool = True, **fields) -> User:
    verified_at = timezone.now() if verified else None
    return User.objects.create_user(email, PASSWORD, email_verified_at=verified_at, **fields)


@pytest.fixture
def alice(db) -> User:
    return make_member("alice@example.org", timezone="Europe/Berlin")


@pytest.fixture
def bob(db) -> User:
    return make_member("bob@example.org")


@pytest.fixture
def carol(db) -> User:
    return make_member("carol@example.org", verified=False)


@pytest.fixture
def staff(db) -> User:
    return make_member("staff@example.org", is_staff=True, is_superuser=True)


@pytest.fixture
def alice_key(alice) -> str:
    _, plain = ApiKey.issue(user=alice, name="alice's key")
    return plain


def api_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def api_client_for(user: User, *, read_only: bool = False) -> APIClient:
    """A REST API client with a fresh key of the member's ("bob's key")."""
    name = f"{user.email.partition('@')[0]}'s key"
    _, plain = ApiKey.issue(user=user, name=name, read_only=read_only)
    return api_client(plain)


@pytest.fixture
def alice_api(alice_key) -> APIClient:
    return api_client(alice_key)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return api_client_for(bob)


@pytest.fixture
def alice_client(client, alice):
    # force_login, or post the login form: axes refuses Client.login(), which
    # authenticates without a request (AxesBackendRequestParameterRequired).
    client.force_login(alice)
    return client


@pytest.fixture
def emailed_link() -> Callable[[EmailMultiAlternatives], str]:
    """The link a member is asked to open, checked to be the same in the text and HTML parts."""

    def find(message: EmailMultiAlternatives) -> str:
        (alternative,) = message.alternatives
        assert alternative.mimetype == "text/html"
        # The HTML part has exactly one link; the site's address in footers is plain text.
        (href,) = re.findall(r'href="([^"]+)"', alternative.content)
        link = html.unescape(href)
        assert link in message.body
        return link

    return find


@pytest.fixture
def target():
    """A local HTTP server on 127.0.0.1 that records requests and connections (tests/target.py)."""
    with Target() as server:
        yield server


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def browser(monkeypatch_module):
    """Debian's chromium driven by Playwright (it cannot download browsers here).

    Per module: while Playwright's sync API runs, its event loop is this thread's, so
    tests after it that call asyncio.run (the HTTP seam's) must not share the session."""
    from playwright.sync_api import sync_playwright

    # The ORM calls the tests make beside Playwright's loop are plain synchronous ones.
    monkeypatch_module.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
