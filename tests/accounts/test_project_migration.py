"""The migration to projects, run on a database filled in the old shape: each member's jobs
and keys land in a personal project they own, read-only keys with the read scope."""

import pytest

from tests.conftest import migrate

BEFORE = [
    ("accounts", "0003_remove_user_email_verified_at"),
    ("jobs", "0005_execution_claim_and_sent"),
]
AFTER = [("accounts", "0006_apikey_scope_only"), ("jobs", "0008_job_project_required")]


@pytest.mark.django_db(transaction=True)
def test_members_jobs_and_keys_move_into_personal_projects():
    old = migrate(BEFORE)
    User, Job, ApiKey = (
        old.get_model(*name.split(".")) for name in ["accounts.User", "jobs.Job", "accounts.ApiKey"]
    )
    alice = User.objects.create(email="alice@example.org", password="x")
    bob = User.objects.create(email="bob@example.org", password="x")
    for user in (alice, bob):
        Job.objects.create(
            user=user, title=f"{user.email} job", url="https://example.com/", schedule="@daily"
        )
    ApiKey.objects.create(user=alice, name="deploy", prefix="csk_a", key_hash="h1", read_only=False)
    ApiKey.objects.create(
        user=alice, name="dashboard", prefix="csk_b", key_hash="h2", read_only=True
    )

    try:
        new = migrate(AFTER)
        Project = new.get_model("accounts", "Project")
        Job, ApiKey = new.get_model("jobs", "Job"), new.get_model("accounts", "ApiKey")
        for user in (alice, bob):
            (project,) = Project.objects.filter(memberships__user_id=user.id)
            assert project.personal
            assert project.memberships.get().role == "owner"
            assert list(Job.objects.filter(project=project).values_list("title", flat=True)) == [
                f"{user.email} job"
            ]
        alices = Project.objects.get(memberships__user_id=alice.id)
        assert dict(ApiKey.objects.filter(project=alices).values_list("name", "scope")) == {
            "deploy": "write",
            "dashboard": "read",
        }
    finally:
        migrate()
