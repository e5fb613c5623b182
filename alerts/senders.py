"""Sending one delivery through its channel: an email, a JSON POST, or an Apprise message.

Every sender raises on failure (the outbox retries); webhooks go through the HTTP seam
(jobs/outbound/http.py) and Apprise through alerts/apprise_guard.py, so every connection
to an address a member gave passes the SSRF guard when it is opened.
"""

import asyncio
import json
from datetime import UTC, datetime

from django.conf import settings
from django.urls import reverse

from alerts import apprise_guard, email_message
from alerts.models import Channel, Delivery
from jobs.outbound import http

WEBHOOK_TIMEOUT_SECONDS = 10
TITLES = {
    Delivery.Kind.FAILING: "Failing",
    Delivery.Kind.RECOVERED: "Recovered",
    Delivery.Kind.DISABLED: "Disabled",
    Delivery.Kind.REMINDER: "Still failing",
    Delivery.Kind.STOPPED: "Queue stopped",
}


class SendFailed(Exception):
    """The channel did not take the alert; the message says why (shown on its page)."""


def send(delivery: Delivery) -> None:
    SENDERS[delivery.channel.kind](delivery)


def send_email(delivery: Delivery) -> None:
    email_message.message(delivery).send()


def send_webhook(delivery: Delivery) -> None:
    outcome = asyncio.run(post(webhook_request(delivery)))
    if not outcome.succeeded:
        raise SendFailed(outcome.error)


def webhook_request(delivery: Delivery) -> http.Request:
    """The POST a webhook channel gets: the JSON body, and who it is from. Signed the
    Standard Webhooks way when the project has a signing secret; its id, the same on each
    retry of the delivery, lets the receiver drop a repeat."""
    body = json.dumps(webhook_body(delivery))
    return http.Request(
        execution_id=f"delivery-{delivery.id}",
        signing_secrets=delivery.channel.project.signing_secrets(datetime.now(UTC)),
        method="POST",
        url=delivery.channel.url,
        headers={"Content-Type": "application/json"},
        body=body,
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        # A redirect would be a second request the member did not name: a failure here.
        follow_redirects=False,
    )


async def post(request: http.Request) -> http.Outcome:
    async with http.Client() as client:
        return await client.send(request)


def webhook_body(delivery: Delivery) -> dict:
    """What a webhook receives (documented in the README): the change, its job (host only,
    never the URL's path or query, which may hold tokens) and its execution."""
    job, change = delivery.job, delivery.change
    if job is None:
        return {
            "type": "test",
            "job": None,
            "execution": None,
            "links": {"channels": absolute(reverse("channels"))},
            "at": iso(delivery.created_at),
        }
    execution = change.execution
    return {
        "type": f"job.{delivery.kind}",
        "job": {"id": job.id, "title": job.title, "host": job.host},
        "execution": execution
        and {
            "id": execution.id,
            "status": execution.status,
            "failure_reason": execution.failure_reason,
            "http_status": execution.http_status,
            "scheduled_for": iso(execution.scheduled_for),
        },
        "links": {"job": absolute(reverse("job_detail", args=[job.id]))},
        "at": iso(change.created_at),
    }


def send_apprise(delivery: Delivery) -> None:
    title, body = apprise_text(delivery)
    if error := apprise_guard.notify(delivery.channel.url, title=title, body=body):
        raise SendFailed(error)


def apprise_text(delivery: Delivery) -> tuple[str, str]:
    """A title and a few lines: chat services show little, and the link leads to the rest."""
    job, change = delivery.job, delivery.change
    if job is None:
        return f"Test alert from {settings.SITE_NAME}", "This channel gets your jobs' alerts."
    title = f"{TITLES[delivery.kind]}: {' '.join(job.title.split())}"
    lines = [f"{job.method} {job.host}"]
    if (
        change.kind in (Delivery.Kind.FAILING, Delivery.Kind.REMINDER)
        and change.failures_in_a_row > 1
    ):
        lines.append(f"{change.failures_in_a_row} failures in a row")
    if (execution := change.execution) is not None:
        result = execution.get_status_display()
        if execution.failure_reason:
            result += f" ({execution.get_failure_reason_display()})"
        if execution.http_status:
            result += f", HTTP {execution.http_status}"
        lines.append(result)
    if change.kind == Delivery.Kind.STOPPED:
        lines.append(f'Queue "{job.ordering_key}" stopped: resume it on the job\'s page')
    lines.append(absolute(reverse("job_detail", args=[job.id])))
    return title, "\n".join(lines)


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def iso(moment: datetime | None) -> str | None:
    return moment and moment.astimezone(UTC).isoformat()


SENDERS = {
    Channel.Kind.EMAIL: send_email,
    Channel.Kind.WEBHOOK: send_webhook,
    Channel.Kind.APPRISE: send_apprise,
}
