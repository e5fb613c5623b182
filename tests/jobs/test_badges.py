"""jobs/badges.py and its public views: a job's and a tag's SVG badge (up, paused, failing)
at an unguessable address, served without sign-in; rotating a key makes the old one 404."""

from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.projects import personal_project
from jobs.badges import job_badge_url, tag_badge_url
from jobs.engine import health
from jobs.models import Job
from tests.conftest import make_job, record_failures

SVG = "{http://www.w3.org/2000/svg}"
GREEN, GREY, RED = "#4c1", "#9f9f9f", "#e05d44"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def path_of(url: str) -> str:
    return urlsplit(url).path


def badge(client, url: str) -> tuple[list[str], str]:
    """What a badge says (its texts, each once) and the colour of its state's half."""
    response = client.get(path_of(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    texts = list(dict.fromkeys(text.text for text in root.iter(f"{SVG}text")))
    colours = [rect.get("fill") for rect in root.iter(f"{SVG}rect") if rect.get("x")]
    return texts, colours[0]


def failing(job: Job, clock) -> Job:
    record_failures(job, clock)
    job.refresh_from_db()
    assert job.failing
    return job


def test_a_jobs_badge_shows_up_paused_or_failing(client, alice, clock):
    job = make_job(alice, title="Nightly report")
    url = job_badge_url(job)
    assert badge(client, url) == (["Nightly report", "up"], GREEN)

    health.set_enabled(job, False)
    assert badge(client, url) == (["Nightly report", "paused"], GREY)

    health.set_enabled(job, True)
    failing(job, clock)
    assert badge(client, url) == (["Nightly report", "failing"], RED)


def test_a_tags_badge_shows_the_worst_of_its_jobs(client, alice, clock):
    project = personal_project(alice)
    first = make_job(alice, title="One", tags=["billing"])
    second = make_job(alice, title="Two", tags=["billing", "nightly"])
    make_job(alice, title="Other", tags=["other"], enabled=False)
    url = tag_badge_url(project, "billing")

    assert badge(client, url) == (["billing", "up"], GREEN)
    health.set_enabled(second, False)
    assert badge(client, url) == (["billing", "paused"], GREY)
    failing(first, clock)
    assert badge(client, url) == (["billing", "failing"], RED)
    # The other tags' jobs do not count.
    assert badge(client, tag_badge_url(project, "nightly")) == (["nightly", "paused"], GREY)


def test_a_tag_no_job_has_and_an_unknown_key_answer_404(client, alice):
    job = make_job(alice, tags=["billing"])
    project = personal_project(alice)

    assert client.get(f"/badge/{project.tag_badge_key}/nothing.svg").status_code == 404
    assert client.get("/badge/not-a-key.svg").status_code == 404
    assert client.get(f"/badge/{job.badge_key}x/billing.svg").status_code == 404


def test_a_badge_is_public_cached_briefly_and_escapes_its_label(client, alice):
    job = make_job(alice, title="<b>Report</b> & co")

    response = client.get(f"/badge/{job.badge_key}.svg")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    assert "Set-Cookie" not in response.headers
    texts = [t.text for t in ElementTree.fromstring(response.content).iter(f"{SVG}text")]
    assert texts[0] == "<b>Report</b> & co"


def test_a_badge_has_nothing_of_the_job_but_its_title_and_state(client, alice):
    job = make_job(alice, title="Report", url="http://127.0.0.1:9/secret-path?token=abc")

    content = client.get(f"/badge/{job.badge_key}.svg").content.decode()

    assert "127.0.0.1" not in content
    assert "secret-path" not in content


def test_the_api_shows_the_badge_url_and_an_admin_rotates_it(client, alice, alice_api):
    job = make_job(alice)
    old = alice_api.get(f"/api/v1/jobs/{job.id}/").json()["badge_url"]
    assert old == f"{settings.SITE_URL}/badge/{job.badge_key}.svg"

    rotated = alice_api.post(f"/api/v1/jobs/{job.id}/rotate-badge/").json()["badge_url"]

    assert rotated != old
    assert client.get(path_of(old)).status_code == 404
    assert client.get(path_of(rotated)).status_code == 200


def test_the_job_page_shows_its_badge_and_a_markdown_snippet(alice_client, alice):
    job = make_job(alice, title="Report")

    page = alice_client.get(f"/jobs/{job.id}/").content.decode()

    url = f"{settings.SITE_URL}/badge/{job.badge_key}.svg"
    assert f'<img src="/badge/{job.badge_key}.svg"' in page
    assert f'<code class="badge-snippet">{url}</code>' in page
    assert f"![Report]({url})" in page


def test_rotating_from_the_job_page_makes_the_old_address_404(alice_client, alice):
    job = make_job(alice)
    old = f"/badge/{job.badge_key}.svg"

    response = alice_client.post(f"/jobs/{job.id}/badge/rotate/", follow=True)

    assert "The badge has a new address" in response.content.decode()
    assert alice_client.get(old).status_code == 404
    entry = AuditEntry.objects.get(action="job.badge_rotated")
    assert (entry.actor, entry.object_id) == (alice, job.id)
    job.refresh_from_db()
    assert alice_client.get(f"/badge/{job.badge_key}.svg").status_code == 200


def test_rotating_the_tag_badges_makes_every_old_tag_address_404(alice_client, alice):
    make_job(alice, tags=["billing"])
    project = personal_project(alice)
    old = f"/badge/{project.tag_badge_key}/billing.svg"
    assert alice_client.get(old).status_code == 200

    alice_client.post("/status-pages/tag-badges/rotate/")

    project.refresh_from_db()
    assert alice_client.get(old).status_code == 404
    assert alice_client.get(f"/badge/{project.tag_badge_key}/billing.svg").status_code == 200


def test_the_api_lists_the_tag_badges_and_rotates_them(client, alice, alice_api):
    make_job(alice, tags=["billing", "nightly"])

    listed = alice_api.get("/api/v1/tag-badges/").json()["tags"]
    rotated = alice_api.post("/api/v1/tag-badges/rotate/").json()["tags"]

    assert sorted(listed) == sorted(rotated) == ["billing", "nightly"]
    assert rotated["billing"] != listed["billing"]
    assert client.get(path_of(listed["billing"])).status_code == 404


def test_a_copy_of_a_job_has_a_badge_of_its_own(alice_client, alice):
    job = make_job(alice)

    alice_client.post(f"/jobs/{job.id}/clone/")

    copy = Job.objects.exclude(id=job.id).get()
    assert copy.badge_key != job.badge_key
