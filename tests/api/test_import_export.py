"""GET /api/v1/jobs/export/ and POST /api/v1/jobs/import/, the export_jobs and import_jobs
commands, and the dashboard's Export and Import (all through jobs/transfer.py)."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts import projects
from accounts.models import ApiKey, AuditEntry
from jobs.models import Job
from tests.conftest import api_client, make_job

EXPORT = "/api/v1/jobs/export/"
IMPORT = "/api/v1/jobs/import/"
pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits")


def a_job(**fields: object) -> dict:
    return {"title": "Ping", "url": "http://127.0.0.1:9/ping", "schedule": "@hourly", **fields}


@pytest.fixture
def acme(alice):
    return projects.create_project(alice, name="Acme")


@pytest.fixture
def acme_api(alice, acme):
    _, plain = ApiKey.issue(user=alice, project=acme, name="Acme deploy")
    return api_client(plain)


@pytest.fixture
def full_job(alice) -> Job:
    """A job with every kind of setting, and both kinds of secret."""
    job = make_job(
        alice,
        title="Invoices",
        method="POST",
        headers={"Content-Type": "application/json"},
        body='{"run": true}',
        auth_username="robot",
        timeout_seconds=12,
        expected_statuses=[200, 204],
        follow_redirects=False,
        retries=2,
        retry_delay_seconds=30,
        assertions=[{"kind": "body_contains", "value": "ok"}],
        failure_threshold=3,
        notify_on_recovery=False,
        remind_every_hours=6,
        spread_seconds=20,
        tags=["billing", "nightly"],
        enabled=False,
    )
    job.auth_password = "s3cret"
    job.secret_headers = {"Authorization": "Bearer t0ken"}
    job.save()
    return job


def test_the_export_has_each_jobs_settings_and_names_the_secrets_left_out(alice_api, full_job):
    response = alice_api.get(EXPORT)

    assert response.status_code == 200
    document = response.json()
    assert document["version"] == 1
    (exported,) = document["jobs"]
    assert exported["title"] == "Invoices"
    assert exported["tags"] == ["billing", "nightly"]
    assert exported["secrets_omitted"] == ["auth_password", "secret_headers.Authorization"]
    text = response.content.decode()
    assert "s3cret" not in text
    assert "t0ken" not in text
    assert "id" not in exported


def test_the_export_is_of_the_keys_project_only(alice_api, bob):
    make_job(bob, title="Bob's job")

    assert alice_api.get(EXPORT).json()["jobs"] == []


def test_export_then_import_into_another_project_makes_equal_jobs_minus_secrets(
    alice_api, acme_api, acme, full_job, alice
):
    make_job(alice, title="Plain")
    exported = alice_api.get(EXPORT).json()

    response = acme_api.post(IMPORT, exported, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    copied = acme_api.get(EXPORT).json()
    assert copied["project"] == "Acme"
    # The same settings; the secrets are the ones to enter again, and are not there.
    for job in exported["jobs"]:
        job["secrets_omitted"] = []
    assert copied["jobs"] == exported["jobs"]
    invoices = acme.jobs.get(title="Invoices")
    assert not invoices.auth_password_set
    assert invoices.secret_headers == {}
    assert invoices.next_run_at is None  # paused, as it was


def test_one_bad_job_makes_none_and_each_problem_is_named_by_index_and_field(acme_api):
    document = {
        "jobs": [
            a_job(),
            a_job(schedule="61 * * * *"),
            a_job(),
            a_job(url="ftp://example.org/", tags=["not ok"]),
        ]
    }

    response = acme_api.post(IMPORT, document, format="json")

    assert response.status_code == 400
    errors = response.json()["jobs"]
    assert set(errors) == {"1", "3"}
    assert set(errors["1"]) == {"schedule"}
    assert set(errors["3"]) == {"url", "tags"}
    assert not Job.objects.exists()
    assert not AuditEntry.objects.filter(action="job.created").exists()


def test_a_dry_run_checks_everything_and_makes_nothing(acme_api):
    response = acme_api.post(
        f"{IMPORT}?dry_run=1", {"jobs": [a_job(), a_job(title="Two")]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert response.json()["created"] == 0
    assert [job["title"] for job in response.json()["jobs"]] == ["Ping", "Two"]
    assert not Job.objects.exists()
    assert not AuditEntry.objects.filter(action="job.created").exists()


def test_the_project_cap_fails_the_whole_import_naming_the_first_job_over_it(
    settings, acme_api, acme, alice
):
    settings.MAX_JOBS_PER_PROJECT = 3
    make_job(alice, project=acme)

    response = acme_api.post(IMPORT, {"jobs": [a_job(), a_job(), a_job()]}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "jobs": {"2": {"non_field_errors": ["This project has reached the limit of 3 jobs."]}}
    }
    assert acme.jobs.count() == 1


def test_the_cap_applies_to_a_dry_run_too(settings, acme_api):
    settings.MAX_JOBS_PER_PROJECT = 1

    response = acme_api.post(f"{IMPORT}?dry_run=1", {"jobs": [a_job(), a_job()]}, format="json")

    assert response.status_code == 400
    assert "1" in response.json()["jobs"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([a_job()], 'Give {"jobs": [...]}, as the export writes it.'),
        ({"jobs": []}, "There are no jobs to import."),
        ({"jobs": ["x"]}, "Each job is an object of its fields."),
        ({"jobs": [a_job()] * 1001}, "Import at most 1000 jobs at once."),
    ],
)
def test_a_document_that_is_not_an_export_is_a_400(acme_api, document, message):
    response = acme_api.post(IMPORT, document, format="json")

    assert response.status_code == 400
    assert response.json() == {"jobs": [message]}
    assert not Job.objects.exists()


def test_more_than_a_mebibyte_is_refused(acme_api):
    document = {"jobs": [a_job(body="x" * 60_000) for _ in range(20)]}

    response = acme_api.post(IMPORT, document, format="json")

    assert response.status_code == 400
    assert response.json() == {"jobs": ["Import at most 1 MiB at once."]}


def test_a_read_only_key_cannot_import(alice):
    _, plain = ApiKey.issue(
        user=alice, project=projects.personal_project(alice), name="r", scope="read"
    )

    response = api_client(plain).post(IMPORT, {"jobs": [a_job()]}, format="json")

    assert response.status_code == 403


def test_each_imported_job_is_in_the_audit_log(acme_api, acme):
    acme_api.post(IMPORT, {"jobs": [a_job(), a_job(title="Two")]}, format="json")

    entries = AuditEntry.objects.filter(project=acme, action="job.created")
    assert sorted(entry.object_repr for entry in entries) == ["Ping", "Two"]


# The commands


def test_the_commands_copy_jobs_from_one_project_to_another(full_job, acme, tmp_path):
    out = StringIO()
    call_command("export_jobs", "--project", full_job.project.name, stdout=out)
    path = tmp_path / "jobs.json"
    path.write_text(out.getvalue())

    said = StringIO()
    call_command("import_jobs", "--project", "Acme", str(path), stdout=said)

    assert said.getvalue().strip() == "Imported 1 job(s) into Acme."
    copy = acme.jobs.get()
    assert (copy.title, copy.tags, copy.auth_password_set) == ("Invoices", full_job.tags, False)
    assert AuditEntry.objects.get(project=acme, action="job.created").via == "command"


def test_the_import_command_reports_problems_and_makes_nothing(acme, tmp_path):
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps({"jobs": [a_job(), a_job(schedule="nope")]}))

    with pytest.raises(CommandError) as raised:
        call_command("import_jobs", "--project", "Acme", str(path))
    assert str(raised.value).startswith('Nothing was imported: {"jobs": {"1": {"schedule"')
    assert not acme.jobs.exists()


def test_the_import_command_has_a_dry_run(acme, tmp_path):
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps({"jobs": [a_job()]}))
    out = StringIO()

    call_command("import_jobs", "--project", "Acme", str(path), "--dry-run", stdout=out)

    assert out.getvalue().strip() == "Would import 1 job(s) into Acme."
    assert not acme.jobs.exists()


def test_an_unknown_project_is_an_error(db):
    with pytest.raises(CommandError, match="No project is named 'Nope'"):
        call_command("export_jobs", "--project", "Nope")


# The pages


def test_the_dashboard_exports_a_download(alice_client, full_job):
    response = alice_client.get("/jobs/export/")

    assert response["Content-Disposition"] == 'attachment; filename="cronsvc-jobs.json"'
    assert [job["title"] for job in json.loads(response.content)["jobs"]] == ["Invoices"]


def test_the_import_page_previews_then_imports_an_uploaded_file(alice_client, alice):
    upload = json.dumps({"jobs": [a_job(), a_job(title="Two")]}).encode()

    preview = alice_client.post(
        "/jobs/import/",
        {"format": "json", "file": SimpleUploadedFile("jobs.json", upload), "preview": ""},
    )

    assert "2 jobs to import" in preview.content.decode()
    assert not Job.objects.exists()
    # The preview keeps the text (encrypted), so Import needs no second upload.
    kept = preview.context["confirm"].initial
    response = alice_client.post("/jobs/import/", {**kept, "import": ""})

    assert response.status_code == 302
    assert sorted(Job.objects.values_list("title", flat=True)) == ["Ping", "Two"]


def test_the_import_page_lists_the_problems_and_makes_nothing(alice_client):
    content = json.dumps({"jobs": [a_job(), a_job(url="ftp://example.org/")]})

    response = alice_client.post(
        "/jobs/import/", {"format": "json", "content": content, "import": ""}
    )

    assert response.status_code == 200
    assert "Nothing was imported" in response.content.decode()
    assert "Job 2, url:" in response.content.decode()
    assert not Job.objects.exists()


def test_the_import_page_says_when_it_is_not_json(alice_client):
    response = alice_client.post(
        "/jobs/import/", {"format": "json", "content": "{nope", "import": ""}
    )

    assert "This is not JSON" in response.content.decode()


def test_the_export_can_come_as_text_in_an_envelope_with_its_own_dry_run(acme_api, acme):
    content = json.dumps({"jobs": [a_job()]})

    checked = acme_api.post(
        IMPORT, {"format": "json", "content": content, "dry_run": True}, format="json"
    )
    made = acme_api.post(IMPORT, {"format": "json", "content": content}, format="json")

    assert (checked.status_code, checked.json()["dry_run"]) == (200, True)
    assert (made.status_code, made.json()["created"]) == (201, 1)
    assert acme.jobs.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "xml", "content": "<jobs/>"}, "format"),
        ({"format": "curl", "content": "curl https://example.org/"}, "schedule"),
        (
            {"format": "curl", "content": "wget https://example.org/", "schedule": "@daily"},
            "content",
        ),
        ({"format": "crontab", "content": "# nothing\n\nMAILTO=me@example.org"}, "content"),
        ({"format": "json", "content": "{nope"}, "content"),
        ({"format": "json", "content": {"jobs": []}}, "content"),
        ({"format": "json", "content": "{}", "dry_run": "yes"}, "dry_run"),
    ],
)
def test_a_bad_envelope_is_a_400_on_its_field(acme_api, body, field):
    response = acme_api.post(IMPORT, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}
