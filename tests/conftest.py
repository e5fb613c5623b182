"""Personas and shared fixtures: alice owns jobs and a key, bob is another member,
carol has signed up but not confirmed her email address yet (so she cannot log in).

Also the one copy of each helper that more than one test module uses: tests import them
from here (`from tests.conftest import make_job`). A module that needs other defaults
passes them at the call or binds them with functools.partial, and a module that needs
another frozen moment says `clock = frozen_at(NOW)`; neither defines its own copy."""

import asyncio
import base64
import html
import ipaddress
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TypeVar
from urllib.parse import urlencode

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from accounts.projects import personal_project
from alerts.models import Channel
from cronsvc import task_names
from jobs.engine import test_runs, tick, worker
from jobs.models import Execution, Job
from jobs.outbound import addresses, http
from tests.target import Target

PASSWORD = "correct horse battery staple"
T = TypeVar("T")


@pytest.fixture(autouse=True)
def unhashed_static_files(settings) -> None:
    # The manifest storage needs `collectstatic`; tests read the files where they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def every_port(settings) -> None:
    # Many tests call the discard port (9) on this machine, where nothing listens; the
    # ports rule has tests of its own (tests/outbound/test_ports.py).
    settings.ALLOWED_TARGET_PORTS = "1-65535"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    # The per-member rate limits live in the cache, which outlives a test.
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # PBKDF2 spends a quarter of a second per password on purpose; the tests check hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Members, their keys and clients


def make_member(email: str, *, verified: bool = True, **fields) -> User:
    """A member with their sign-in address (allauth's EmailAddress), confirmed unless not
    `verified`."""
    return User.objects.create_user(email, PASSWORD, verified=verified, **fields)


def add_confirmed_address(user: User, email: str) -> EmailAddress:
    """Another address of the member's, confirmed (as if through Settings → Email addresses)."""
    return EmailAddress.objects.create(user=user, email=email, verified=True, primary=False)


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
    _, plain = ApiKey.issue(user=alice, project=personal_project(alice), name="alice's key")
    return plain


def api_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def api_client_for(user: User, *, read_only: bool = False) -> APIClient:
    """A REST API client with a fresh key of the member's ("bob's key")."""
    name = f"{user.email.partition('@')[0]}'s key"
    scope = ApiKey.Scope.READ if read_only else ApiKey.Scope.WRITE
    _, plain = ApiKey.issue(user=user, project=personal_project(user), name=name, scope=scope)
    return api_client(plain)


@pytest.fixture
def alice_api(alice_key) -> APIClient:
    return api_client(alice_key)


@pytest.fixture
def alice_read_only_api(alice) -> APIClient:
    return api_client_for(alice, read_only=True)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return api_client_for(bob)


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def alice_client(client, alice):
    # force_login: a session without allauth's record of how it signed in, so actions
    # that ask for a recent sign-in (reauthenticate) ask for it first.
    client.force_login(alice)
    return client


@pytest.fixture
def alice_reauthenticated(alice_client):
    """alice, who has just confirmed her password again, as creating a key or deleting the
    account asks."""
    reauthenticate(alice_client)
    return alice_client


def log_in(client: Client, email: str, password: str = PASSWORD, **request) -> object:
    """Post the log-in form, as a browser does (REMOTE_ADDR=… for another address)."""
    return client.post("/accounts/login/", {"login": email, "password": password}, **request)


def reauthenticate(client: Client, password: str = PASSWORD) -> None:
    """Confirm the password again, as allauth asks before sensitive actions."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content.decode()


def totp_code(secret: str, *, seconds_later: int = 0) -> str:
    """What an authenticator app with this secret shows now (or that many seconds later)."""
    counter = (int(time.time()) + seconds_later) // 30
    return format_hotp_value(hotp_value(secret, counter))


@pytest.fixture
def alice_totp(alice) -> str:
    """alice has turned on two-factor sign-in with an authenticator app (and so has
    recovery codes); the app's secret."""
    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    RecoveryCodes.activate(alice)
    return secret


def recovery_codes(user: User) -> list[str]:
    return RecoveryCodes(
        Authenticator.objects.get(user=user, type="recovery_codes")
    ).get_unused_codes()


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


# Time

# A Tuesday, 12:00 in Berlin (CEST): the fixed "now" of the `clock` fixture.
NOON = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)


def frozen_at(moment: datetime):
    """A `clock` fixture that holds time still at `moment` (and can be shifted by the test).

    A module that needs another moment than NOON says `clock = frozen_at(NOW)`."""

    @pytest.fixture
    def clock() -> Iterator[time_machine.Traveller]:
        with time_machine.travel(moment, tick=False) as traveller:
            yield traveller

    return clock


clock = frozen_at(NOON)


def seconds_from_now(seconds: int) -> datetime:
    return timezone.now().replace(microsecond=0) + timedelta(seconds=seconds)


# Jobs


def make_job(user: User, **fields) -> Job:
    """alice's usual job: a daily report at 09:00 Berlin time, on a local address.

    Any field can be given; a module whose jobs differ names the difference at the call or
    in a `functools.partial` of this."""
    fields = {
        "title": "Nightly report",
        "url": "http://127.0.0.1:9/report",
        "schedule": "0 9 * * *",
        "timezone": "Europe/Berlin",
        **fields,
    }
    fields.setdefault("project", personal_project(user))
    return Job.objects.create(user=user, **fields)


def make_channel(user: User, kind: str = "webhook", url: str = "", **fields) -> Channel:
    """A channel of the member's personal project: a webhook to `url` unless told."""
    fields.setdefault("project", personal_project(user))
    channel = Channel(kind=kind, **fields)
    channel.url = url
    channel.save()
    return channel


# A response body that must reach no alert unescaped.
SCRIPT = "<script>alert(1)</script>"


def record_result(
    job: Job, clock: time_machine.Traveller, status: int, body: str = "OK"
) -> Execution:
    """One execution a minute after the last, answered with `status`, recorded by the engine
    (which writes the health changes and their deliveries)."""
    clock.shift(timedelta(minutes=1))
    now = timezone.now()
    execution = Execution.objects.create(
        job=job, scheduled_for=now, status=Execution.Status.RUNNING, started_at=now
    )
    succeeded = 200 <= status < 300
    outcome = http.Outcome(
        started_at=now + timedelta(milliseconds=85),
        finished_at=now + timedelta(milliseconds=497),
        succeeded=succeeded,
        failure_reason="" if succeeded else "http_status",
        http_status=status,
        response_headers={"Content-Type": "text/html"},
        response_body=body,
    )
    worker.record_results([execution], [outcome])
    return execution


def record_failures(job: Job, clock: time_machine.Traveller, times: int = 1) -> list[Execution]:
    return [record_result(job, clock, 500, SCRIPT) for _ in range(times)]


def many_jobs(user: User, count: int, **fields) -> list[Job]:
    """`count` jobs "Job 0", "Job 1", … in one statement: no save(), so no next_run_at unless
    given."""
    fields = {"url": "http://127.0.0.1:9/", "schedule": "* * * * *", **fields}
    fields.setdefault("project", personal_project(user))
    return Job.objects.bulk_create(
        (Job(user=user, title=f"Job {n}", **fields) for n in range(count)), batch_size=5000
    )


def reloaded(job: Job) -> Job:
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def alice_job(alice) -> Job:
    return make_job(alice)


# Pages


def html_text(markup: str) -> str:
    """Markup as a reader sees it: scripts and tags left out, entities decoded, white space
    collapsed."""
    markup = re.sub(r"<script.*?</script>", " ", markup, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def page_text(response) -> str:
    assert response.status_code == 200
    return html_text(response.content.decode())


def markup_of(page) -> str:
    """A page's markup: given as it is, or the content of a response."""
    return page if isinstance(page, str) else page.content.decode()


def table_rows(page) -> list[list[str]]:
    """The text of each cell of each row of the table body in a page (markup or response)."""
    (body,) = re.findall(r"<tbody>(.*?)</tbody>", markup_of(page), re.DOTALL)
    return [
        [html_text(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.DOTALL)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    ]


def labelled_rows(page) -> list[dict[str, str]]:
    """Each row of the table as the member reads it: the text under each column heading."""
    markup = markup_of(page)
    headings = [html_text(th) for th in re.findall(r"<th[^>]*>(.*?)</th>", markup, re.DOTALL)]
    return [dict(zip(headings, row, strict=True)) for row in table_rows(markup)]


# Settings


@pytest.fixture
def private_targets(settings) -> None:
    # The local target listens on 127.0.0.1, which only this setting lets jobs call.
    settings.ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def private_targets_refused(settings) -> None:
    settings.ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def engine_settings(settings, private_targets) -> None:
    """The engine's settings at the values the engine tests count with, whatever the
    environment says."""
    settings.DISPATCH_HORIZON_SECONDS = 15
    settings.DISPATCH_BATCH_SIZE = 1000
    settings.EXECUTIONS_PER_MESSAGE = 200
    settings.MISSED_AFTER_SECONDS = 60
    settings.REQUEUE_AFTER_SECONDS = 60
    settings.MANUAL_RUNS_PER_MINUTE = 10
    settings.AUTO_DISABLE_AFTER = 25


@pytest.fixture
def fresh_limits() -> None:
    # Rate limits (the API's throttle, test runs) count in the cache, which outlives a test.
    cache.clear()


# The engine's messages and threads


class Sent(list):
    """The Celery messages the engine would have sent: each a list of execution ids.
    `alerts` counts the calls for the alerts' task (a health change was written)."""

    alerts = 0

    @property
    def ids(self) -> list[int]:
        """The execution ids of all the messages, in the order they were sent."""
        return [id_ for message in self for id_ in message]


@pytest.fixture
def sent(monkeypatch) -> Sent:
    """What the engine sends to the workers, kept here instead of sent."""
    messages = Sent()
    lock = threading.Lock()  # the engine may send from several threads at once

    def send_task(name: str, args: list = ()) -> None:
        with lock:
            if name == task_names.DELIVER_ALERTS:
                messages.alerts += 1
                return
            assert name == task_names.EXECUTE_BATCH
            messages.append(args[0])

    monkeypatch.setattr(tick.celery_app, "send_task", send_task)
    return messages


def closing_connection(work: Callable[..., T]) -> Callable[..., T]:
    """`work` for another thread: it closes the thread's own database connection after."""

    @wraps(work)
    def in_thread(*args, **kwargs) -> T:
        try:
            return work(*args, **kwargs)
        finally:
            connection.close()

    return in_thread


def race(racer: Callable[[], T], *, count: int = 2, seconds: float = 60) -> list[T]:
    """Run `racer` in `count` threads let go at the same moment; what each returned.

    What a racer raised is raised here, so it fails the test."""
    start = threading.Barrier(count)

    def at_the_start() -> T:
        start.wait(timeout=10)
        return racer()

    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="racer")
    try:
        racing = [pool.submit(closing_connection(at_the_start)) for _ in range(count)]
        return [future.result(timeout=seconds) for future in racing]
    finally:
        pool.shutdown(wait=False)


# Outbound requests

EXECUTION_ID = "4242"


def send(url: str, **fields: object) -> http.Outcome:
    """One request through a fresh Client, the way the engine sends a batch of one."""
    fields = {"execution_id": EXECUTION_ID, "method": "GET", **fields}

    async def run() -> http.Outcome:
        async with http.Client() as client:
            return await client.send(http.Request(url=url, **fields))

    return asyncio.run(run())


TEST_RUN = "/jobs/test-run/"
POLL_URL = re.compile(r'hx-get="(/jobs/test-runs/(\d+)/)" hx-trigger="every 1s"')


def run_test_run(client: Client, data: dict[str, str]) -> object:
    """Press Test run on the job form with `data`, let a worker send it, then poll once:
    the partial the page ends up showing (the first answer when it was refused).

    The worker's part runs here, through the function its task calls: these tests are
    about what is sent and shown, not the trip through the broker (tests/web/
    test_test_run.py takes that once with a real worker)."""
    started = client.post(TEST_RUN, data)
    poll = POLL_URL.search(started.content.decode())
    if poll is None:
        return started
    test_runs.send(int(poll[2]))
    return client.get(poll[1])


def basic(username: str, password: str) -> str:
    """The Authorization header of HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def redirect(target: Target, to: str, status: int = 302) -> str:
    """The target's address that redirects to `to`."""
    return target.url("/redirect?" + urlencode({"to": to, "status": status}))


def arrivals_by_execution(target: Target) -> Counter[int]:
    """How many requests arrived for each execution id."""
    return Counter(int(arrival.headers[http.EXECUTION_HEADER]) for arrival in target.requests)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound here but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def free_port() -> int:
    """A local port nothing listens on, for a server to listen on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def target():
    """A local HTTP server on 127.0.0.1 that records requests and connections (tests/target.py)."""
    with Target() as server:
        yield server


@pytest.fixture
def public_target(monkeypatch, target) -> Iterator[Target]:
    """A second target, on 127.0.0.2 and the target's port, that the SSRF guard is told is
    a public server (everything else stays internal)."""
    public = ipaddress.ip_address("127.0.0.2")
    is_internal = addresses.is_internal
    monkeypatch.setattr(http, "is_internal", lambda ip: ip != public and is_internal(ip))
    with Target(host=str(public), port=target.port) as server:
        yield server


# Browser


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
    """A page whose test also fails if the Content-Security-Policy refused anything on it
    (an inline script or style, a source elsewhere): then it does not work as written."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert refused == [], refused


def log_in_as_alice(page, live_server: object) -> None:
    from playwright.sync_api import expect  # only the browser tests load Playwright

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()


def migrate(targets: list[tuple[str, str]] | None = None):
    """Migrate the test database to `targets` (by default the latest of every app); the
    app registry of the database's state there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps
