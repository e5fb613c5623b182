"""The alerts' outbox: each health change the engine writes (jobs/engine/health.py) gets a
Delivery row for each channel its job selects, in the same transaction; the notifier
claims them, sends each through its channel (alerts/senders.py) and marks it.

Which side of the send is marked: a delivery is claimed (status=sending, committed)
before it goes out and marked sent after. A notifier killed after sending but before
marking leaves a claim; an expired claim is sent again only after CLAIM_EXPIRES, and
every copy of an email carries the same Message-ID, so mail systems fold a rare
duplicate into one. The other order (send, then mark) would resend on every retry of
a killed task, and mark-only-then-send could lose the alert outright.
A failed send releases the claim for a retry with backoff; after GIVE_UP_AFTER the
delivery is marked failed, with its error for the channel's page. Each job's
deliveries to one channel go out in the order of its changes, so a recovery never
arrives before (or instead of) the failure it follows; one channel that cannot be
reached holds back nothing sent to the others.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts import quiet, senders
from alerts.models import Channel, Delivery
from cronsvc import task_names
from cronsvc.celery import app as celery_app
from jobs.models import HealthChange, Job
from ops import metrics

log = structlog.get_logger(__name__)
Status = Delivery.Status
Kind = Delivery.Kind
CLAIM_EXPIRES = timedelta(minutes=10)
RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 25
# A run stops claiming after this long: it runs on the system queue beside the dispatch
# tick, and a batch of unreachable webhooks (10 s each) must not hold a worker for long.
# What is left is due for the next run (every minute, or at the next change).
RUN_SECONDS = 45


@dataclass
class DeliveryReport:
    sent: int = 0
    not_sent: int = 0
    failed: int = 0


def queue(changes: list[HealthChange]) -> list[Delivery]:
    """A delivery of each change to each channel its job selects, in the caller's
    transaction (the one that wrote the changes), held while the job is quiet
    (alerts/quiet.py). Ids follow the changes' order."""
    quiet_jobs = quiet.quiet_job_ids({change.job for change in changes}, timezone.now())
    selected: dict[int, list[int]] = {}
    links = Job.channels.through.objects.filter(job_id__in={c.job_id for c in changes})
    for job_id, channel_id in links.order_by("channel_id").values_list("job_id", "channel_id"):
        selected.setdefault(job_id, []).append(channel_id)
    return Delivery.objects.bulk_create(
        Delivery(
            channel_id=channel_id,
            job_id=change.job_id,
            change=change,
            kind=change.kind,
            created_at=change.created_at,
            status=Status.HELD if change.job_id in quiet_jobs else Status.PENDING,
        )
        for change in changes
        for channel_id in selected.get(change.job_id, [])
    )


def queue_test(channel: Channel) -> Delivery:
    """A test alert to the channel, sent by the notifier like any other."""
    delivery = Delivery.objects.create(channel=channel, kind=Kind.TEST)
    kick()
    return delivery


def kick() -> None:
    """Wake the notifier once the caller's transaction commits. Robust: what it would send
    is committed, and the alerts' own schedule catches up if the broker is away."""
    transaction.on_commit(lambda: celery_app.send_task(task_names.DELIVER_ALERTS), robust=True)


def deliver_pending() -> DeliveryReport:
    """Send every due delivery, each job's in order per channel; a failed send waits for a
    retry."""
    report = DeliveryReport()
    started = time.monotonic()
    while deliveries := claim(timezone.now()):
        # A job whose alert could not go to a channel keeps its later ones to that channel
        # back too, so a recovery never overtakes the failure it follows.
        held: dict[tuple[int, int], datetime] = {}
        for delivery in deliveries:
            queue_key = (delivery.job_id, delivery.channel_id)
            if delivery.job_id is not None and queue_key in held:
                postpone(delivery, until=held[queue_key])
                report.failed += 1
            elif retry_after := deliver(delivery, report):
                held[queue_key] = retry_after
        if len(deliveries) < BATCH or time.monotonic() - started > RUN_SECONDS:
            break
    return report


@transaction.atomic
def claim(now: datetime) -> list[Delivery]:
    """Up to BATCH due deliveries, marked as being sent in a transaction of their own.

    Due: pending and past any retry time, or claimed by a notifier that has not finished
    within CLAIM_EXPIRES (it died). Not one behind an earlier delivery of the same job to
    the same channel that is not due yet: those go out in the order of the changes.
    """
    due = Q(status=Status.PENDING) & (Q(retry_after__isnull=True) | Q(retry_after__lte=now))
    abandoned = Q(status=Status.SENDING, claimed_at__lt=now - CLAIM_EXPIRES)
    # Ids, not created_at, give the order: a job's changes are written under its row
    # lock, and several written by one result can share a timestamp.
    waiting_behind = Delivery.objects.filter(
        Q(status__in=[Status.PENDING, Status.SENDING]) & ~(due | abandoned),
        job=OuterRef("job"),
        channel=OuterRef("channel"),
        id__lt=OuterRef("id"),
    )
    deliveries = list(
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(due | abandoned)
        .exclude(Exists(waiting_behind))
        .select_related("channel__project", "job", "change__execution")
        .order_by("created_at", "id")[:BATCH]
    )
    Delivery.objects.filter(id__in=[d.id for d in deliveries]).update(
        status=Status.SENDING, claimed_at=now
    )
    return deliveries


def deliver(delivery: Delivery, report: DeliveryReport) -> datetime | None:
    """Send one delivery; if it cannot go, put it back and return when to try again."""
    if not wanted(delivery):
        finish(delivery, Status.NOT_SENT)
        report.not_sent += 1
        return None
    try:
        senders.send(delivery)
    except Exception as error:
        # An unreachable service or SMTP server is the usual cause; whatever it is, the
        # delivery goes back with backoff instead of staying claimed and holding the batch.
        count_email(delivery, "failed")
        report.failed += 1
        return release(delivery, error)
    finish(delivery, Status.SENT)
    count_email(delivery, "sent")
    log.info(
        "notify.sent",
        delivery_id=delivery.id,
        channel_id=delivery.channel_id,
        job_id=delivery.job_id,
        project_id=delivery.channel.project_id,
        kind=delivery.kind,
    )
    report.sent += 1
    return None


def wanted(delivery: Delivery) -> bool:
    """Whether the alert should go: the channel is confirmed, and the job wants this kind."""
    if not delivery.channel.is_confirmed():
        return False
    if delivery.kind == Kind.TEST:
        return True
    job = delivery.job
    return {
        Kind.FAILING: job.notify_on_failure,
        Kind.REMINDER: job.notify_on_failure and failure_was_sent(delivery),
        Kind.RECOVERED: job.notify_on_recovery and failure_was_sent(delivery),
        Kind.DISABLED: job.notify_on_disable,
        Kind.STOPPED: job.notify_on_failure,
    }[delivery.kind]


def failure_was_sent(delivery: Delivery) -> bool:
    """A recovery or a reminder only follows a failure alert the channel actually got."""
    failure = (
        Delivery.objects.filter(
            job=delivery.job_id, channel=delivery.channel_id, kind=Kind.FAILING, id__lt=delivery.id
        )
        .order_by("-id")
        .first()
    )
    return failure is not None and failure.status == Status.SENT


def count_email(delivery: Delivery, result: str) -> None:
    if delivery.channel.kind == Channel.Kind.EMAIL:
        metrics.EMAILS.labels(result).inc()


def finish(delivery: Delivery, status: str) -> None:
    Delivery.objects.filter(id=delivery.id).update(status=status, finished_at=timezone.now())


def release(delivery: Delivery, error: Exception) -> datetime | None:
    """Back to pending after a failed send, not to be tried again before the backoff; given
    up (failed) once it has been failing for GIVE_UP_AFTER, so it holds nothing back."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    gives_up = now - delivery.created_at >= GIVE_UP_AFTER
    retry_after = None if gives_up else now + backoff(attempts)
    log.warning(
        "notify.failed",
        delivery_id=delivery.id,
        channel_id=delivery.channel_id,
        job_id=delivery.job_id,
        attempts=attempts,
        retry_after=retry_after and retry_after.isoformat(),
        error=repr(error),
    )
    Delivery.objects.filter(id=delivery.id).update(
        status=Status.FAILED if gives_up else Status.PENDING,
        claimed_at=None,
        finished_at=now if gives_up else None,
        attempts=attempts,
        retry_after=retry_after,
        last_error=describe(error),
    )
    return retry_after


def describe(error: Exception) -> str:
    """What the channel's page shows for a failed send."""
    if isinstance(error, senders.SendFailed):
        return str(error)[:500]
    return repr(error)[:500]


def postpone(delivery: Delivery, *, until: datetime) -> None:
    """Back to pending untried, behind an earlier delivery of its job that could not go."""
    Delivery.objects.filter(id=delivery.id).update(
        status=Status.PENDING, claimed_at=None, retry_after=until
    )


def backoff(attempts: int) -> timedelta:
    """A minute after the first failure, doubling up to an hour."""
    return min(RETRY_FIRST * 2 ** min(attempts - 1, 20), RETRY_LONGEST)
