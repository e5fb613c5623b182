"""Emails for health changes (failing, recovered, disabled), delivered from the rows
the engine writes.

Which side of the send is marked: the change is claimed (delivery=sending, committed)
before the email goes out and marked sent after. A notifier killed after sending but
before marking leaves a claim; an expired claim is sent again only after
CLAIM_EXPIRES, and every copy carries the same Message-ID, so mail systems fold a
rare duplicate into one. The other order (send, then mark) would resend on every
retry of a killed task, and mark-only-then-send could lose the email outright.
An SMTP error releases the claim for a retry with backoff: nothing is lost.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from smtplib import SMTPException
from urllib.parse import urlsplit, urlunsplit

import structlog
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cronsvc import emails, metrics
from jobs.models import Execution, HealthChange, Job

log = structlog.get_logger(__name__)
Delivery = HealthChange.Delivery
Kind = HealthChange.Kind
CLAIM_EXPIRES = timedelta(minutes=10)
RETRY_FIRST = timedelta(seconds=30)
RETRY_LONGEST = timedelta(hours=1)
BATCH = 100
EXCERPT_LENGTH = 500
UNSUBSCRIBE_SALT = "jobs.unsubscribe"


@dataclass
class DeliveryReport:
    sent: int = 0
    not_sent: int = 0
    failed: int = 0


def deliver_pending(now: datetime | None = None) -> DeliveryReport:
    """Send every undelivered change; SMTP failures are released for a later retry."""
    now = now or timezone.now()
    report = DeliveryReport()
    while changes := claim(now):
        for change in changes:
            deliver(change, report)
        if len(changes) < BATCH:
            break
    return report


@transaction.atomic
def claim(now: datetime) -> list[HealthChange]:
    claimable = Q(delivery=Delivery.PENDING) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_EXPIRES
    )
    changes = list(
        HealthChange.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(claimable)
        .select_related("job__user", "execution")
        .order_by("created_at")[:BATCH]
    )
    HealthChange.objects.filter(id__in=[c.id for c in changes]).update(
        delivery=Delivery.SENDING, claimed_at=now
    )
    return changes


def deliver(change: HealthChange, report: DeliveryReport) -> None:
    recipient = recipient_for(change)
    if recipient is None:
        finish(change, Delivery.NOT_SENT)
        report.not_sent += 1
        return
    try:
        message(change, recipient).send()
    except (SMTPException, OSError) as error:
        release(change, error)
        metrics.EMAILS.labels("failed").inc()
        report.failed += 1
        return
    finish(change, Delivery.SENT)
    metrics.EMAILS.labels("sent").inc()
    log.info(
        "notify.sent",
        change_id=change.id,
        job_id=change.job_id,
        member_id=change.job.user_id,
        kind=change.kind,
    )
    report.sent += 1


def recipient_for(change: HealthChange) -> str | None:
    """The member's verified address, if they want this kind of email; else None."""
    job, user = change.job, change.job.user
    wanted = {
        Kind.FAILING: job.notify_on_failure,
        Kind.RECOVERED: job.notify_on_recovery and failure_was_emailed(change),
        Kind.DISABLED: job.notify_on_disable,
    }[change.kind]
    if not wanted:
        return None
    # A changed notification address is only stored once confirmed; the sign-in
    # address counts once the member has confirmed it.
    if user.notification_email:
        return user.notification_email
    return user.email if user.is_verified else None


def failure_was_emailed(change: HealthChange) -> bool:
    """A recovery email only follows a failure email the member actually got."""
    failure = (
        HealthChange.objects.filter(
            job=change.job, kind=Kind.FAILING, created_at__lte=change.created_at
        )
        .order_by("-created_at")
        .first()
    )
    return failure is not None and failure.delivery == Delivery.SENT


def finish(change: HealthChange, delivery: str) -> None:
    HealthChange.objects.filter(id=change.id).update(delivery=delivery, notified_at=timezone.now())


def release(change: HealthChange, error: Exception) -> None:
    log.warning("notify: could not send change %s: %s", change.id, error)
    HealthChange.objects.filter(id=change.id).update(
        delivery=Delivery.PENDING,
        claimed_at=None,
        attempts=change.attempts + 1,
        last_error=str(error)[:500],
    )


def message(change: HealthChange, recipient: str) -> EmailMultiAlternatives:
    job = change.job
    context = {
        "change": change,
        "job": job,
        "execution": change.execution,
        "target": url_without_query(job.url),
        "excerpt": excerpt(change.execution),
        "job_url": absolute(reverse("job_detail", args=[job.id])),
        "settings_url": absolute(reverse("job_edit", args=[job.id])) + "#notifications",
        "execution_url": absolute(reverse("execution_detail", args=[change.execution_id]))
        if change.execution_id
        else "",
        "unsubscribe_url": unsubscribe_url(job),
        "failures": job.consecutive_failures,
    }
    headers = {
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # The same id on every copy, so a rare resend is folded into one.
        "Message-ID": f"<health-change-{change.id}@{urlsplit(settings.SITE_URL).hostname}>",
    }
    return emails.build(f"job-{change.kind}", to=recipient, context=context, headers=headers)


def url_without_query(url: str) -> str:
    """Query strings and fragments often carry tokens; emails leave them out."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def excerpt(execution: Execution | None) -> str:
    if execution is None or not execution.response_body:
        return ""
    body = execution.response_body
    return body[:EXCERPT_LENGTH] + ("…" if len(body) > EXCERPT_LENGTH else "")


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def unsubscribe_url(job: Job) -> str:
    token = signing.dumps(job.id, salt=UNSUBSCRIBE_SALT)
    return absolute(reverse("job_unsubscribe", args=[token]))


def job_from_unsubscribe_token(token: str) -> Job | None:
    try:
        job_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Job.objects.filter(id=job_id).first()


def unsubscribe(job: Job) -> None:
    Job.objects.filter(id=job.id).update(
        notify_on_failure=False, notify_on_recovery=False, notify_on_disable=False
    )
