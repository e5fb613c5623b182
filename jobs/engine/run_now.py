"""Runs a member asks for (Run now), as opposed to scheduled ones."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.engine.tick import enqueue
from jobs.models import Execution, Job


class TooManyRuns(Exception):
    pass


def run_now(job: Job) -> Execution:
    """A manual execution, sent to the workers at once; limited per member per minute."""
    now = timezone.now()
    recent = Execution.objects.filter(
        job__user_id=job.user_id,
        trigger=Execution.Trigger.MANUAL,
        created_at__gte=now - timedelta(minutes=1),
    ).count()
    if recent >= settings.MANUAL_RUNS_PER_MINUTE:
        raise TooManyRuns(
            f"At most {settings.MANUAL_RUNS_PER_MINUTE} manual runs a minute. Try again shortly."
        )
    execution = Execution.objects.create(
        job=job, scheduled_for=now, trigger=Execution.Trigger.MANUAL, enqueued_at=now
    )
    # Robust: the run is recorded either way; with the broker away, the recovery sweep
    # sends it, and the member gets their 202 instead of an error.
    transaction.on_commit(lambda: enqueue([execution.id]), robust=True)
    return execution
