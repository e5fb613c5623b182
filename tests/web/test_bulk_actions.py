"""The dashboard's bulk actions (/jobs/bulk/): check jobs, pick an action, apply it."""

import pytest
from django.contrib.messages import get_messages

from accounts import projects
from accounts.models import AuditEntry, Membership, Role
from jobs.models import Job
from tests.conftest import make_job, make_member, page_text

BULK = "/jobs/bulk/"
DASHBOARD = "/jobs/"


@pytest.fixture
def three(alice) -> list[Job]:
    return [make_job(alice, title=f"Job {n}") for n in range(3)]


def selected(jobs: list[Job]) -> list[str]:
    return [str(job.pk) for job in jobs]


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_dashboard_has_a_checkbox_per_job_and_the_actions(alice_client, three):
    markup = alice_client.get(DASHBOARD).content.decode()

    for job in three:
        assert f'name="ids" value="{job.pk}"' in markup
    for label in ["Pause", "Resume", "Add tag", "Remove tag", "Delete"]:
        assert f">{label}</option>" in markup


def test_pausing_the_selection_pauses_those_jobs_and_goes_back(alice_client, three):
    response = alice_client.post(
        BULK, {"action": "pause", "ids": selected(three[:2]), "back": "/jobs/?tag=x"}
    )

    assert response.status_code == 302
    assert response.url == "/jobs/?tag=x"
    assert flashed(response) == ["Pause: 2 of 2 jobs changed."]
    assert [job.enabled for job in Job.objects.order_by("pk")] == [False, False, True]
    assert AuditEntry.objects.filter(action="job.updated", via="web").count() == 2


def test_adding_and_removing_a_tag(alice_client, three):
    alice_client.post(BULK, {"action": "tag", "ids": selected(three), "tag": "Nightly"})
    alice_client.post(BULK, {"action": "untag", "ids": selected(three[:1]), "tag": "nightly"})

    assert [job.tags for job in Job.objects.order_by("pk")] == [[], ["nightly"], ["nightly"]]


def test_resuming_the_selection(alice_client, three):
    alice_client.post(BULK, {"action": "pause", "ids": selected(three)})

    response = alice_client.post(BULK, {"action": "resume", "ids": selected(three[1:])})

    assert flashed(response)[-1] == "Resume: 2 of 2 jobs changed."
    assert [job.enabled for job in Job.objects.order_by("pk")] == [False, True, True]


def test_deleting_asks_first_and_deletes_once_confirmed(alice_client, three):
    asked = alice_client.post(BULK, {"action": "delete", "ids": selected(three[:2])})

    assert "Delete 2 jobs?" in page_text(asked)
    assert Job.objects.count() == 3

    response = alice_client.post(
        BULK, {"action": "delete", "ids": selected(three[:2]), "confirmed": "on"}
    )

    assert response.status_code == 302
    assert list(Job.objects.all()) == [three[2]]


def test_nothing_selected_says_so(alice_client, three):
    response = alice_client.post(BULK, {"action": "pause"})

    assert flashed(response) == ["Select jobs first."]
    assert Job.objects.filter(enabled=True).count() == 3


def test_another_projects_job_in_the_selection_stops_it_all(alice_client, bob, three):
    bobs = make_job(bob, title="Bob's job")

    response = alice_client.post(BULK, {"action": "pause", "ids": selected([*three, bobs])})

    assert flashed(response) == [f"No job {bobs.pk} in this project."]
    assert Job.objects.filter(enabled=True).count() == 4


def test_a_viewer_sees_no_checkboxes_and_cannot_post(client, alice, three):
    viewer = make_member("viewer@example.org")
    project = projects.personal_project(alice)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    session = client.session
    session[projects.CURRENT] = project.id
    session.save()

    markup = client.get(DASHBOARD).content.decode()
    response = client.post(BULK, {"action": "pause", "ids": selected(three)})

    assert 'name="ids"' not in markup
    assert response.status_code == 403
    assert Job.objects.filter(enabled=True).count() == 3


def test_an_outside_back_address_is_not_followed(alice_client, three):
    response = alice_client.post(
        BULK, {"action": "pause", "ids": selected(three), "back": "https://evil.example/"}
    )

    assert response.url == DASHBOARD
