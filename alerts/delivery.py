"""The alerts' outbox: health changes (failing, recovered, disabled), delivered from the
rows the engine writes (jobs/engine/health.py), by email (alerts/email_message.py).

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

import structlog
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts import email_message
from jobs.models import HealthChange
from ops import metrics

log = structlog.get_logger(__name__)
Delivery = HealthChange.Delivery
Kind = HealthChange.Kind
CLAIM_EXPIRES = timedelta(minutes=10)
RETRY_FIRST = timedelta(seconds=30)
RETRY_LONGEST = timedelta(hours=1)
BATCH = 100


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
    recipient = email_message.recipient_for(change)
    if recipient is None:
        finish(change, Delivery.NOT_SENT)
        report.not_sent += 1
        return None
    try:
        email_message.message(change, recipient).send()
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
        project_id=change.job.project_id,
        kind=change.kind,
    )
    report.sent += 1
    return None


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
