"""Status pages: made and edited by members (jobs/web/status_page_views.py), shown to anyone
at /status/<slug>/ once published (jobs/web/public_views.py, jobs/status_pages.py): the
state and 90 daily uptime bars of each job, server-rendered, with no script and no URL."""

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.conf import settings

from accounts import audit
from accounts.projects import personal_project
from jobs import status_pages
from jobs.engine import health
from jobs.models import Execution, StatusPage
from tests.conftest import make_job

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
Status = Execution.Status


class Markup(HTMLParser):
    """Every tag of a page with its attributes, and its text."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())

    def bars(self) -> list[list[str]]:
        """The class of each day's bar, row by row."""
        rows, classes = [], None
        for tag, attrs in self.tags:
            if tag == "ol" and "uptime-bars" in attrs.get("class", ""):
                classes = []
                rows.append(classes)
            elif tag == "li" and classes is not None:
                classes.append(attrs["class"])
        return rows


def shown(client, path: str = "/status/acme-status/") -> str:
    """The text of a public page, as a reader sees it."""
    return " ".join(Markup(client.get(path).content.decode()).text)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def published(alice, *jobs_and_names, slug: str = "acme-status") -> StatusPage:
    page = StatusPage.objects.create(
        project=personal_project(alice), title="Acme status", slug=slug, published=True
    )
    for position, (job, name) in enumerate(jobs_and_names):
        page.entries.create(job=job, name=name, position=position)
    return page


def run(job, at: datetime, status: str, **fields) -> Execution:
    return Execution.objects.create(job=job, scheduled_for=at, status=status, **fields)


def test_the_page_lists_each_job_under_its_public_name_with_its_state(client, alice, clock):
    up = make_job(alice, title="Internal billing cron")
    paused = make_job(alice, title="Internal export", enabled=False)
    published(alice, (up, "Billing"), (paused, "Exports"))

    response = client.get("/status/acme-status/")

    assert response.status_code == 200
    text = " ".join(Markup(response.content.decode()).text)
    assert "Acme status" in text
    assert "Billing Up" in text
    assert "Exports Paused" in text
    assert "Internal" not in text
    assert response["Cache-Control"] == "public, max-age=60"


def test_the_page_needs_no_script_and_shows_no_url_host_header_or_key(client, alice, clock):
    job = make_job(
        alice,
        title="Secret title",
        url="https://internal.example.com/private-path?token=abc",
        headers={"X-Api-Key": "header-value"},
        tags=["billing"],
    )
    published(alice, (job, "Billing"))

    markup = client.get("/status/acme-status/").content.decode()

    parsed = Markup(markup)
    assert [tag for tag, _ in parsed.tags if tag in ("script", "a", "form", "iframe", "img")] == []
    assert all(
        not name.startswith("on") and name != "style" for _, attrs in parsed.tags for name in attrs
    )
    # Only our own stylesheets are linked.
    assert [attrs["href"] for tag, attrs in parsed.tags if tag == "link"] == [
        "/static/pico/pico.min.css",
        "/static/css/cronsvc.css",
    ]
    for secret in [
        "internal.example.com",
        "private-path",
        "token",
        "header-value",
        "X-Api-Key",
        "Secret title",
        job.badge_key,
        personal_project(alice).tag_badge_key,
        f"/jobs/{job.id}",
        "http",
    ]:
        assert secret not in markup


def test_the_bars_are_the_share_of_final_outcomes_that_succeeded_each_day(client, alice, clock):
    job = make_job(alice)
    yesterday = NOW - timedelta(days=1)
    # Yesterday: a success, a failure, and a slot failed once then retried successfully.
    run(job, yesterday.replace(hour=1), Status.SUCCEEDED)
    run(job, yesterday.replace(hour=2), Status.FAILED)
    first = run(job, yesterday.replace(hour=3), Status.FAILED, next_attempt_at=yesterday)
    run(job, yesterday.replace(hour=3, second=10), Status.SUCCEEDED, attempt=2, retry_of=first)
    # Skipped and missed slots say nothing of the target.
    run(job, yesterday.replace(hour=4), Status.SKIPPED)
    run(job, yesterday.replace(hour=5), Status.MISSED)
    # Today: all well. 89 days ago, the first day shown: a failure. 90 days ago: not shown.
    run(job, NOW.replace(hour=0), Status.SUCCEEDED)
    run(job, NOW - timedelta(days=89), Status.FAILED)
    run(job, NOW - timedelta(days=90), Status.SUCCEEDED)
    published(alice, (job, "Billing"))

    markup = client.get("/status/acme-status/").content.decode()

    (bars,) = Markup(markup).bars()
    assert len(bars) == 90
    assert bars[0] == "uptime-no"  # 89 days ago: its one run failed
    assert bars[-2] == "uptime-some"  # yesterday: 2 of 3 final outcomes
    assert bars[-1] == "uptime-all"  # today
    assert set(bars[1:-2]) == {"uptime-none"}
    assert "2026-03-30: 66.7 %" in markup
    assert "2026-01-01: 0.0 %" in markup
    assert "2026-01-02: no data" in markup
    assert "60.00 % of runs succeeded" in " ".join(Markup(markup).text)


def test_the_page_costs_the_same_queries_for_one_job_or_twenty(
    client, alice, clock, django_assert_num_queries
):
    jobs = [make_job(alice, title=f"Job {n}") for n in range(20)]
    for job in jobs:
        run(job, NOW - timedelta(hours=1), Status.SUCCEEDED)
    published(alice, (jobs[0], "One"), slug="one")
    published(alice, *[(job, job.title) for job in jobs], slug="twenty")

    with django_assert_num_queries(3):  # the page, its jobs, the counts of all their days
        client.get("/status/one/")
    with django_assert_num_queries(3):
        response = client.get("/status/twenty/")
    assert len(Markup(response.content.decode()).bars()) == 20


def test_the_counts_are_kept_a_minute_and_an_edit_shows_at_once(
    client, alice, clock, django_assert_num_queries
):
    job = make_job(alice)
    page = published(alice, (job, "Billing"))
    client.get("/status/acme-status/")
    health.set_enabled(job, False)

    with django_assert_num_queries(1):  # the page: its rows are as counted a moment ago
        assert "Billing Up" in shown(client)
    clock.shift(timedelta(seconds=61))
    assert "Billing Paused" in shown(client)

    page.title = "Renamed"
    status_pages.save(
        page, [(job, "Payments")], by=audit.Actor(user=alice, via=audit.Via.WEB), created=False
    )
    assert "Payments Paused" in shown(client)


def test_an_unpublished_or_unknown_page_answers_404(client, alice):
    page = published(alice, slug="acme-status")
    page.published = False
    page.save()

    assert client.get("/status/acme-status/").status_code == 404
    assert client.get("/status/no-such-page/").status_code == 404


def test_a_member_makes_a_page_with_a_chosen_address_and_public_names(alice_client, alice, bob):
    billing = make_job(alice, title="Billing cron")
    make_job(alice, title="Not listed")
    bobs = make_job(bob, title="Bob's job")

    response = alice_client.post(
        "/status-pages/new/",
        {
            "title": "Acme status",
            "slug": "acme",
            "published": "on",
            f"job_{billing.id}": "on",
            f"name_{billing.id}": "Billing",
            # Another project's job is not offered; naming it changes nothing.
            f"job_{bobs.id}": "on",
            f"name_{bobs.id}": "Bob's",
        },
    )

    assert response.status_code == 302
    page = StatusPage.objects.get()
    assert (page.project, page.slug, page.published) == (personal_project(alice), "acme", True)
    assert [(e.job, e.name) for e in page.entries.all()] == [(billing, "Billing")]
    listing = alice_client.get("/status-pages/").content.decode()
    assert f'href="{settings.SITE_URL}/status/acme/"' in listing


def test_the_form_offers_only_the_projects_jobs(alice_client, alice, bob):
    make_job(alice, title="Alice's job")
    make_job(bob, title="Bob's job")

    form = alice_client.get("/status-pages/new/").content.decode()

    assert "Alice&#x27;s job" in form
    assert "Bob" not in form


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        ("ab", "Use 3 to 40 characters."),
        ("Acme", "Use lowercase letters, digits and hyphens"),
        ("acme-", "Use lowercase letters, digits and hyphens"),
        ("admin", "“admin” is reserved; choose another."),
    ],
)
def test_a_bad_address_is_a_form_error_and_nothing_is_made(alice_client, slug, error):
    response = alice_client.post("/status-pages/new/", {"title": "Status", "slug": slug})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not StatusPage.objects.exists()


def test_a_listed_job_needs_a_public_name(alice_client, alice):
    job = make_job(alice)

    response = alice_client.post("/status-pages/new/", {"title": "Status", f"job_{job.id}": "on"})

    assert "Give it the name the public sees." in response.content.decode()
    assert not StatusPage.objects.exists()


def test_editing_keeps_the_address_and_unpublishing_takes_the_page_down(
    alice_client, alice, client
):
    job = make_job(alice)
    page = published(alice, (job, "Billing"), slug="acme-status")

    alice_client.post(
        f"/status-pages/{page.id}/",
        {"title": "Renamed", "slug": "", f"job_{job.id}": "on", f"name_{job.id}": "Payments"},
    )

    page.refresh_from_db()
    assert (page.title, page.slug, page.published) == ("Renamed", "acme-status", False)
    assert page.entries.get().name == "Payments"
    assert client.get("/status/acme-status/").status_code == 404


def test_a_new_page_has_an_unguessable_address(alice_client):
    alice_client.post("/status-pages/new/", {"title": "Status", "published": "on"})

    page = StatusPage.objects.get()
    assert len(page.slug) == 24
    assert alice_client.get(f"/status/{page.slug}/").status_code == 200


def test_deleting_a_page_takes_it_down(alice_client, alice):
    page = published(alice)

    alice_client.post(f"/status-pages/{page.id}/delete/")

    assert alice_client.get("/status/acme-status/").status_code == 404
    assert not StatusPage.objects.exists()
