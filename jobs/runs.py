"""Runs a member asks for (Run now), as opposed to scheduled ones."""

from django.utils import timezone

from jobs.models import Execution, Job


def run_now(job: Job) -> Execution:
    """Record a manual execution; it waits as pending until a worker takes it."""
    return Execution.objects.create(
        job=job, scheduled_for=timezone.now(), trigger=Execution.Trigger.MANUAL
    )
