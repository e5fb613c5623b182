"""Emails for health changes (failing, recovered, disabled), delivered from the rows
the engine writes.

Which side of the send is marked: the change is claimed (delivery=sending, committed)
before the email goes out and marked sent after. A notifier killed after sending but
before marking leaves a claim; an expired claim is sent again only after
CLAIM_EXPIRES, and every copy carries the same Message-ID, so mail systems fold a
rare duplicate into one. The other order (send, then mark) would resend on every
retry of a killed task, and mark-only-then-send could lose the email outright.
An SMTP error releases the claim for a retry with backoff: nothing is lost. Each
job's emails go out in the order of its changes, so a recovery email never arrives
before (or instead of) the failure email it follows.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import structlog
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from cronsvc import emails
from jobs.models import Execution, HealthChange, Job
from ops import metrics

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


def deliver_pending() -> DeliveryReport:
    """Send every undelivered change, each job's in order; a failed send waits for a retry."""
    report = DeliveryReport()
    while changes := claim(timezone.now()):
        # A job whose email could not go keeps its later changes back too, so a recovery
        # email never overtakes the failure email it follows.
        held: dict[int, datetime] = {}
        for change in changes:
            if change.job_id in held:
                postpone(change, until=held[change.job_id])
                report.failed += 1
            elif retry_after := deliver(change, report):
                held[change.job_id] = retry_after
        if len(changes) < BATCH:
            break
    return report


@transaction.atomic
def claim(now: datetime) -> list[HealthChange]:
    """Up to BATCH due changes, marked as being sent in a transaction of their own.

    Due: pending and past any retry time, or claimed by a notifier that has not finished
    within CLAIM_EXPIRES (it died). Not a change behind an earlier one of the same job
    that is not due yet: each job's emails go out in the order its changes happened.
    """
    due = Q(delivery=Delivery.PENDING) & (Q(retry_after__isnull=True) | Q(retry_after__lte=now))
    abandoned = Q(delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_EXPIRES)
    # Ids, not created_at, give the order: a job's changes are written under its row
    # lock, and several written by one result can share a timestamp.
    waiting_behind = HealthChange.objects.filter(
        Q(delivery__in=[Delivery.PENDING, Delivery.SENDING]) & ~(due | abandoned),
        job=OuterRef("job"),
        id__lt=OuterRef("id"),
    )
    changes = list(
        HealthChange.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(due | abandoned)
        .exclude(Exists(waiting_behind))
        .select_related("job__user", "execution")
        .order_by("created_at", "id")[:BATCH]
    )
    HealthChange.objects.filter(id__in=[c.id for c in changes]).update(
        delivery=Delivery.SENDING, claimed_at=now
    )
    return changes


def deliver(change: HealthChange, report: DeliveryReport) -> datetime | None:
    """Email one change; if it cannot go, put it back and return when to try again."""
    recipient = recipient_for(change)
    if recipient is None:
        finish(change, Delivery.NOT_SENT)
        report.not_sent += 1
        return None
    try:
        message(change, recipient).send()
    except Exception as error:
        # SMTP down is the usual cause; whatever it is, the change goes back with backoff
        # instead of staying claimed and holding up the rest of the batch.
        metrics.EMAILS.labels("failed").inc()
        report.failed += 1
        return release(change, error)
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
    return None


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
        HealthChange.objects.filter(job=change.job, kind=Kind.FAILING, id__lt=change.id)
        .order_by("-id")
        .first()
    )
    return failure is not None and failure.delivery == Delivery.SENT


def finish(change: HealthChange, delivery: str) -> None:
    HealthChange.objects.filter(id=change.id).update(delivery=delivery, notified_at=timezone.now())


def release(change: HealthChange, error: Exception) -> datetime:
    """Back to pending after a failed send, not to be tried again before the backoff."""
    attempts = change.attempts + 1
    retry_after = timezone.now() + backoff(attempts)
    log.warning(
        "notify.failed",
        change_id=change.id,
        job_id=change.job_id,
        attempts=attempts,
        retry_after=retry_after.isoformat(),
        error=repr(error),
    )
    HealthChange.objects.filter(id=change.id).update(
        delivery=Delivery.PENDING,
        claimed_at=None,
        attempts=attempts,
        retry_after=retry_after,
        last_error=repr(error)[:500],
    )
    return retry_after


def postpone(change: HealthChange, *, until: datetime) -> None:
    """Back to pending untried, behind an earlier change of its job that could not go."""
    HealthChange.objects.filter(id=change.id).update(
        delivery=Delivery.PENDING, claimed_at=None, retry_after=until
    )


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling up to an hour; never given up."""
    return min(RETRY_FIRST * 2 ** min(attempts - 1, 20), RETRY_LONGEST)


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
        "failures": failures_in_a_row(change),
        # A header cannot hold a line break, and a title from the API may have one.
        "subject_title": " ".join(job.title.split()),
    }
    headers = {
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # The same id on every copy, so a rare resend is folded into one.
        "Message-ID": f"<health-change-{change.id}@{urlsplit(settings.SITE_URL).hostname}>",
    }
    return emails.build(f"job-{change.kind}", to=recipient, context=context, headers=headers)


def failures_in_a_row(change: HealthChange) -> int:
    """The streak when the change happened: by the time a delayed email goes, the job's
    own count may have grown or restarted."""
    if change.execution is None:
        return change.job.consecutive_failures
    executions = change.job.executions.filter(scheduled_for__lte=change.execution.scheduled_for)
    last_success = (
        executions.filter(status=Execution.Status.SUCCEEDED)
        .order_by("-scheduled_for")
        .values_list("scheduled_for", flat=True)
        .first()
    )
    failures = executions.filter(status=Execution.Status.FAILED)
    if last_success is not None:
        failures = failures.filter(scheduled_for__gt=last_success)
    return failures.count()


def url_without_query(url: str) -> str:
    """Query strings, fragments and user:password@ often carry secrets; emails leave them out."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def excerpt(execution: Execution | None) -> str:
    if execution is None or not execution.response_body:
        return ""
    body = execution.response_body
    return body[:EXCERPT_LENGTH] + ("…" if len(body) > EXCERPT_LENGTH else "")


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def unsubscribe_url(job: Job) -> str:
    # No timestamp in the signature: every email of a job carries the same lasting link.
    token = signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(job.id))
    return absolute(reverse("job_unsubscribe", args=[token]))


def job_from_unsubscribe_token(token: str) -> Job | None:
    try:
        job_id = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Job.objects.filter(id=int(job_id)).first() if job_id.isdigit() else None


def unsubscribe(job: Job) -> None:
    Job.objects.filter(id=job.id).update(
        notify_on_failure=False, notify_on_recovery=False, notify_on_disable=False
    )
