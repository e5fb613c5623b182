"""Alerts through webhook and Apprise channels (alerts/senders.py), beside the email one:
what each receives, in order and once each; one broken channel holds back no other;
failed sends are retried with backoff and given up after a day.

The receivers are the local Target on 127.0.0.1, so these tests turn on the guard's
allowance for private targets (ALLOW_PRIVATE_TARGETS, `private_targets`), as the job
tests do; tests/security/test_channel_ssrf.py shows the guard refusing them without it.
Apprise is exercised for real through two of its HTTP plugins, json:// and ntfy://,
against the Target: what is tested is that Apprise is given our title and text and that
its request reaches the service with them. The services with fixed public hosts (Slack,
Discord, Telegram, Teams, Pushover) cannot be reached from here; only that their URLs
are accepted or refused is tested (tests/api/test_channels_api.py).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from standardwebhooks import Webhook

from accounts import audit, projects
from alerts import delivery
from alerts.models import Channel, Delivery
from tests.conftest import (
    frozen_at,
    make_channel,
    make_job,
    record_failures,
    record_result,
)
from tests.target import Target

# A Tuesday, 10:00 in Berlin (CET).
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
clock = frozen_at(NOW)
Status = Delivery.Status
WEB = audit.Via.WEB
SITE_URL = settings.SITE_URL


@pytest.fixture
def job(alice, private_targets):
    return make_job(alice, url="https://example.com/report?token=secret", schedule="* * * * *")


def arrived_json(target: Target) -> list[dict]:
    return [json.loads(arrival.body) for arrival in target.requests]


def test_a_webhook_channel_receives_the_change_as_json(alice, job, clock, target):
    job.channels.add(make_channel(alice, url=target.url("/ok")))
    (execution,) = record_failures(job, clock)

    report = delivery.deliver_pending()

    assert report.sent == 2  # the email channel and the webhook
    (arrival,) = target.requests
    assert (arrival.method, arrival.path) == ("POST", "/ok")
    assert arrival.headers["Content-Type"] == "application/json"
    assert json.loads(arrival.body) == {
        "type": "job.failing",
        "job": {"id": job.id, "title": "Nightly report", "host": "example.com"},
        "execution": {
            "id": execution.id,
            "status": "failed",
            "failure_reason": "http_status",
            "http_status": 500,
            "scheduled_for": "2026-03-10T09:01:00+00:00",
        },
        "links": {"job": f"{SITE_URL}/jobs/{job.id}/"},
        "at": "2026-03-10T09:01:00+00:00",
    }


def test_a_webhook_alert_is_signed_with_the_projects_secret(alice, job, clock, target):
    secret = projects.new_signing_secret(job.project, by=audit.Actor(user=alice, via=WEB))
    job.channels.add(make_channel(alice, url=target.url("/ok")))
    record_failures(job, clock)

    delivery.deliver_pending()

    (arrival,) = target.requests
    sent = Delivery.objects.get(channel__kind=Channel.Kind.WEBHOOK)
    assert arrival.headers["webhook-id"] == f"delivery-{sent.id}"
    # The receiver's check, with the Standard Webhooks library, returns the parsed body.
    assert Webhook(secret).verify(arrival.body, dict(arrival.headers))["type"] == "job.failing"


def test_a_test_alert_reaches_a_webhook_and_shows_in_its_deliveries(alice, target, private_targets):
    channel = make_channel(alice, url=target.url("/ok"))

    test = delivery.queue_test(channel)
    delivery.deliver_pending()

    (body,) = arrived_json(target)
    assert (body["type"], body["job"], body["execution"]) == ("test", None, None)
    assert body["links"] == {"channels": f"{SITE_URL}/channels/"}
    assert list(channel.deliveries.values_list("id", "kind", "status")) == [
        (test.id, "test", Status.SENT)
    ]


def test_apprise_json_gets_the_title_and_text(alice, job, clock, target):
    job.channels.add(make_channel(alice, "apprise", url=f"json://127.0.0.1:{target.port}/ok"))
    record_failures(job, clock, 3)

    delivery.deliver_pending()

    (body,) = arrived_json(target)
    assert body["title"] == "Failing: Nightly report"
    assert body["message"].splitlines() == [
        "GET example.com",
        "Failed (unexpected HTTP status), HTTP 500",
        f"{SITE_URL}/jobs/{job.id}/",
    ]


def test_a_stopped_ordering_key_reaches_webhook_and_apprise_channels(
    alice, clock, target, private_targets
):
    job = make_job(
        alice,
        url="https://example.com/charge",
        schedule="* * * * *",
        ordering_key="billing",
        ordering_on_failure="stop",
    )
    job.channels.add(make_channel(alice, url=target.url("/status/200")))
    job.channels.add(make_channel(alice, "apprise", url=f"json://127.0.0.1:{target.port}/ok"))
    (execution,) = record_failures(job, clock)

    delivery.deliver_pending()

    hooks = [json.loads(a.body) for a in target.requests if a.path == "/status/200"]
    assert [hook["type"] for hook in hooks] == ["job.failing", "job.stopped"]
    assert hooks[1]["execution"]["id"] == execution.id
    apprise = [json.loads(a.body) for a in target.requests if a.path == "/ok"]
    assert apprise[1]["title"] == "Queue stopped: Nightly report"
    assert 'Queue "billing" stopped: resume it on the job\'s page' in apprise[1]["message"]


def test_apprise_ntfy_gets_the_topic_title_and_text(alice, clock, target, private_targets):
    job = make_job(alice, url="https://example.com/report", failure_threshold=2)
    job.channels.set([make_channel(alice, "apprise", url=f"ntfy://127.0.0.1:{target.port}/cron")])
    record_failures(job, clock, 2)

    delivery.deliver_pending()

    (arrival,) = target.requests
    body = json.loads(arrival.body)
    assert (body["topic"], body["title"]) == ("cron", "Failing: Nightly report")
    assert body["message"].splitlines()[:2] == ["GET example.com", "2 failures in a row"]


def test_a_failure_then_a_recovery_reach_each_channel_in_order_once_each(alice, job, clock, target):
    job.channels.add(
        make_channel(alice, url=target.url("/ok")),
        make_channel(alice, "apprise", url=f"json://127.0.0.1:{target.port}/echo"),
    )
    record_failures(job, clock)
    record_result(job, clock, 200)

    delivery.deliver_pending()
    delivery.deliver_pending()

    by_path = {"/ok": [], "/echo": []}
    for arrival in target.requests:
        by_path[arrival.path].append(json.loads(arrival.body))
    assert [body["type"] for body in by_path["/ok"]] == ["job.failing", "job.recovered"]
    assert [body["title"] for body in by_path["/echo"]] == [
        "Failing: Nightly report",
        "Recovered: Nightly report",
    ]
    assert [message.subject for message in mail.outbox] == [
        "Failing: Nightly report",
        "Recovered: Nightly report",
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_broken_channel_does_not_hold_back_the_others(alice, job, clock, target, closed_port):
    broken = make_channel(alice, url=f"http://127.0.0.1:{closed_port}/hook")
    job.channels.add(broken, make_channel(alice, url=target.url("/ok")))
    record_failures(job, clock)
    record_result(job, clock, 200)

    report = delivery.deliver_pending()

    assert [body["type"] for body in arrived_json(target)] == ["job.failing", "job.recovered"]
    assert len(mail.outbox) == 2
    assert (report.sent, report.failed) == (4, 2)
    waiting = list(broken.deliveries.order_by("id"))
    assert [(d.kind, d.status, d.attempts) for d in waiting] == [
        ("failing", Status.PENDING, 1),
        ("recovered", Status.PENDING, 0),  # behind the failure, untried
    ]
    assert waiting[0].last_error.startswith("Could not connect")


def test_a_failed_send_is_retried_with_backoff_in_order(alice, job, clock, target):
    target.flaky_failures = 2
    channel = make_channel(alice, url=target.url("/flaky"))
    job.channels.set([channel])
    record_failures(job, clock)
    record_result(job, clock, 200)

    delivery.deliver_pending()  # 503: a minute to wait
    failing = channel.deliveries.get(kind="failing")
    assert (failing.attempts, failing.retry_after) == (1, NOW + timedelta(minutes=3))
    assert failing.last_error == "Got HTTP 503, expected 2xx."
    clock.shift(timedelta(seconds=59))
    delivery.deliver_pending()
    assert len(target.requests) == 1  # not before its time
    clock.shift(timedelta(seconds=1))
    delivery.deliver_pending()  # 503 again: two minutes
    assert channel.deliveries.get(kind="failing").retry_after == NOW + timedelta(minutes=5)
    clock.shift(timedelta(minutes=2))
    delivery.deliver_pending()

    assert [body["type"] for body in arrived_json(target)] == [
        "job.failing",
        "job.failing",
        "job.failing",
        "job.recovered",
    ]
    assert set(channel.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_a_channel_that_fails_for_a_day_is_given_up_and_shows_the_error(
    alice, job, clock, closed_port
):
    channel = make_channel(alice, url=f"http://127.0.0.1:{closed_port}/hook")
    job.channels.set([channel])
    record_failures(job, clock)
    for _ in range(40):
        delivery.deliver_pending()
        waiting = channel.deliveries.get()
        if waiting.status == Status.FAILED:
            break
        clock.move_to(waiting.retry_after)

    gave_up = channel.deliveries.get()
    assert gave_up.status == Status.FAILED
    assert gave_up.finished_at - gave_up.created_at >= delivery.GIVE_UP_AFTER
    assert "Could not connect" in gave_up.last_error
    # After 1, 2, 4, … 32 minutes, then hourly: 7 tries in the first hour, 23 after.
    assert gave_up.attempts == 30
    # A recovery after a failure the channel never got is not sent to it.
    record_result(job, clock, 200)
    delivery.deliver_pending()
    assert channel.deliveries.get(kind="recovered").status == Status.NOT_SENT


def test_a_new_job_selects_the_projects_default_channels(alice):
    default = Channel.objects.get(project__memberships__user=alice)
    other = make_channel(alice, url="https://hooks.example.com/a")
    also_default = make_channel(alice, url="https://hooks.example.com/b", is_default=True)

    job = make_job(alice)

    assert set(job.channels.all()) == {default, also_default}
    assert other not in job.channels.all()
