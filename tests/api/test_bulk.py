"""POST /api/v1/jobs/bulk/: one action on many of the key's project's jobs, a result per id."""

import pytest

from accounts.models import AuditEntry
from jobs.models import Execution, Job
from tests.conftest import api_client_for, make_job, reloaded

BULK = "/api/v1/jobs/bulk/"
pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def three(alice) -> list[Job]:
    return [make_job(alice, title=f"Job {n}", tags=["nightly"]) for n in range(3)]


def ids(jobs: list[Job]) -> list[int]:
    return [job.pk for job in jobs]


def test_it_pauses_the_jobs_and_counts_what_changed(alice_api, three):
    Job.objects.filter(pk=three[0].pk).update(enabled=False, next_run_at=None)

    response = alice_api.post(BULK, {"action": "pause", "ids": ids(three)}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "action": "pause",
        "selected": 3,
        "changed": 2,
        "results": [
            {"id": three[0].pk, "status": 200, "changed": False},
            {"id": three[1].pk, "status": 200, "changed": True},
            {"id": three[2].pk, "status": 200, "changed": True},
        ],
    }
    assert not Job.objects.filter(enabled=True).exists()
    assert all(job.next_run_at is None for job in Job.objects.all())


def test_it_resumes_the_jobs(alice_api, three):
    Job.objects.update(enabled=False, next_run_at=None)

    response = alice_api.post(BULK, {"action": "resume", "ids": ids(three[:2])}, format="json")

    assert (response.json()["selected"], response.json()["changed"]) == (2, 2)
    assert [job.enabled for job in Job.objects.order_by("pk")] == [True, True, False]
    assert reloaded(three[0]).next_run_at is not None


def test_it_adds_a_tag_once(alice_api, three):
    Job.objects.filter(pk=three[0].pk).update(tags=["nightly", "billing"])

    response = alice_api.post(
        BULK, {"action": "tag", "ids": ids(three), "tag": "Billing"}, format="json"
    )

    assert [result["changed"] for result in response.json()["results"]] == [False, True, True]
    assert [job.tags for job in Job.objects.order_by("pk")] == [["nightly", "billing"]] * 3


def test_it_removes_a_tag(alice_api, three):
    response = alice_api.post(
        BULK, {"action": "untag", "ids": ids(three[1:]), "tag": "nightly"}, format="json"
    )

    assert response.json()["changed"] == 2
    assert [job.tags for job in Job.objects.order_by("pk")] == [["nightly"], [], []]


def test_it_deletes_the_jobs(alice_api, three):
    response = alice_api.post(BULK, {"action": "delete", "ids": ids(three[:2])}, format="json")

    assert [r["status"] for r in response.json()["results"]] == [200, 200]
    assert response.json()["changed"] == 2
    assert list(Job.objects.all()) == [three[2]]


def test_each_job_changed_is_in_the_audit_log(alice_api, three):
    alice_api.post(BULK, {"action": "pause", "ids": ids(three)}, format="json")
    alice_api.post(BULK, {"action": "delete", "ids": ids(three[:1])}, format="json")

    entries = AuditEntry.objects.order_by("pk")
    assert [(e.action, e.object_repr, e.via) for e in entries] == [
        ("job.updated", "Job 0", "api"),
        ("job.updated", "Job 1", "api"),
        ("job.updated", "Job 2", "api"),
        ("job.deleted", "Job 0", "api"),
    ]
    assert entries[0].changes == {"enabled": [True, False]}


def test_another_projects_id_answers_404_and_is_left_alone(alice_api, bob, three):
    bobs = make_job(bob, title="Bob's job")

    response = alice_api.post(
        BULK, {"action": "delete", "ids": [three[0].pk, bobs.pk, 999999]}, format="json"
    )

    assert response.status_code == 200
    # Bob's job answers as one that does not exist: nothing says it is there.
    assert response.json()["results"] == [
        {"id": three[0].pk, "status": 200, "changed": True},
        {"id": bobs.pk, "status": 404, "changed": False, "error": "Not found."},
        {"id": 999999, "status": 404, "changed": False, "error": "Not found."},
    ]
    assert response.json()["selected"] == 1
    assert Job.objects.filter(pk=bobs.pk).exists()
    assert Job.objects.count() == 3
    assert AuditEntry.objects.get().object_repr == "Job 0"


@pytest.mark.parametrize("action", ["pause", "resume", "run", "tag", "untag", "delete"])
def test_no_action_touches_another_projects_job(alice_api, bob, action):
    bobs = make_job(bob, title="Bob's job", tags=["nightly"])
    before = Job.objects.values().get(pk=bobs.pk)

    response = alice_api.post(
        BULK, {"action": action, "ids": [bobs.pk], "tag": "nightly"}, format="json"
    )

    assert response.json()["results"] == [
        {"id": bobs.pk, "status": 404, "changed": False, "error": "Not found."}
    ]
    assert Job.objects.values().get(pk=bobs.pk) == before
    assert not Execution.objects.exists()
    assert not AuditEntry.objects.exists()


def test_run_now_starts_a_manual_run_of_each_job(alice_api, three):
    response = alice_api.post(BULK, {"action": "run", "ids": ids(three)}, format="json")

    runs = {run.job_id: run for run in Execution.objects.all()}
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": job.pk, "status": 202, "changed": True, "execution": runs[job.pk].pk}
        for job in three
    ]
    assert {run.trigger for run in runs.values()} == {Execution.Trigger.MANUAL}


def test_each_run_counts_against_the_members_run_now_limit(settings, alice, alice_api, three):
    settings.MANUAL_RUNS_PER_MINUTE = 3
    alice_api.post(f"/api/v1/jobs/{three[0].pk}/run/")

    response = alice_api.post(BULK, {"action": "run", "ids": ids(three)}, format="json")

    results = response.json()["results"]
    assert [result["status"] for result in results] == [202, 202, 429]
    assert results[2]["error"] == "At most 3 manual runs a minute. Try again shortly."
    assert Execution.objects.filter(job=three[2]).count() == 0
    assert Execution.objects.count() == 3
    assert response.json()["changed"] == 2


def test_a_tag_action_needs_a_good_tag(alice_api, three):
    missing = alice_api.post(BULK, {"action": "tag", "ids": ids(three)}, format="json")
    bad = alice_api.post(BULK, {"action": "tag", "ids": ids(three), "tag": "a b"}, format="json")

    assert missing.status_code == bad.status_code == 400
    assert missing.json() == {"tag": ["Name the tag to add or remove."]}
    assert set(bad.json()) == {"tag"}


def test_a_job_with_ten_tags_answers_400_and_the_others_are_tagged(alice_api, alice, three):
    full = make_job(alice, title="Full", tags=[f"t{n}" for n in range(10)])

    response = alice_api.post(
        BULK, {"action": "tag", "ids": [*ids(three), full.pk], "tag": "billing"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["results"][3] == {
        "id": full.pk,
        "status": 400,
        "changed": False,
        "error": "It has 10 tags already.",
    }
    assert [job.tags for job in Job.objects.order_by("pk")][:3] == [["nightly", "billing"]] * 3
    assert "billing" not in reloaded(full).tags


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "explode", "ids": [1]}, "action"),
        ({"action": "pause", "ids": []}, "ids"),
        ({"action": "pause", "ids": ["x"]}, "ids"),
        ({"action": "pause"}, "ids"),
    ],
)
def test_a_bad_request_is_a_400_per_field(alice_api, three, body, field):
    response = alice_api.post(BULK, body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_read_only_key_cannot(alice, three):
    response = api_client_for(alice, read_only=True).post(
        BULK, {"action": "pause", "ids": ids(three)}, format="json"
    )

    assert response.status_code == 403
    assert Job.objects.filter(enabled=True).count() == 3
