"""Importing crontab lines and cURL commands: POST /api/v1/jobs/import/ with the format
envelope, the dashboard's Import page and the import_jobs command (jobs/transfer.py)."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts import projects
from accounts.models import AuditEntry
from jobs.models import Job
from tests.conftest import page_text

IMPORT = "/api/v1/jobs/import/"
PAGE = "/jobs/import/"
pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits")

# 20 lines: 14 jobs, 3 lines that give nothing, and 3 bad lines (7, 12 and 18).
CRONTAB = """\
MAILTO=ops@example.org
# Billing
*/5 * * * * curl -fsS -X POST -H 'A: b' -d 'x' http://127.0.0.1:9/invoices
0 * * * * curl -fsS http://127.0.0.1:9/reminders > /dev/null 2>&1
@daily curl -sS --max-time 20 http://127.0.0.1:9/daily
15 3 * * 1-5 curl -fsSL -u robot:s3cret http://127.0.0.1:9/weekday
*/10 * * * * * curl http://127.0.0.1:9/too-often
@hourly curl --json '{"a": 1}' http://127.0.0.1:9/json

30 2 * * * curl -X DELETE http://127.0.0.1:9/old
0 0 1 * * curl -H 'Authorization: Bearer t0ken' http://127.0.0.1:9/monthly
0 12 * * * curl -fsS
@weekly curl -G -d page=1 http://127.0.0.1:9/report
*/15 * * * * curl -s http://127.0.0.1:9/a
*/20 * * * * curl -s http://127.0.0.1:9/b
*/30 * * * * curl -s http://127.0.0.1:9/c
45 * * * * curl -s -m 5 http://127.0.0.1:9/d
0 6 * * * curl -s 'http://127.0.0.1:9/e
0 7 * * * curl -s http://127.0.0.1:9/f
0 8 * * * curl -s -X PUT -d ok http://127.0.0.1:9/g
"""
CURL = (
    "curl 'http://127.0.0.1:9/deploy?ref=main' -X POST "
    "-H 'Content-Type: application/json' -H 'X-Api-Key: k3y' "
    """-d '{"env": "prod"}' -u deployer:hunter2 -m 15"""
)


def crontab_envelope(content: str = CRONTAB, **more: object) -> dict:
    return {"format": "crontab", "content": content, **more}


def good_lines() -> str:
    """The crontab without its three bad lines: 17 lines, 14 jobs."""
    lines = CRONTAB.splitlines()
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in (7, 12, 18))


def test_a_crontab_with_three_bad_lines_names_each_by_number_and_makes_nothing(alice_api):
    assert len(CRONTAB.splitlines()) == 20

    response = alice_api.post(IMPORT, crontab_envelope(), format="json")

    assert response.status_code == 400
    errors = response.json()["lines"]
    assert list(errors) == ["7", "12", "18"]
    assert "six time fields" in errors["7"]["line"][0]
    assert errors["12"] == {"line": ["The command has no URL."]}
    assert "No closing quotation" in errors["18"]["line"][0]
    assert not Job.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_line_that_reads_but_makes_a_bad_job_is_named_with_its_field(alice_api):
    content = "# first\n0 * * * * curl ftp://127.0.0.1:9/x\n@hourly curl http://127.0.0.1:9/"

    response = alice_api.post(IMPORT, crontab_envelope(content), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "lines": {"2": {"url": ["Only http:// and https:// URLs can be called."]}}
    }
    assert not Job.objects.exists()


def test_the_good_crontab_lines_become_jobs(alice_api, alice):
    response = alice_api.post(IMPORT, crontab_envelope(good_lines()), format="json")

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["created"] == 14
    first = answer["jobs"][0]
    assert (first["line"], first["title"], first["schedule"]) == (
        3,
        "POST 127.0.0.1/invoices",
        "*/5 * * * *",
    )
    assert (first["method"], first["headers"], first["body"]) == ("POST", {"A": "b"}, "x")
    jobs = {job.url.rsplit("/", 1)[1]: job for job in Job.objects.all()}
    assert len(jobs) == 14
    assert jobs["daily"].timeout_seconds == 20
    assert jobs["weekday"].auth_password == "s3cret"
    assert jobs["weekday"].follow_redirects is True
    assert jobs["json"].headers["Content-Type"] == "application/json"
    assert jobs["old"].method == "DELETE"
    assert jobs["monthly"].secret_headers == {"Authorization": "Bearer t0ken"}
    assert jobs["monthly"].headers == {}
    assert jobs["report?page=1"].method == "GET"
    assert {job.project for job in jobs.values()} == {projects.personal_project(alice)}
    assert "t0ken" not in response.content.decode()
    assert "s3cret" not in response.content.decode()


def test_a_crontab_dry_run_previews_and_makes_nothing(alice_api):
    response = alice_api.post(IMPORT, crontab_envelope(good_lines(), dry_run=True), format="json")

    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert [job["line"] for job in response.json()["jobs"]][:3] == [3, 4, 5]
    assert "id" not in response.json()["jobs"][0]
    assert not Job.objects.exists()


def test_a_curl_command_with_headers_a_body_and_basic_auth_makes_one_job(alice_api):
    response = alice_api.post(
        IMPORT, {"format": "curl", "content": CURL, "schedule": "0 4 * * *"}, format="json"
    )

    assert response.status_code == 201, response.json()
    [shown] = response.json()["jobs"]
    job = Job.objects.get()
    assert shown["id"] == job.id
    assert (job.title, job.schedule, job.method) == ("POST 127.0.0.1/deploy", "0 4 * * *", "POST")
    assert job.url == "http://127.0.0.1:9/deploy?ref=main"
    assert job.headers == {"Content-Type": "application/json"}
    assert job.body == '{"env": "prod"}'
    assert job.timeout_seconds == 15
    # The password and the key are stored encrypted, and never shown back.
    assert (job.auth_username, job.auth_password) == ("deployer", "hunter2")
    assert "hunter2" not in job.auth_password_encrypted
    assert job.secret_headers == {"X-Api-Key": "k3y"}
    assert (shown["auth_password_set"], shown["secret_header_names"]) == (True, ["X-Api-Key"])
    read_back = alice_api.get(f"/api/v1/jobs/{job.id}/").content.decode()
    exported = alice_api.get("/api/v1/jobs/export/").content.decode()
    for text in (response.content.decode(), read_back, exported):
        assert "hunter2" not in text
        assert "k3y" not in text


def test_the_curl_format_needs_a_schedule(alice_api):
    response = alice_api.post(IMPORT, {"format": "curl", "content": CURL}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "schedule": ["Give the schedule for the cURL command's job, e.g. */5 * * * *."]
    }
    assert not Job.objects.exists()


def test_a_bad_schedule_for_the_curl_command_is_named(alice_api):
    response = alice_api.post(
        IMPORT, {"format": "curl", "content": CURL, "schedule": "every day"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["jobs"]["0"]) == {"schedule"}


def test_more_than_a_thousand_crontab_jobs_are_refused(alice_api):
    content = "\n".join(f"{n % 60} * * * * curl http://127.0.0.1:9/{n}" for n in range(1001))

    response = alice_api.post(IMPORT, crontab_envelope(content), format="json")

    assert response.status_code == 400
    assert response.json() == {"content": ["Import at most 1000 jobs at once."]}
    assert not Job.objects.exists()


def more_than_a_mebibyte_of_crontab() -> str:
    padding = "# " + "x" * (1024 * 1024) + "\n"
    return padding + "@hourly curl http://127.0.0.1:9/"


def test_more_than_a_mebibyte_of_content_is_refused(alice_api):
    response = alice_api.post(
        IMPORT, crontab_envelope(more_than_a_mebibyte_of_crontab()), format="json"
    )

    assert response.status_code == 400
    # Refused on the request's Content-Length, before it is read.
    assert response.json() == {"jobs": ["Import at most 1 MiB at once."]}
    assert not Job.objects.exists()


def test_the_project_cap_fails_the_whole_crontab_naming_the_line(settings, alice_api, alice):
    settings.MAX_JOBS_PER_PROJECT = 2

    response = alice_api.post(IMPORT, crontab_envelope(good_lines()), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "lines": {"5": {"non_field_errors": ["This project has reached the limit of 2 jobs."]}}
    }
    assert not Job.objects.exists()


# The page


def preview(client, **fields: object):
    return client.post(PAGE, {"preview": "", **fields})


def test_the_page_previews_crontab_lines_with_urls_masked_then_imports_them(alice_client):
    content = (
        "@hourly curl -u robot:s3cret 'http://127.0.0.1:9/a?token=abc123&page=2'\n"
        "*/5 * * * * curl -X POST -H 'Authorization: Bearer t0ken' http://127.0.0.1:9/b\n"
    )

    previewed = preview(alice_client, format="crontab", content=content)

    text = page_text(previewed)
    assert "2 jobs to import" in text
    assert "GET http://127.0.0.1:9/a?token=••••••&page=2" in text
    assert "password of robot" in text
    assert "Authorization" in text
    markup = previewed.content.decode()
    for secret in ("s3cret", "abc123", "t0ken"):
        assert secret not in markup
    assert not Job.objects.exists()

    response = alice_client.post(PAGE, {**previewed.context["confirm"].initial, "import": ""})

    assert response.status_code == 302
    assert sorted(Job.objects.values_list("title", flat=True)) == [
        "GET 127.0.0.1/a",
        "POST 127.0.0.1/b",
    ]


def test_the_page_lists_bad_crontab_lines_by_number(alice_client):
    upload = SimpleUploadedFile("crontab.txt", CRONTAB.encode())

    response = preview(alice_client, format="crontab", file=upload)

    text = page_text(response)
    assert "Nothing was imported" in text
    assert "Line 7: This line has six time fields" in text
    assert "Line 12: The command has no URL." in text
    assert "Line 18: The command cannot be read" in text
    assert not Job.objects.exists()


def test_the_page_imports_a_curl_command_on_the_schedule_given(alice_client):
    response = alice_client.post(
        PAGE, {"format": "curl", "content": CURL, "schedule": "@daily", "import": ""}
    )

    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.schedule, job.auth_password) == ("@daily", "hunter2")


def test_the_page_asks_for_the_curl_commands_schedule(alice_client):
    response = preview(alice_client, format="curl", content=CURL)

    assert "Give the schedule for the cURL command" in page_text(response)
    assert not Job.objects.exists()


def test_the_page_refuses_more_than_a_mebibyte(alice_client):
    response = preview(alice_client, format="crontab", content=more_than_a_mebibyte_of_crontab())

    assert "Import at most 1 MiB at once." in page_text(response)
    assert not Job.objects.exists()


def test_a_tampered_preview_is_refused(alice_client):
    response = alice_client.post(PAGE, {"format": "crontab", "pending": "nope", "import": ""})

    assert "This preview has expired; start again." in page_text(response)
    assert not Job.objects.exists()


# The command


def import_command(alice, path, *args: str, **kwargs: object) -> None:
    name = projects.personal_project(alice).name
    call_command("import_jobs", "--project", name, str(path), *args, **kwargs)


def test_the_command_imports_crontab_lines(alice, tmp_path):
    path = tmp_path / "crontab"
    path.write_text(good_lines())
    out = StringIO()

    import_command(alice, path, "--format", "crontab", stdout=out)

    assert out.getvalue().strip() == "Imported 14 job(s) into alice@example.org's jobs."
    assert Job.objects.count() == 14


def test_the_command_reports_bad_lines_and_makes_nothing(alice, tmp_path):
    path = tmp_path / "crontab"
    path.write_text(CRONTAB)

    with pytest.raises(CommandError) as raised:
        import_command(alice, path, "--format", "crontab")

    reported = json.loads(str(raised.value).removeprefix("Nothing was imported: "))
    assert list(reported["lines"]) == ["7", "12", "18"]
    assert not Job.objects.exists()


def test_the_command_imports_a_curl_command_on_the_schedule_given(alice, tmp_path):
    path = tmp_path / "deploy.sh"
    path.write_text(CURL)

    import_command(alice, path, "--format", "curl", "--schedule", "0 4 * * *", stdout=StringIO())

    job = Job.objects.get()
    assert (job.schedule, job.method, job.auth_password) == ("0 4 * * *", "POST", "hunter2")
