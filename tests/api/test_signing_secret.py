"""POST /api/v1/signing-secret/ creates or rotates the key's project's signing secret and
shows it once; the job field sign_requests needs one."""

import base64

import pytest
from django.utils import timezone

from accounts import projects
from accounts.models import ApiKey, AuditEntry, Membership, Project
from accounts.projects import personal_project
from jobs.models import Job
from tests.conftest import api_client, make_job

SIGNING_SECRET = "/api/v1/signing-secret/"
JOBS = "/api/v1/jobs/"
NEW_JOB = {"title": "Signed", "url": "https://example.com/", "schedule": "@daily"}


def stored(project: Project) -> dict:
    return Project.objects.filter(id=project.id).values().get()


def test_it_creates_a_secret_shown_once_and_never_cached(alice_api, alice):
    response = alice_api.post(SIGNING_SECRET)

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = response.json()["secret"]
    assert set(response.json()) == {"secret"}
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    project = personal_project(alice)
    assert project.signing_secrets(timezone.now()) == [secret]
    assert not any(secret.removeprefix("whsec_") in str(v) for v in stored(project).values())


def test_a_second_post_rotates_and_the_previous_secret_signs_for_a_day(alice_api, alice):
    old = alice_api.post(SIGNING_SECRET).json()["secret"]

    new = alice_api.post(SIGNING_SECRET).json()["secret"]

    assert new != old
    project = personal_project(alice)
    now = timezone.now()
    assert project.signing_secrets(now) == [new, old]
    assert project.signing_secrets(now + timezone.timedelta(hours=24)) == [new]
    actions = list(AuditEntry.objects.filter(project=project).values_list("action", "changes"))
    assert actions == [("signing_secret.rotated", {}), ("signing_secret.created", {})]


def test_there_is_no_way_to_read_the_secret_back(alice_api):
    alice_api.post(SIGNING_SECRET)

    assert alice_api.get(SIGNING_SECRET).status_code == 405


def test_a_read_key_cannot_make_one(alice_read_only_api, alice):
    response = alice_read_only_api.post(SIGNING_SECRET)

    assert response.status_code == 403
    assert stored(personal_project(alice))["signing_secret_encrypted"] == ""


def test_a_member_below_admin_cannot_make_one(alice, bob):
    team = projects.create_project(alice, name="Acme")
    Membership.objects.create(project=team, user=bob, role="member")
    _, plain = ApiKey.issue(user=bob, project=team, name="bob's Acme key")

    response = api_client(plain).post(SIGNING_SECRET)

    assert response.status_code == 403
    assert response.json()["detail"] == "This needs the admin (members and keys) role in “Acme”."
    assert stored(team)["signing_secret_encrypted"] == ""


def test_it_leaves_another_projects_secret_alone(alice_api, bob_api, bob):
    bobs = bob_api.post(SIGNING_SECRET).json()["secret"]
    bobs_stored = stored(personal_project(bob))

    alice_api.post(SIGNING_SECRET)
    alice_api.post(SIGNING_SECRET)

    assert stored(personal_project(bob)) == bobs_stored
    assert personal_project(bob).signing_secrets(timezone.now()) == [bobs]


def test_a_job_cannot_sign_before_its_project_has_a_secret(alice_api, alice):
    response = alice_api.post(JOBS, {**NEW_JOB, "sign_requests": True}, format="json")

    assert response.status_code == 400
    (message,) = response.json()["sign_requests"]
    assert message.startswith("Create a signing secret first")
    assert not Job.objects.exists()


def test_a_job_signs_once_there_is_a_secret(alice_api, alice):
    alice_api.post(SIGNING_SECRET)

    response = alice_api.post(JOBS, {**NEW_JOB, "sign_requests": True}, format="json")

    assert response.status_code == 201
    assert response.json()["sign_requests"] is True
    assert Job.objects.get().sign_requests


def test_turning_signing_on_by_patch_needs_a_secret_too(alice_api, alice):
    job = make_job(alice)

    refused = alice_api.patch(f"{JOBS}{job.id}/", {"sign_requests": True}, format="json")
    alice_api.post(SIGNING_SECRET)
    accepted = alice_api.patch(f"{JOBS}{job.id}/", {"sign_requests": True}, format="json")

    assert refused.status_code == 400
    assert list(refused.json()) == ["sign_requests"]
    assert accepted.status_code == 200
    assert accepted.json()["sign_requests"] is True


@pytest.mark.parametrize("sign_requests", [False, None])
def test_a_job_that_does_not_sign_needs_no_secret(alice_api, sign_requests):
    data = NEW_JOB if sign_requests is None else {**NEW_JOB, "sign_requests": sign_requests}

    response = alice_api.post(JOBS, data, format="json")

    assert response.status_code == 201
    assert response.json()["sign_requests"] is False
