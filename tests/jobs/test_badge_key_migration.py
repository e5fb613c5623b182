"""The migrations that give jobs and projects their badge keys, run on a database with jobs
and projects already in it: each row gets a key of its own (the column is unique)."""

import pytest

from tests.conftest import migrate

BEFORE = [("accounts", "0007_project_signing_secret"), ("jobs", "0018_job_tags")]
AFTER = [("accounts", "0008_tag_badge_key"), ("jobs", "0019_badges_status_pages_variables")]


@pytest.mark.django_db(transaction=True)
def test_every_existing_job_and_project_gets_a_key_of_its_own():
    old = migrate(BEFORE)
    Project, Job = old.get_model("accounts", "Project"), old.get_model("jobs", "Job")
    projects = [Project.objects.create(name=f"Project {n}") for n in range(2)]
    for project in projects:
        for n in range(3):
            Job.objects.create(
                project=project, title=f"Job {n}", url="https://example.com/", schedule="@daily"
            )

    try:
        new = migrate(AFTER)
        Project, Job = new.get_model("accounts", "Project"), new.get_model("jobs", "Job")
        job_keys = list(Job.objects.values_list("badge_key", flat=True))
        project_keys = list(Project.objects.values_list("tag_badge_key", flat=True))
        assert len(job_keys) == len(set(job_keys)) == 6
        assert len(project_keys) == len(set(project_keys)) == 2
        assert all(len(key) >= 20 for key in job_keys + project_keys)
    finally:
        migrate()
