"""Quiet time (alerts/quiet.py): a muted job's health changes are recorded but their alerts
held; when the quiet time ends, one alert sums up a job still failing."""

import json
from datetime import UTC, datetime, timedelta

from django.core import mail

from alerts import tasks
from alerts.models import Delivery
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
