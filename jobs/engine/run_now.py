"""Runs a member asks for (Run now), as opposed to scheduled ones."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts import limits
from jobs.engine.tick import enqueue
from jobs.models import Execution, Job


class TooManyRuns(Exception):
    def __init__(self, message: str, *, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


def run_now(job: Job, *, by: AbstractBaseUser | None = None) -> Execution:
    """A manual execution, sent to the workers at once; limited per minute for the member
    who asks (by default the one who made the job)."""
    allowed = settings.MANUAL_RUNS_PER_MINUTE
    wait = limits.acquire("run_now", (by or job.user).pk, limits.Rate(allowed, 60))
    if wait is not None:
        raise TooManyRuns(f"At most {allowed} manual runs a minute. Try again shortly.", wait=wait)
    now = timezone.now()
    execution = Execution.objects.create(
        job=job, scheduled_for=now, trigger=Execution.Trigger.MANUAL, enqueued_at=now
    )
    # Robust: the run is recorded either way; with the broker away, the recovery sweep
    # sends it, and the member gets their 202 instead of an error.
    transaction.on_commit(lambda: enqueue([execution.id]), robust=True)
    return execution
