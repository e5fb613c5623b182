"""/api/v1/status-pages/: a project's status pages over the API, with a message per field
for bad input and nothing made."""

import pytest

from accounts.models import AuditEntry
from jobs.models import StatusPage
from tests.conftest import make_job

PAGES = "/api/v1/status-pages/"


def test_a_page_is_made_read_changed_and_deleted(alice_api, alice, client, settings):
    billing, exports = make_job(alice, title="Billing cron"), make_job(alice, title="Exports")

    made = alice_api.post(
        PAGES,
        {
            "title": "Acme status",
            "slug": "acme",
            "published": True,
            "jobs": [
                {"job": exports.id, "name": "Exports"},
                {"job": billing.id, "name": "Billing"},
            ],
        },
        format="json",
    )

    assert made.status_code == 201, made.json()
    page = made.json()
    assert page["url"] == f"{settings.SITE_URL}/status/acme/"
    assert page["jobs"] == [
        {"job": exports.id, "name": "Exports"},
        {"job": billing.id, "name": "Billing"},
    ]
    assert client.get("/status/acme/").status_code == 200

    changed = alice_api.patch(f"{PAGES}{page['id']}/", {"published": False}, format="json")
    assert changed.json()["jobs"] == page["jobs"]  # not given: kept
    assert client.get("/status/acme/").status_code == 404

    assert alice_api.delete(f"{PAGES}{page['id']}/").status_code == 204
    assert not StatusPage.objects.exists()
    actions = AuditEntry.objects.order_by("id").values_list("action", flat=True)
    assert list(actions) == ["status_page.created", "status_page.updated", "status_page.deleted"]


def test_a_page_without_a_slug_gets_an_unguessable_one(alice_api):
    page = alice_api.post(PAGES, {"title": "Status"}, format="json").json()

    assert len(page["slug"]) == 24
    assert page["published"] is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "ab", "Use 3 to 40 characters."),
        ("slug", "x" * 41, "Ensure this field has no more than 40 characters."),
        ("slug", "Acme", "Use lowercase letters, digits and hyphens"),
        ("slug", "status", "“status” is reserved; choose another."),
        ("title", "", "This field may not be blank."),
        ("jobs", "billing", 'Expected a list of items but got type "str".'),
    ],
)
def test_bad_input_is_a_400_on_its_field_and_nothing_is_made(alice_api, field, value, message):
    response = alice_api.post(PAGES, {"title": "Status", field: value}, format="json")

    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert not StatusPage.objects.exists()


def test_another_projects_job_cannot_be_listed(alice_api, bob):
    bobs = make_job(bob)

    response = alice_api.post(
        PAGES, {"title": "Status", "jobs": [{"job": bobs.id, "name": "Bob's"}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "jobs": {"0": {"job": [f'Invalid pk "{bobs.id}" - object does not exist.']}}
    }
    assert not StatusPage.objects.exists()


def test_a_job_listed_twice_or_without_a_name_is_a_400(alice_api, alice):
    job = make_job(alice)
    twice = [{"job": job.id, "name": "A"}, {"job": job.id, "name": "B"}]

    assert alice_api.post(PAGES, {"title": "S", "jobs": twice}, format="json").json() == {
        "jobs": ["Each job can be listed once."]
    }
    unnamed = alice_api.post(PAGES, {"title": "S", "jobs": [{"job": job.id}]}, format="json")
    assert unnamed.json() == {"jobs": {"0": {"name": ["This field is required."]}}}


def test_a_slug_taken_by_any_project_is_a_400(alice_api, bob_api):
    assert bob_api.post(PAGES, {"title": "Bob", "slug": "shared"}, format="json").status_code == 201

    response = alice_api.post(PAGES, {"title": "Alice", "slug": "shared"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["slug"]


def test_another_projects_page_is_not_found(alice_api, bob_api):
    page = bob_api.post(PAGES, {"title": "Bob"}, format="json").json()

    assert alice_api.get(f"{PAGES}{page['id']}/").status_code == 404
    assert alice_api.get(PAGES).json()["count"] == 0
