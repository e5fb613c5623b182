"""Tags on jobs: the rules (jobs/validators.py), the API field and ?tag= filter, the job
form's comma-separated input and the dashboard's filter."""

import pytest

from jobs.models import Job
from tests.conftest import labelled_rows, make_job, reloaded
from tests.web.test_job_form import CREATE, job_form_data

JOBS = "/api/v1/jobs/"
NEW_JOB = {"title": "Backup", "url": "http://127.0.0.1:9/backup", "schedule": "@daily"}
pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits")


def titles(response) -> list[str]:
    return [job["title"] for job in response.json()["results"]]


def test_tags_are_stored_lowercased_each_once_in_the_order_given(alice_api):
    response = alice_api.post(
        JOBS, {**NEW_JOB, "tags": ["Billing", "nightly", "billing", " eu-west.1 "]}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["tags"] == ["billing", "nightly", "eu-west.1"]
    assert Job.objects.get().tags == ["billing", "nightly", "eu-west.1"]


def test_a_job_has_no_tags_unless_given(alice_api):
    response = alice_api.post(JOBS, NEW_JOB, format="json")

    assert response.json()["tags"] == []


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["x" * 41], "is longer than 40 characters"),
        (["has space"], "a tag has only letters, digits"),
        (['quo"te'], "a tag has only letters, digits"),
        ([f"t{n}" for n in range(11)], "A job has at most 10 tags."),
        ("billing", "Expected a list of items"),
    ],
)
def test_a_bad_tag_is_a_400_on_the_tags_field_and_nothing_is_made(alice_api, tags, message):
    response = alice_api.post(JOBS, {**NEW_JOB, "tags": tags}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"tags"}
    assert message in " ".join(response.json()["tags"])
    assert not Job.objects.exists()


def test_forty_characters_is_still_a_tag(alice_api):
    response = alice_api.post(JOBS, {**NEW_JOB, "tags": ["x" * 40]}, format="json")

    assert response.status_code == 201


def test_the_list_filters_by_tag_ignoring_case(alice_api, alice, bob):
    make_job(alice, title="Invoices", tags=["billing", "nightly"])
    make_job(alice, title="Reminders", tags=["billing-eu"])
    make_job(alice, title="Backup", tags=["nightly"])
    make_job(bob, title="Bob's billing", tags=["billing"])

    assert titles(alice_api.get(JOBS, {"tag": "Billing"})) == ["Invoices"]
    assert titles(alice_api.get(JOBS, {"tag": "nightly"})) == ["Backup", "Invoices"]
    assert titles(alice_api.get(JOBS, {"tag": "bill"})) == []


def test_the_list_filters_by_tag_and_search_together(alice_api, alice):
    make_job(alice, title="Invoices EU", tags=["billing"])
    make_job(alice, title="Invoices US", tags=["billing"])
    make_job(alice, title="Backup EU", tags=["nightly"])

    assert titles(alice_api.get(JOBS, {"tag": "billing", "search": "eu"})) == ["Invoices EU"]


def test_a_tag_over_forty_characters_is_refused_by_the_bulk_tag_action(alice_api, alice):
    job = make_job(alice)

    response = alice_api.post(
        f"{JOBS}bulk/", {"action": "tag", "ids": [job.pk], "tag": "x" * 41}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"tag": [f"“{'x' * 40}…” is longer than 40 characters."]}
    assert reloaded(job).tags == []


def test_patching_tags_replaces_them(alice_api, alice):
    job = make_job(alice, tags=["old"])

    response = alice_api.patch(f"{JOBS}{job.pk}/", {"tags": ["new", "other"]}, format="json")

    assert response.status_code == 200
    assert reloaded(job).tags == ["new", "other"]


def test_the_job_form_takes_comma_separated_tags(alice_client, alice):
    response = alice_client.post(CREATE, job_form_data(tags="Billing, nightly,,billing"))

    assert response.status_code == 302
    assert Job.objects.get().tags == ["billing", "nightly"]


def test_the_job_form_shows_a_bad_tag_at_the_field(alice_client):
    response = alice_client.post(CREATE, job_form_data(tags="ok, not ok"))

    assert response.status_code == 200
    assert response.context["form"].errors["tags"] == [
        "“not ok”: a tag has only letters, digits, “-”, “_” and “.”."
    ]
    assert not Job.objects.exists()


def test_the_edit_form_shows_the_saved_tags(alice_client, alice):
    job = make_job(alice, tags=["billing", "nightly"])

    response = alice_client.get(f"/jobs/{job.pk}/edit/")

    assert 'value="billing, nightly"' in response.content.decode()


def test_the_dashboard_links_each_tag_to_its_filter_kept_in_the_url(alice_client, alice):
    make_job(alice, title="Invoices", tags=["billing"])
    make_job(alice, title="Backup", tags=["nightly"])

    everything = alice_client.get("/jobs/")
    filtered = alice_client.get("/jobs/", {"tag": "billing"})

    assert 'href="?tag=billing"' in everything.content.decode()
    assert [row["Job"] for row in labelled_rows(filtered)] == ["Invoices billing"]
    assert 'value="billing"' in filtered.content.decode()  # the filter box keeps it


def test_the_dashboard_searches_titles_and_urls(alice_client, alice):
    make_job(alice, title="Invoices", url="http://127.0.0.1:9/invoices")
    make_job(alice, title="Backup", url="http://127.0.0.1:9/backup")

    response = alice_client.get("/jobs/", {"q": "backup"})

    assert [row["Job"] for row in labelled_rows(response)] == ["Backup"]


def test_the_dashboard_filters_by_tag_and_search_together_kept_in_the_url(alice_client, alice):
    make_job(alice, title="Invoices EU", tags=["billing"])
    make_job(alice, title="Invoices US", tags=["billing"])
    make_job(alice, title="Backup EU", tags=["nightly"])

    response = alice_client.get("/jobs/", {"tag": "billing", "q": "EU"})

    assert [row["Job"] for row in labelled_rows(response)] == ["Invoices EU billing"]
    markup = response.content.decode()
    assert 'name="q" value="EU"' in markup and 'name="tag" value="billing"' in markup
    # "All matching" in the bulk form acts on the same filter.
    assert 'name="filter_tag" value="billing"' in markup
    assert 'name="filter_q" value="EU"' in markup


def test_the_dashboards_bulk_tag_shows_a_tag_over_forty_characters_as_an_error(alice_client, alice):
    job = make_job(alice)

    response = alice_client.post(
        "/jobs/bulk/", {"action": "tag", "ids": [job.pk], "tag": "x" * 41}, follow=True
    )

    assert f"“{'x' * 40}…” is longer than 40 characters." in response.content.decode()
    assert reloaded(job).tags == []


def test_the_dashboard_says_when_nothing_matches(alice_client, alice):
    make_job(alice, title="Invoices")

    response = alice_client.get("/jobs/", {"tag": "nothing"})

    assert "No jobs match this filter." in response.content.decode()
