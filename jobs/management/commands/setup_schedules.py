from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# The system's own schedules. Created once and then left alone, so operators
# can tune them in the admin without the next deploy undoing it.
SYSTEM_SCHEDULES = [
    {"name": "heartbeat", "task": "cronsvc.heartbeat", "seconds": settings.HEARTBEAT_SECONDS},
]


class Command(BaseCommand):
    help = "Create the system's periodic tasks in django-celery-beat (idempotent)."

    def handle(self, *args, **options) -> None:
        for entry in SYSTEM_SCHEDULES:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry["seconds"], period=IntervalSchedule.SECONDS
            )
            _, created = PeriodicTask.objects.get_or_create(
                name=entry["name"], defaults={"task": entry["task"], "interval": interval}
            )
            state = "created" if created else "already there"
            self.stdout.write(f"{entry['name']}: {state}")
