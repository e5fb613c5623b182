from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """When a process last proved it was alive: beat (it sent the tick) or a worker."""

    process = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.process} at {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, process: str, seen_at: timezone.datetime) -> None:
        cls.objects.update_or_create(process=process, defaults={"seen_at": seen_at})
