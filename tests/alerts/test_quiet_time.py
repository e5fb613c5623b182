"""Quiet time (alerts/quiet.py): a muted job's health changes are recorded but their alerts
held; when the quiet time ends, one alert sums up a job still failing."""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail

from accounts.projects import personal_project
from alerts import tasks
from alerts.models import Delivery, MaintenanceWindow
from jobs.models import HealthChange, Job
from tests.conftest import frozen_at, make_channel, make_job, record_failures, record_result
from tests.web.test_job_form import edit_page_values

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
clock = frozen_at(NOW)


def webhook_types(target) -> list[str]:
    return [json.loads(arrival.body)["type"] for arrival in target.requests]


def muted_job(alice, target, until: datetime):
    job = make_job(alice, schedule="* * * * *", alerts_muted_until=until)
    job.channels.add(make_channel(alice, url=target.url("/ok")))
    return job


def test_a_muted_jobs_failure_is_recorded_but_not_sent(alice, clock, target, private_targets):
    job = muted_job(alice, target, until=NOW + timedelta(hours=2))
    record_failures(job, clock, 3)
    tasks.deliver_alerts()

    assert [c.kind for c in job.health_changes.all()] == ["failing"]
    assert mail.outbox == []
    assert target.requests == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"held"}


def test_when_the_mute_ends_one_summary_reaches_each_channel(alice, clock, target, private_targets):
    job = muted_job(alice, target, until=NOW + timedelta(hours=2))
    record_failures(job, clock, 3)
    clock.shift(timedelta(hours=1))
    record_failures(job, clock, 2)
    tasks.deliver_alerts()

    clock.shift(timedelta(hours=1))
    tasks.deliver_alerts()
    tasks.deliver_alerts()  # a second run sums up nothing again

    assert [message.subject for message in mail.outbox] == ["Still failing: Nightly report"]
    assert "is still failing: 5 failures in a row" in mail.outbox[0].body
    assert webhook_types(target) == ["job.failing"]
    assert json.loads(target.requests[0].body)["at"] == "2026-03-10T11:05:00+00:00"
    # The held alerts are marked not sent; the summary was sent.
    assert Delivery.objects.filter(status="not_sent").count() == 2
    assert Delivery.objects.filter(status="sent").count() == 2


def test_alerts_after_the_mute_go_as_usual(alice, clock, target, private_targets):
    job = muted_job(alice, target, until=NOW + timedelta(minutes=30))
    clock.shift(timedelta(hours=1))
    record_failures(job, clock)
    tasks.deliver_alerts()

    assert [message.subject for message in mail.outbox] == ["Failing: Nightly report"]
    assert webhook_types(target) == ["job.failing"]


def test_a_failure_that_begins_and_ends_within_the_mute_sends_nothing(
    alice, clock, target, private_targets
):
    job = muted_job(alice, target, until=NOW + timedelta(hours=1))
    record_failures(job, clock, 2)
    record_result(job, clock, 200)
    clock.shift(timedelta(hours=1))
    tasks.deliver_alerts()

    assert [c.kind for c in job.health_changes.all()] == ["failing", "recovered"]
    assert mail.outbox == []
    assert target.requests == []


def test_a_channel_told_of_the_failure_hears_of_a_recovery_within_the_mute(
    alice, clock, target, private_targets
):
    job = muted_job(alice, target, until=None)
    record_failures(job, clock)
    tasks.deliver_alerts()
    Job.objects.filter(id=job.id).update(alerts_muted_until=NOW + timedelta(hours=1))
    record_result(job, clock, 200)
    tasks.deliver_alerts()
    assert len(mail.outbox) == 1  # the failure, from before the mute

    clock.shift(timedelta(hours=1))
    tasks.deliver_alerts()

    assert [message.subject for message in mail.outbox] == [
        "Failing: Nightly report",
        "Recovered: Nightly report",
    ]
    assert webhook_types(target) == ["job.failing", "job.recovered"]
    assert not HealthChange.objects.filter(kind="reminder").exists()


def test_a_member_mutes_a_job_on_its_form_in_its_timezone(
    alice_client, alice, clock, private_targets
):
    job = make_job(alice)
    values = edit_page_values(alice_client, job, alerts_muted_until="2026-03-10T18:30")
    response = alice_client.post(f"/jobs/{job.id}/edit/", values)

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.alerts_muted_until == datetime(2026, 3, 10, 17, 30, tzinfo=UTC)  # Berlin
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert "Alerts muted until 10 Mar 2026, 18:30 CET." in page


def test_the_api_mutes_and_unmutes_a_job(alice_api, alice, clock):
    job = make_job(alice)
    response = alice_api.patch(
        f"/api/v1/jobs/{job.id}/", {"alerts_muted_until": "2026-03-11T00:00:00Z"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["alerts_muted_until"] == "2026-03-11T00:00:00Z"

    response = alice_api.patch(
        f"/api/v1/jobs/{job.id}/", {"alerts_muted_until": None}, format="json"
    )
    assert response.json()["alerts_muted_until"] is None


# Maintenance windows: Tuesday 10 March 2026, 09:00 UTC is 10:00 in Berlin (CET).
def weekly_window(alice, **fields) -> MaintenanceWindow:
    fields = {
        "name": "Tuesday deploys",
        "weekdays": [1],
        "start_time": time(10, 0),
        "duration_minutes": 60,
        "timezone": "Europe/Berlin",
        **fields,
    }
    return MaintenanceWindow.objects.create(project=personal_project(alice), **fields)


def test_a_weekly_window_holds_alerts_and_one_summary_follows_it(
    alice, clock, target, private_targets
):
    weekly_window(alice)
    job = muted_job(alice, target, until=None)
    other = make_job(alice, title="Backup", schedule="* * * * *")
    record_failures(job, clock, 3)
    record_failures(other, clock)
    tasks.deliver_alerts()
    assert mail.outbox == []
    assert target.requests == []

    clock.shift(timedelta(minutes=54))  # 10:58 Berlin: still on
    tasks.deliver_alerts()
    assert mail.outbox == []
    clock.shift(timedelta(minutes=2))  # 11:00: over
    tasks.deliver_alerts()
    tasks.deliver_alerts()

    assert sorted(message.subject for message in mail.outbox) == [
        "Still failing: Backup",
        "Still failing: Nightly report",
    ]
    assert webhook_types(target) == ["job.failing"]  # only the first job selects it


def test_a_recovery_within_a_window_sends_nothing(alice, clock, target, private_targets):
    weekly_window(alice)
    job = muted_job(alice, target, until=None)
    record_failures(job, clock, 2)
    record_result(job, clock, 200)
    clock.shift(timedelta(hours=1))
    tasks.deliver_alerts()

    assert [c.kind for c in job.health_changes.all()] == ["failing", "recovered"]
    assert mail.outbox == []
    assert target.requests == []


def test_a_window_on_another_day_or_hour_holds_nothing(alice, clock, target, private_targets):
    weekly_window(alice, weekdays=[0, 2])  # Monday and Wednesday
    weekly_window(alice, start_time=time(11, 0))  # Tuesday, but later
    job = muted_job(alice, target, until=None)
    record_failures(job, clock)
    tasks.deliver_alerts()

    assert webhook_types(target) == ["job.failing"]


def test_a_weekly_window_is_on_in_its_own_timezone():
    window = MaintenanceWindow(
        weekdays=[6], start_time=time(23, 30), duration_minutes=120, timezone="Asia/Tokyo"
    )
    # Sunday 23:30 to Monday 01:30 in Tokyo is Sunday 14:30 to 16:30 UTC.
    assert not window.is_on(datetime(2026, 3, 15, 14, 29, tzinfo=UTC))
    assert window.is_on(datetime(2026, 3, 15, 14, 30, tzinfo=UTC))
    assert window.is_on(datetime(2026, 3, 15, 16, 29, tzinfo=UTC))
    assert not window.is_on(datetime(2026, 3, 15, 16, 30, tzinfo=UTC))


def test_a_one_off_window_holds_alerts_between_its_start_and_end(
    alice, clock, target, private_targets
):
    MaintenanceWindow.objects.create(
        project=personal_project(alice), starts_at=NOW, ends_at=NOW + timedelta(minutes=30)
    )
    job = muted_job(alice, target, until=None)
    record_failures(job, clock)
    tasks.deliver_alerts()
    assert target.requests == []
    clock.shift(timedelta(minutes=30))
    tasks.deliver_alerts()

    assert webhook_types(target) == ["job.failing"]


def test_the_api_adds_lists_changes_and_deletes_windows(alice_api, alice):
    response = alice_api.post(
        "/api/v1/maintenance-windows/",
        {
            "name": "Deploys",
            "weekdays": [1, 3],
            "start_time": "02:00",
            "duration_minutes": 90,
            "timezone": "Europe/Berlin",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    url = f"/api/v1/maintenance-windows/{response.json()['id']}/"
    assert (
        alice_api.patch(url, {"duration_minutes": 30}, format="json").json()["duration_minutes"]
        == 30
    )
    [listed] = alice_api.get("/api/v1/maintenance-windows/").json()["results"]
    assert listed["weekdays"] == [1, 3]
    assert alice_api.delete(url).status_code == 204
    assert not MaintenanceWindow.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"starts_at": "2026-03-10T10:00:00Z", "ends_at": "2026-03-10T09:00:00Z"}, "ends_at"),
        ({"starts_at": "2026-03-10T10:00:00Z"}, "ends_at"),
        ({"weekdays": [1], "start_time": "02:00", "duration_minutes": 0}, "duration_minutes"),
        ({"weekdays": [1], "start_time": "02:00", "duration_minutes": 10081}, "duration_minutes"),
        ({"weekdays": [7], "start_time": "02:00", "duration_minutes": 30}, "weekdays"),
        ({"weekdays": [], "start_time": "02:00", "duration_minutes": 30}, "weekdays"),
        ({"weekdays": [1], "duration_minutes": 30}, "start_time"),
        (
            {
                "weekdays": [1],
                "start_time": "02:00",
                "duration_minutes": 30,
                "timezone": "Mars/Base",
            },
            "timezone",
        ),
    ],
)
def test_the_api_refuses_a_bad_window_per_field(alice_api, fields, field):
    response = alice_api.post("/api/v1/maintenance-windows/", fields, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not MaintenanceWindow.objects.exists()


def test_another_projects_window_is_a_404(alice, bob_api):
    window = weekly_window(alice)
    url = f"/api/v1/maintenance-windows/{window.id}/"

    assert bob_api.get(url).status_code == 404
    assert bob_api.patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert bob_api.delete(url).status_code == 404
    assert bob_api.get("/api/v1/maintenance-windows/").json()["results"] == []
    window.refresh_from_db()
    assert window.name == "Tuesday deploys"


def test_a_member_adds_and_deletes_a_window_on_the_channels_page(alice_client, alice):
    response = alice_client.post(
        "/channels/maintenance-windows/",
        {
            "name": "Deploys",
            "weekdays": ["1", "3"],
            "start_time": "02:00",
            "duration_minutes": "90",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    page = alice_client.get("/channels/").content.decode()
    assert "Every Tue, Thu at 02:00 for 90 minutes (Europe/Berlin)" in page

    window = MaintenanceWindow.objects.get()
    alice_client.post(f"/channels/maintenance-windows/{window.id}/delete/")
    assert "No maintenance windows." in alice_client.get("/channels/").content.decode()


def test_a_bad_window_shows_its_error_on_the_channels_page(alice_client, alice):
    response = alice_client.post(
        "/channels/maintenance-windows/",
        {"starts_at": "2026-03-10T10:00", "ends_at": "2026-03-10T09:00", "timezone": "UTC"},
    )

    assert response.status_code == 200
    assert "It must end after it starts." in response.content.decode()
    assert not MaintenanceWindow.objects.exists()
