"""Security headers (issue 15, point 10): a Content-Security-Policy that runs no inline
script, HSTS and the redirect to https only for an https SITE_URL, X-Forwarded-Proto
trusted only behind a proxy (PROXY_COUNT), a Referrer-Policy, pages that show a new key
or secret kept by no cache, and an admin that never shows encrypted credentials.

The browser tests (tests/web, tests/accounts/test_browser_accounts.py) open the pages
under the same policy and fail on anything it refuses (tests/conftest.py, `page`).
"""

import json
import subprocess
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from jobs.models import Execution
from tests import processes
from tests.conftest import make_job, reauthenticate

# The main pages, for alice (a member with a job, its execution and two-factor sign-in
# being set up), the staff (operator page and admin) and anyone.
MEMBER_PAGES = [
    "/jobs/",
    "/jobs/new/",
    "/jobs/{job}/",
    "/jobs/{job}/edit/",
    "/jobs/{job}/history/",
    "/jobs/{job}/charts/",
    "/jobs/executions/{execution}/",
    "/accounts/settings/",
    "/accounts/settings/api-keys/",
    "/accounts/2fa/",
    "/accounts/2fa/totp/activate/",
    "/accounts/sessions/",
    "/accounts/email/",
    "/projects/settings/",
    "/projects/audit/",
]
STAFF_PAGES = ["/operator/", "/admin/", "/admin/jobs/job/", "/admin/jobs/job/{job}/change/"]
ANONYMOUS_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
API_DOCS = "/api/v1/docs/"


class InlineCode(HTMLParser):
    """What a Content-Security-Policy without 'unsafe-inline' refuses to run or apply:
    <script> without src (JSON data blocks are not run), on* attributes, <style> and
    style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        runs = attributes.get("type") != "application/json"
        if tag == "script" and not attributes.get("src") and runs:
            self.found.append(self.get_starttag_text())
        if tag == "style":
            self.found.append(self.get_starttag_text())
        for name in attributes:
            if name.startswith("on") or name == "style":
                self.found.append(self.get_starttag_text())


def inline_code(page: str) -> list[str]:
    parser = InlineCode()
    parser.feed(page)
    return parser.found


def policy(response) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {name: sources for name, *sources in directives}


@pytest.fixture
def alice_pages(alice, alice_client) -> list[str]:
    job = make_job(alice)
    execution = Execution.objects.create(
        job=job, scheduled_for=timezone.now(), status=Execution.Status.SUCCEEDED
    )
    reauthenticate(alice_client)
    return [path.format(job=job.id, execution=execution.id) for path in MEMBER_PAGES]


def test_every_page_sends_a_policy_that_runs_only_our_own_scripts(
    alice_client, alice_pages, staff_client, alice
):
    job = make_job(alice, title="For the admin")
    pages = [
        *((alice_client, path) for path in alice_pages),
        *((staff_client, path.format(job=job.id)) for path in STAFF_PAGES),
        *((Client(), path) for path in [*ANONYMOUS_PAGES, API_DOCS]),
    ]

    for browser, path in pages:
        response = browser.get(path)
        assert response.status_code == 200, path
        directives = policy(response)
        assert directives["default-src"] == ["'self'"], path
        assert directives["script-src"] == ["'self'"], path
        assert directives["style-src"] == ["'self'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["object-src"] == ["'none'"], path
        page = response.content.decode()
        assert inline_code(page) == [], path


def test_the_api_docs_start_from_a_script_of_their_own(client, db):
    page = client.get(API_DOCS).content.decode()
    assert f'<script src="{API_DOCS}?script="></script>' in page

    script = client.get(API_DOCS, {"script": ""})

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


def test_the_inline_code_finder_finds_inline_code():
    page = (
        '<script>alert(1)</script><script type="application/json">{}</script>'
        '<script src="/static/x.js"></script><a href="#" onclick="go()">x</a>'
        '<style>p {}</style><p style="color: red">'
    )

    assert inline_code(page) == [
        "<script>",
        '<a href="#" onclick="go()">',
        "<style>",
        '<p style="color: red">',
    ]


def test_links_tell_other_sites_only_our_origin(client, db):
    response = client.get("/accounts/login/")

    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


NO_STORE = "max-age=0, no-cache, no-store, must-revalidate, private"


def test_the_page_showing_a_new_api_key_is_kept_by_no_cache(alice_reauthenticated):
    response = alice_reauthenticated.post(
        "/accounts/settings/api-keys/", {"name": "deploy", "scope": "write"}
    )

    assert response.status_code == 200
    assert "Your new key." in response.content.decode()
    assert response["Cache-Control"] == NO_STORE
    assert alice_reauthenticated.get("/accounts/settings/api-keys/")["Cache-Control"] == NO_STORE


def test_the_recovery_codes_are_kept_by_no_cache(alice_client, alice_totp):
    reauthenticate(alice_client)

    response = alice_client.get("/accounts/2fa/recovery-codes/")

    assert response.status_code == 200
    assert response["Cache-Control"] == NO_STORE


def test_setting_up_the_authenticator_app_is_kept_by_no_cache(alice_client):
    reauthenticate(alice_client)

    response = alice_client.get("/accounts/2fa/totp/activate/")

    assert alice_client.session["mfa.totp.secret"] in response.content.decode()
    assert response["Cache-Control"] == NO_STORE


def test_ordinary_pages_may_be_cached(alice_client, db):
    assert "no-store" not in alice_client.get("/jobs/").get("Cache-Control", "")


def test_the_admin_never_shows_encrypted_credentials(staff_client, alice):
    job = make_job(alice)
    job.auth_password = "hunter2"
    job.secret_headers = {"X-Token": "s3cret"}
    job.save()
    assert job.secret_headers_encrypted and job.auth_password_encrypted

    page = staff_client.get(f"/admin/jobs/job/{job.id}/change/").content.decode()

    assert "_encrypted" not in page
    assert job.secret_headers_encrypted not in page
    assert job.auth_password_encrypted not in page
    assert 'name="url"' in page  # the rest of the job is there


# HSTS, the https redirect and the proxy's header depend on settings read once at start:
# each case runs a web process's settings of its own, in a fresh interpreter. It asks the
# API, which answers without the static files' manifest (not collected in tests).
SERVE = """
import json, django
django.setup()
from django.test import Client
response = Client().get({path!r}, secure={secure!r}, headers={headers!r})
print(json.dumps({{"status": response.status_code, "headers": dict(response.headers)}}))
"""


def served(
    path: str, *, site_url: str, proxy_count: int, secure: bool = False, headers: dict | None = None
) -> dict:
    """What a web process started with SITE_URL and PROXY_COUNT answers to one request."""
    environment = processes.engine_environment(
        settings.VAR_DIR,
        SITE_URL=site_url,
        PROXY_COUNT=str(proxy_count),
        ALLOWED_HOSTS="testserver",
        DJANGO_SETTINGS_MODULE="cronsvc.settings",
    )
    script = SERVE.format(path=path, secure=secure, headers=headers or {})
    result = subprocess.run(
        [str(processes.PYTHON), "-c", script],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


HTTPS_SITE = "https://cron.example.com"
API = "/api/v1/jobs/"
ANSWERED = 401  # asked without a key
FROM_PROXY = {"X-Forwarded-Proto": "https"}


def test_an_https_site_redirects_plain_http_and_sends_hsts_over_tls(db):
    plain = served(API, site_url=HTTPS_SITE, proxy_count=0)
    assert plain["status"] == 301
    assert plain["headers"]["Location"] == f"https://testserver{API}"

    over_tls = served(API, site_url=HTTPS_SITE, proxy_count=0, secure=True)
    assert over_tls["status"] == ANSWERED
    assert over_tls["headers"]["Strict-Transport-Security"] == "max-age=31536000"


def test_an_http_site_neither_redirects_nor_sends_hsts(db):
    for secure in (False, True):
        response = served(API, site_url="http://localhost:8000", proxy_count=0, secure=secure)
        assert response["status"] == ANSWERED
        assert "Strict-Transport-Security" not in response["headers"]


def test_the_proxys_word_on_https_counts_only_behind_a_proxy(db):
    behind_a_proxy = served(API, site_url=HTTPS_SITE, proxy_count=1, headers=FROM_PROXY)
    assert behind_a_proxy["status"] == ANSWERED
    assert behind_a_proxy["headers"]["Strict-Transport-Security"] == "max-age=31536000"

    # No proxy in front: the header is the client's own claim, and the request is plain.
    forged = served(API, site_url=HTTPS_SITE, proxy_count=0, headers=FROM_PROXY)
    assert forged["status"] == 301

    # A proxy that says the client came over plain HTTP is believed too.
    plain = served(
        API,
        site_url=HTTPS_SITE,
        proxy_count=1,
        headers={"X-Forwarded-Proto": "http"},
    )
    assert plain["status"] == 301


def test_healthz_answers_plain_http_on_an_https_site(db):
    response = served("/healthz", site_url=HTTPS_SITE, proxy_count=0)

    assert response["status"] in (200, 503)  # what it says; not a redirect
