from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from cronsvc import task_names
from jobs.engine.retention import PRUNE_INTERVAL_SECONDS
from ops.maintenance import DISPATCH_TASK_NAME

QUEUE_HEARTBEAT_SECONDS = 30
# The system's own schedules; never one per member job. Created once and then left
# alone, so operators can tune them in the admin without the next deploy undoing it.
SYSTEM_SCHEDULES = [
    # Workers record their heartbeats from a thread of their own; these prove that each
    # queue is being consumed too.
    {"name": "heartbeat", "task": task_names.HEARTBEAT, "seconds": QUEUE_HEARTBEAT_SECONDS},
    {
        "name": "heartbeat (execution workers)",
        "task": task_names.HEARTBEAT,
        "seconds": QUEUE_HEARTBEAT_SECONDS,
        "queue": settings.EXECUTIONS_QUEUE,
    },
    {
        "name": DISPATCH_TASK_NAME,
        "task": task_names.DISPATCH_TICK,
        "seconds": settings.DISPATCH_INTERVAL_SECONDS,
    },
    {
        "name": "recovery sweep",
        "task": task_names.RECOVERY_SWEEP,
        "seconds": settings.RECOVERY_INTERVAL_SECONDS,
    },
    # Emails go out as soon as a change is written; this catches retries and leftovers.
    {"name": "notifications", "task": task_names.DELIVER_ALERTS, "seconds": 60},
    {
        "name": "history pruning",
        "task": task_names.PRUNE_HISTORY,
        "seconds": PRUNE_INTERVAL_SECONDS,
    },
]


class Command(BaseCommand):
    help = "Create the system's periodic tasks in django-celery-beat (idempotent)."

    def handle(self, *args, **options) -> None:
        for entry in SYSTEM_SCHEDULES:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry["seconds"], period=IntervalSchedule.SECONDS
            )
            # A tick that waited longer than its interval is stale: the next one covers it.
            _, created = PeriodicTask.objects.get_or_create(
                name=entry["name"],
                defaults={
                    "task": entry["task"],
                    "interval": interval,
                    "expire_seconds": entry["seconds"],
                    "queue": entry.get("queue"),
                },
            )
            state = "created" if created else "already there"
            self.stdout.write(f"{entry['name']}: {state}")
