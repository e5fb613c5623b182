"""The maintenance switch: dispatching pauses without losing slots.

It is the `enabled` flag of the dispatch tick's PeriodicTask, so beat stops sending
ticks and operators see it in the admin too; ticks already queued check it as well.
Slots that fall due meanwhile are handled by the missed-slot policy once it is back
on: one catch-up run per job, the rest recorded as missed."""

from django_celery_beat.models import PeriodicTask

DISPATCH_TASK_NAME = "dispatch tick"


def dispatch_paused() -> bool:
    return PeriodicTask.objects.filter(name=DISPATCH_TASK_NAME, enabled=False).exists()


def set_dispatch_paused(paused: bool) -> bool:
    """Pause or resume; False if there is no dispatch tick to switch (setup_schedules not run)."""
    tasks = list(PeriodicTask.objects.filter(name=DISPATCH_TASK_NAME))
    # save() rather than update(): django-celery-beat tells beat to reload on save.
    for task in tasks:
        task.enabled = not paused
        task.save()
    return bool(tasks)
