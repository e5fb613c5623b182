"""The create and edit pages: presets, request settings, credentials, expiry, who may create."""

import html
import re
from datetime import UTC, datetime
from functools import partial
from html.parser import HTMLParser

import pytest
from django.test import Client

from alerts.models import Channel
from jobs.models import Job
from tests.conftest import frozen_at, make_job

CREATE = "/jobs/new/"
NOW = datetime(2026, 3, 10, 10, 2, 30, tzinfo=UTC)  # a Tuesday, 11:02:30 in Berlin
SAVED_PASSWORD = "hunter2-but-longer"
pytestmark = pytest.mark.usefixtures("private_targets")
clock = frozen_at(NOW)
five_minute_report = partial(make_job, schedule="*/5 * * * *")


class FormValues(HTMLParser):
    """The fields a browser sends when the member submits #job-form as the page shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.in_form = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.in_form = attributes.get("id") == "job-form"
        elif not self.in_form:
            return
        elif tag == "input":
            self.read_input(attributes)
        elif tag == "select":
            self.select = attributes["name"]
        elif tag == "option" and self.select:
            # The first option stands until a selected one comes.
            if self.select not in self.values or "selected" in attributes:
                self.values[self.select] = attributes["value"] or ""
        elif tag == "textarea":
            self.textarea = attributes["name"]
            self.values[self.textarea] = ""

    def read_input(self, attributes: dict[str, str | None]) -> None:
        kind = attributes.get("type", "text")
        if kind in ("submit", "button") or attributes.get("name") == "csrfmiddlewaretoken":
            return
        if kind in ("checkbox", "radio") and "checked" not in attributes:
            return
        default = "on" if kind == "checkbox" else ""
        self.values[attributes["name"]] = attributes.get("value") or default

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            # Browsers drop the newline Django puts right after <textarea>.
            self.values[self.textarea] = self.values[self.textarea].removeprefix("\n")
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.values[self.textarea] += data


def values_on_page(page: str) -> dict[str, str]:
    parser = FormValues()
    parser.feed(page)
    return parser.values


def field_error(response: object, name: str) -> str:
    """The error printed beside one field (inside its own field block), or ""."""
    page = response.content.decode()
    match = re.search(rf'id="id_{name}_error" role="alert">(.*?)</small>', page, re.DOTALL)
    return html.unescape(match.group(1)) if match else ""


def form_errors(response: object) -> str:
    """The errors above the form that belong to no single field."""
    page = response.content.decode()
    match = re.search(r'<div class="notice error" role="alert">(.*?)</div>', page, re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def job_form_data(**changes: str) -> dict[str, str]:
    """What the create page sends once alice has typed a title and URL and kept the defaults."""
    return {
        "title": "Nightly report",
        "method": "GET",
        "url": "http://127.0.0.1:9/report",
        "tags": "",
        "preset": "every_n_minutes",
        "every_n": "5",
        "at_minute": "0",
        "at_time": "00:00",
        "weekday": "1",
        "day_of_month": "1",
        "schedule": "",
        "when": "schedule",
        "spread_seconds": "0",
        "run_at": "",
        "after_job": "",
        "after_outcome": "any",
        "after_delay_seconds": "0",
        "ordering_key": "",
        "ordering_on_failure": "continue",
        "timezone": "Europe/Berlin",
        "headers": "",
        "secret_headers": "",
        "body": "",
        "auth_username": "",
        "auth_password": "",
        "timeout_seconds": "30",
        "expected_statuses": "",
        "follow_redirects": "on",
        "response_body_kib": "8",
        "expires_at": "",
        "notify_on_failure": "on",
        "notify_on_recovery": "on",
        "notify_on_disable": "on",
        "remind_every_hours": "0",
        "alerts_muted_until": "",
        "failure_threshold": "1",
        "retries": "0",
        "retry_delay_seconds": "10",
        **{f"expect_{part}_{row}": "" for row in range(3) for part in ("kind", "path", "value")},
        **changes,
    }


def edit_page_values(client: Client, job: Job, **changes: str) -> dict[str, str]:
    """The edit page's form as the browser would send it, with the member's changes."""
    return {**values_on_page(client.get(f"/jobs/{job.id}/edit/").content.decode()), **changes}


def test_the_create_page_needs_a_login(client, db):
    response = client.get(CREATE)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={CREATE}"


def test_the_create_page_starts_every_5_minutes_in_the_members_timezone(alice_client, alice):
    response = alice_client.get(CREATE)

    assert response.status_code == 200
    # The project's default channel (alice's address) is ticked.
    (default,) = Channel.objects.filter(project__memberships__user=alice, is_default=True)
    assert values_on_page(response.content.decode()) == job_form_data(
        title="", url="", channels=str(default.id)
    )


def test_the_response_body_to_keep_is_one_of_four_sizes(alice_client, alice):
    page = alice_client.get(CREATE).content.decode()
    select = re.search(r'<select name="response_body_kib".*?</select>', page, re.DOTALL)
    options = re.findall(r'<option value="(\d+)"( selected)?>(.*?)</option>', select.group(0))

    assert options == [
        ("0", "", "None (status and headers only)"),
        ("1", "", "The first 1 KiB"),
        ("8", " selected", "The first 8 KiB"),
        ("64", "", "The first 64 KiB"),
    ]
    alice_client.post(CREATE, job_form_data(response_body_kib="0"))
    assert Job.objects.get().response_body_kib == 0


def test_a_post_without_the_response_body_to_keep_keeps_8_kib(alice_client, alice):
    data = job_form_data()
    del data["response_body_kib"]

    alice_client.post(CREATE, data)

    assert Job.objects.get().response_body_kib == 8


def test_submitting_the_create_page_schedules_the_job(alice_client, alice, clock):
    response = alice_client.post(CREATE, job_form_data())

    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == f"/jobs/{job.id}/"
    assert (job.user, job.title, job.url, job.method) == (
        alice,
        "Nightly report",
        "http://127.0.0.1:9/report",
        "GET",
    )
    assert (job.schedule, job.timezone, job.enabled) == ("*/5 * * * *", "Europe/Berlin", True)
    assert job.next_run_at == datetime(2026, 3, 10, 10, 5, tzinfo=UTC)
    assert "“Nightly report” is scheduled." in alice_client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("choice", "expression", "next_run"),
    [
        ({"preset": "every_minute"}, "* * * * *", datetime(2026, 3, 10, 10, 3, tzinfo=UTC)),
        (
            {"preset": "every_n_minutes", "every_n": "15"},
            "*/15 * * * *",
            datetime(2026, 3, 10, 10, 15, tzinfo=UTC),
        ),
        (
            {"preset": "hourly", "at_minute": "40", "at_time": "06:30"},
            "40 * * * *",
            datetime(2026, 3, 10, 10, 40, tzinfo=UTC),
        ),
        (
            {"preset": "daily", "at_time": "06:30", "at_minute": "40"},
            "30 6 * * *",
            datetime(2026, 3, 11, 5, 30, tzinfo=UTC),
        ),
        (
            {"preset": "weekly", "weekday": "5", "at_time": "18:00"},
            "0 18 * * 5",
            datetime(2026, 3, 13, 17, 0, tzinfo=UTC),
        ),
        (
            {"preset": "weekly", "weekday": "0", "at_time": "09:15"},
            "15 9 * * 0",
            datetime(2026, 3, 15, 8, 15, tzinfo=UTC),
        ),
        # The 31st comes after Berlin's clocks go forward: 12:00 is 10:00 UTC by then.
        (
            {"preset": "monthly", "day_of_month": "31", "at_time": "12:00"},
            "0 12 31 * *",
            datetime(2026, 3, 31, 10, 0, tzinfo=UTC),
        ),
        (
            {"preset": "custom", "schedule": "0 4 * * 1-5"},
            "0 4 * * 1-5",
            datetime(2026, 3, 11, 3, 0, tzinfo=UTC),
        ),
        (
            {"preset": "custom", "schedule": "@daily"},
            "@daily",
            datetime(2026, 3, 10, 23, 0, tzinfo=UTC),
        ),
    ],
)
def test_each_preset_saves_its_cron_expression_and_next_run(
    alice_client, clock, choice, expression, next_run
):
    response = alice_client.post(CREATE, job_form_data(**choice))

    assert response.status_code == 302
    job = Job.objects.get()
    assert job.schedule == expression
    assert job.next_run_at == next_run


def test_the_job_runs_in_the_timezone_chosen_on_the_form(alice_client, clock):
    alice_client.post(
        CREATE, job_form_data(preset="daily", at_time="06:30", timezone="America/New_York")
    )

    job = Job.objects.get()
    assert job.timezone == "America/New_York"
    assert job.next_run_at == datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


def test_values_left_in_the_inputs_of_other_presets_do_not_count(alice_client, clock):
    leftovers = {"every_n": "7", "at_minute": "75", "day_of_month": "0", "schedule": "nonsense"}

    response = alice_client.post(
        CREATE, job_form_data(preset="daily", at_time="06:30", weekday="9", **leftovers)
    )

    assert response.status_code == 302
    assert Job.objects.get().schedule == "30 6 * * *"


def test_a_bad_value_in_an_input_the_preset_reads_is_an_error_beside_it(alice_client):
    response = alice_client.post(CREATE, job_form_data(preset="hourly", at_minute="75"))

    assert response.status_code == 200
    assert field_error(response, "at_minute") == "Ensure this value is less than or equal to 59."
    assert not Job.objects.exists()


def test_a_custom_preset_without_an_expression_is_an_error_beside_it(alice_client):
    response = alice_client.post(CREATE, job_form_data(preset="custom", schedule=""))

    assert response.status_code == 200
    assert field_error(response, "schedule") == (
        "Enter a schedule, e.g. */5 * * * * for every 5 minutes."
    )
    assert not Job.objects.exists()


def test_header_lines_are_saved_as_names_and_values(alice_client):
    headers = "X-Token: abc:def\r\n\r\n  Accept :  application/json  \r\n"
    alice_client.post(CREATE, job_form_data(headers=headers))

    assert Job.objects.get().headers == {"X-Token": "abc:def", "Accept": "application/json"}


def test_a_header_line_without_a_colon_is_an_error_beside_the_headers(alice_client):
    response = alice_client.post(CREATE, job_form_data(headers="Accept: text/plain\nX-Token abc"))

    assert response.status_code == 200
    assert field_error(response, "headers") == (
        "Line 2: write headers as “Name: value”, one per line."
    )
    assert field_error(response, "title") == ""
    assert not Job.objects.exists()


def test_signing_before_the_project_has_a_secret_is_an_error_beside_it(alice_client, alice):
    response = alice_client.post(CREATE, job_form_data(sign_requests="on"))

    assert response.status_code == 200
    assert field_error(response, "sign_requests").startswith("Create a signing secret first")
    assert not Job.objects.exists()

    alice_client.post("/projects/signing-secret/")
    alice_client.post(CREATE, job_form_data(sign_requests="on"))

    assert Job.objects.get().sign_requests


def test_expected_statuses_are_saved_as_a_list(alice_client):
    alice_client.post(CREATE, job_form_data(expected_statuses="200, 204"))

    assert Job.objects.get().expected_statuses == [200, 204]


def test_no_expected_statuses_means_any_2xx(alice_client):
    alice_client.post(CREATE, job_form_data(expected_statuses=" "))

    job = Job.objects.get()
    assert job.expected_statuses == []
    assert "any 2xx status" in alice_client.get(f"/jobs/{job.id}/").content.decode()


def test_the_request_settings_are_saved(alice_client):
    alice_client.post(
        CREATE,
        job_form_data(
            method="POST",
            body='{"report": "nightly"}',
            timeout_seconds="7",
            follow_redirects="",
            notify_on_recovery="",
        ),
    )

    job = Job.objects.get()
    assert (job.method, job.body, job.timeout_seconds) == ("POST", '{"report": "nightly"}', 7)
    assert (job.follow_redirects, job.notify_on_failure, job.notify_on_recovery) == (
        False,
        True,
        False,
    )


def test_the_basic_auth_password_is_saved_encrypted(alice_client):
    alice_client.post(CREATE, job_form_data(auth_username="reports", auth_password=SAVED_PASSWORD))

    job = Job.objects.get()
    assert job.auth_username == "reports"
    assert job.auth_password == SAVED_PASSWORD
    assert SAVED_PASSWORD not in job.auth_password_encrypted


@pytest.mark.parametrize(
    ("zone", "expires_at"),
    [
        ("Europe/Berlin", datetime(2026, 4, 1, 10, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 4, 1, 16, 0, tzinfo=UTC)),
        ("UTC", datetime(2026, 4, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_the_expiry_is_a_time_in_the_jobs_timezone(alice_client, clock, zone, expires_at):
    alice_client.post(CREATE, job_form_data(timezone=zone, expires_at="2026-04-01T12:00"))

    assert Job.objects.get().expires_at == expires_at


def test_a_job_that_expires_before_its_first_run_has_no_next_run(alice_client, clock):
    alice_client.post(
        CREATE, job_form_data(preset="daily", at_time="12:00", expires_at="2026-03-10T11:30")
    )

    job = Job.objects.get()
    assert job.next_run_at is None
    assert "none (expired)" in alice_client.get(f"/jobs/{job.id}/").content.decode()


def test_the_job_cap_is_a_form_error(alice_client, alice, settings):
    settings.MAX_JOBS_PER_MEMBER = 2
    five_minute_report(alice, title="One")
    five_minute_report(alice, title="Two")

    response = alice_client.post(CREATE, job_form_data(title="Three"))

    assert response.status_code == 200
    assert form_errors(response) == "You have reached the limit of 2 jobs."
    assert Job.objects.count() == 2


def test_the_cap_counts_only_the_members_own_jobs(alice_client, bob, settings):
    settings.MAX_JOBS_PER_MEMBER = 1
    five_minute_report(bob)

    assert alice_client.post(CREATE, job_form_data()).status_code == 302


def test_a_member_at_the_cap_can_still_edit_a_job(alice_client, alice, settings):
    settings.MAX_JOBS_PER_MEMBER = 1
    job = five_minute_report(alice)

    response = alice_client.post(f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job))

    assert response.status_code == 302


# The edit page


@pytest.mark.parametrize(
    ("schedule", "shown"),
    [
        ("* * * * *", {"preset": "every_minute"}),
        ("*/15 * * * *", {"preset": "every_n_minutes", "every_n": "15"}),
        ("40 * * * *", {"preset": "hourly", "at_minute": "40"}),
        ("30 6 * * *", {"preset": "daily", "at_time": "06:30"}),
        ("30 4 * * 1", {"preset": "weekly", "weekday": "1", "at_time": "04:30"}),
        ("0 18 * * 0", {"preset": "weekly", "weekday": "0", "at_time": "18:00"}),
        ("5 12 31 * *", {"preset": "monthly", "day_of_month": "31", "at_time": "12:05"}),
        ("0 9 * * 1-5", {"preset": "custom", "schedule": "0 9 * * 1-5"}),
        ("0 9 * * 7", {"preset": "custom", "schedule": "0 9 * * 7"}),
    ],
)
def test_the_edit_page_shows_the_current_preset(alice_client, alice, schedule, shown):
    job = five_minute_report(alice, schedule=schedule)

    values = values_on_page(alice_client.get(f"/jobs/{job.id}/edit/").content.decode())

    assert {name: values[name] for name in shown} == shown
    assert values["schedule"] == schedule


def test_the_edit_page_shows_the_saved_request_settings(alice_client, alice):
    job = five_minute_report(
        alice,
        timezone="America/New_York",
        method="POST",
        headers={"X-Token": "abc", "Accept": "application/json"},
        body="ping",
        expected_statuses=[200, 204],
        expires_at=datetime(2026, 4, 1, 16, 0, tzinfo=UTC),
        follow_redirects=False,
    )

    values = edit_page_values(alice_client, job)

    assert values["timezone"] == "America/New_York"
    assert values["method"] == "POST"
    # PostgreSQL's jsonb keeps its own key order, not the member's.
    assert sorted(values["headers"].splitlines()) == ["Accept: application/json", "X-Token: abc"]
    assert values["body"] == "ping"
    assert values["expected_statuses"] == "200, 204"
    assert values["expires_at"] == "2026-04-01T12:00"
    assert "follow_redirects" not in values


def test_the_edit_page_never_shows_the_saved_password(alice_client, alice):
    job = five_minute_report(alice, auth_username="reports", auth_password=SAVED_PASSWORD)

    page = alice_client.get(f"/jobs/{job.id}/edit/").content.decode()

    assert SAVED_PASSWORD not in page
    assert job.auth_password_encrypted not in page
    assert "A password is saved." in page
    assert values_on_page(page)["auth_password"] == ""


def test_a_form_error_does_not_send_a_typed_password_back(alice_client):
    response = alice_client.post(CREATE, job_form_data(title="", auth_password=SAVED_PASSWORD))

    assert field_error(response, "title") == "This field is required."
    assert SAVED_PASSWORD not in response.content.decode()


def test_an_empty_password_on_edit_keeps_the_saved_one(alice_client, alice):
    job = five_minute_report(alice, auth_username="reports", auth_password=SAVED_PASSWORD)

    alice_client.post(f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, title="Renamed"))

    job.refresh_from_db()
    assert job.title == "Renamed"
    assert job.auth_password == SAVED_PASSWORD


def test_a_new_password_on_edit_replaces_the_saved_one(alice_client, alice):
    job = five_minute_report(alice, auth_username="reports", auth_password=SAVED_PASSWORD)

    alice_client.post(
        f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, auth_password="new one")
    )

    job.refresh_from_db()
    assert job.auth_password == "new one"


def test_removing_the_saved_password_clears_it(alice_client, alice):
    job = five_minute_report(alice, auth_username="reports", auth_password=SAVED_PASSWORD)

    alice_client.post(
        f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, clear_auth_password="on")
    )

    job.refresh_from_db()
    assert job.auth_password_encrypted == ""
    assert not job.auth_password_set
    assert "A password is saved." not in alice_client.get(f"/jobs/{job.id}/edit/").content.decode()


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "0 9 * * 7", "05 * * * *", "@hourly"])
def test_saving_the_edit_page_unchanged_keeps_the_schedule_and_the_due_run(
    alice_client, alice, clock, schedule
):
    job = five_minute_report(alice, schedule=schedule)
    due = job.next_run_at
    # The slot is due and not yet dispatched: an edit of the title must not skip it.
    clock.move_to(due)

    response = alice_client.post(
        f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, title="Renamed")
    )

    assert response.status_code == 302
    assert response.url == f"/jobs/{job.id}/"
    job.refresh_from_db()
    assert (job.title, job.schedule, job.next_run_at) == ("Renamed", schedule, due)
    assert "“Renamed” is saved." in alice_client.get(response.url).content.decode()


def test_changing_the_schedule_on_edit_moves_the_next_run(alice_client, alice, clock):
    job = five_minute_report(alice, schedule="*/5 * * * *")

    alice_client.post(
        f"/jobs/{job.id}/edit/",
        edit_page_values(alice_client, job, preset="custom", schedule="30 4 * * 1"),
    )

    job.refresh_from_db()
    assert job.schedule == "30 4 * * 1"
    assert job.next_run_at == datetime(2026, 3, 16, 3, 30, tzinfo=UTC)


def test_changing_the_timezone_on_edit_rereads_the_expiry(alice_client, alice):
    job = five_minute_report(alice, expires_at=datetime(2026, 4, 1, 10, 0, tzinfo=UTC))

    alice_client.post(f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, timezone="UTC"))

    job.refresh_from_db()
    assert job.expires_at == datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


def test_an_edit_with_an_error_shows_it_and_changes_nothing(alice_client, alice):
    job = five_minute_report(alice)

    response = alice_client.post(
        f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, title="", every_n="15")
    )

    assert response.status_code == 200
    assert field_error(response, "title") == "This field is required."
    job.refresh_from_db()
    assert (job.title, job.schedule) == ("Nightly report", "*/5 * * * *")


def test_an_edit_with_an_error_keeps_the_saved_title_in_the_heading(alice_client, alice):
    job = five_minute_report(alice)

    response = alice_client.post(
        f"/jobs/{job.id}/edit/", edit_page_values(alice_client, job, title="Renamed", url="nope")
    )

    page = response.content.decode()
    assert "<h1>Edit “Nightly report”</h1>" in page
    assert "<title>Edit Nightly report · " in page
    assert field_error(response, "url") != ""


def test_the_edit_page_needs_a_login(client, alice):
    job = five_minute_report(alice)

    response = client.get(f"/jobs/{job.id}/edit/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
