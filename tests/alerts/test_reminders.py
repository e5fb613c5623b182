"""Reminders while a job stays failing (`remind_every_hours`, jobs/engine/health.py
remind_due, run by the alerts' task): every N hours after the failure alert, to each channel,
until the job recovers."""

import json
from datetime import UTC, datetime, timedelta

from django.core import mail
from django.utils import timezone

from alerts import tasks
from jobs.engine import health
from tests.conftest import frozen_at, make_channel, make_job, record_failures, record_result

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
clock = frozen_at(NOW)


def test_a_reminder_goes_every_n_hours_while_failing_and_stops_at_the_recovery(
    alice, clock, target, private_targets
):
    job = make_job(alice, url="https://example.com/r", schedule="* * * * *", remind_every_hours=3)
    job.channels.add(make_channel(alice, url=target.url("/ok")))
    record_failures(job, clock, 2)
    tasks.deliver_alerts()

    clock.shift(timedelta(hours=3) - timedelta(minutes=1, seconds=1))
    tasks.deliver_alerts()
    assert len(mail.outbox) == 1  # not before its time
    clock.shift(timedelta(seconds=1))
    tasks.deliver_alerts()
    clock.shift(timedelta(hours=3))
    tasks.deliver_alerts()
    tasks.deliver_alerts()  # a second run at the same moment reminds nobody again
    record_result(job, clock, 200)
    clock.shift(timedelta(hours=3))
    tasks.deliver_alerts()

    assert [message.subject for message in mail.outbox] == [
        "Failing: Nightly report",
        "Still failing: Nightly report",
        "Still failing: Nightly report",
        "Recovered: Nightly report",
    ]
    assert "is still failing: 2 failures in a row" in mail.outbox[1].body
    bodies = [json.loads(arrival.body) for arrival in target.requests]
    assert [body["type"] for body in bodies] == [
        "job.failing",
        "job.reminder",
        "job.reminder",
        "job.recovered",
    ]
    assert [body["at"] for body in bodies[1:3]] == [
        "2026-03-10T12:01:00+00:00",
        "2026-03-10T15:01:00+00:00",
    ]


def test_no_reminders_when_they_are_off_or_the_job_was_disabled(alice, clock, settings):
    settings.AUTO_DISABLE_AFTER = 3
    quiet = make_job(alice, title="Quiet", schedule="* * * * *")
    disabled = make_job(alice, title="Disabled", schedule="* * * * *", remind_every_hours=1)
    record_failures(quiet, clock)
    record_failures(disabled, clock, 3)

    clock.shift(timedelta(days=1))

    assert health.remind_due(timezone.now()) == []
    tasks.deliver_alerts()
    assert [message.subject for message in mail.outbox] == [
        "Failing: Quiet",
        "Failing: Disabled",
        "Disabled: Disabled",
    ]
