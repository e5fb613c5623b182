"""The dashboard's bulk actions (/jobs/bulk/): check jobs (or all matching the filter),
pick an action, apply it."""

import pytest
from django.contrib.messages import get_messages

from accounts import projects
from accounts.models import AuditEntry, Membership, Role
from jobs.models import Execution, Job
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
    for label in ["Pause", "Resume", "Run now", "Add tag", "Remove tag", "Delete"]:
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


def test_another_projects_job_in_the_selection_is_not_found_and_left_alone(
    alice_client, bob, three
):
    bobs = make_job(bob, title="Bob's job")

    response = alice_client.post(BULK, {"action": "pause", "ids": selected([*three, bobs])})

    assert flashed(response) == [
        "Pause: 3 of 3 jobs changed.",
        f"Not done for job {bobs.pk}: Not found.",
    ]
    assert [job.enabled for job in Job.objects.order_by("pk")] == [False, False, False, True]


def test_run_now_starts_a_run_of_each_selected_job(alice_client, three):
    response = alice_client.post(BULK, {"action": "run", "ids": selected(three[:2])})

    assert flashed(response) == ["Run now: 2 of 2 jobs started."]
    assert sorted(Execution.objects.values_list("job_id", flat=True)) == [j.pk for j in three[:2]]
    assert {e.trigger for e in Execution.objects.all()} == {Execution.Trigger.MANUAL}


def test_runs_past_the_run_now_limit_are_named(settings, alice_client, three):
    settings.MANUAL_RUNS_PER_MINUTE = 1

    response = alice_client.post(BULK, {"action": "run", "ids": selected(three)})

    assert flashed(response) == [
        "Run now: 1 of 3 jobs started.",
        "Not done for “Job 1”, “Job 2”: At most 1 manual runs a minute. Try again shortly.",
    ]
    assert list(Execution.objects.values_list("job_id", flat=True)) == [three[0].pk]


def test_all_jobs_matching_the_filter_can_be_chosen_at_once(alice_client, alice, three):
    billing = [make_job(alice, title=f"Invoice {n}", tags=["billing"]) for n in range(2)]
    markup = alice_client.get(DASHBOARD, {"tag": "billing"}).content.decode()

    response = alice_client.post(
        BULK,
        {"action": "pause", "all_matching": "on", "filter_tag": "billing", "filter_q": ""},
    )

    assert "Select all 2 jobs matching this filter" in markup
    assert flashed(response) == ["Pause: 2 of 2 jobs changed."]
    paused = Job.objects.filter(enabled=False).order_by("pk")
    assert list(paused) == billing


def test_a_job_that_cannot_take_the_tag_is_named_and_the_others_are_tagged(
    alice_client, alice, three
):
    full = make_job(alice, title="Full", tags=[f"t{n}" for n in range(10)])

    response = alice_client.post(
        BULK, {"action": "tag", "ids": selected([*three, full]), "tag": "billing"}
    )

    assert flashed(response) == [
        "Add tag: 3 of 4 jobs changed.",
        "Not done for “Full”: It has 10 tags already.",
    ]
    assert [job.tags for job in Job.objects.order_by("pk")][:3] == [["billing"]] * 3


def test_all_matching_a_filter_that_matches_nothing_does_nothing(alice_client, three):
    response = alice_client.post(
        BULK, {"action": "delete", "all_matching": "on", "filter_tag": "none", "filter_q": ""}
    )

    assert flashed(response) == ["No jobs match this filter."]
    assert Job.objects.count() == 3


def test_deleting_all_matching_asks_first_naming_them(alice_client, alice, three):
    make_job(alice, title="Old report", url="http://127.0.0.1:9/old")
    chosen = {"action": "delete", "all_matching": "on", "filter_tag": "", "filter_q": "old"}

    asked = alice_client.post(BULK, chosen)

    assert "Delete 1 job?" in page_text(asked)
    assert "Old report" in page_text(asked)
    assert Job.objects.count() == 4
    ids = asked.context["ids"]
    alice_client.post(BULK, {"action": "delete", "ids": ids, "confirmed": "on"})
    assert sorted(Job.objects.values_list("title", flat=True)) == ["Job 0", "Job 1", "Job 2"]


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
