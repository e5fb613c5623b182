from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class Heartbeat(models.Model):
    """When a process last proved it was alive: beat (it sent the tick) or a worker."""

    process = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.process} at {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, process: str, seen_at: datetime) -> None:
        cls.objects.update_or_create(process=process, defaults={"seen_at": seen_at})


def stale_after() -> timedelta:
    """A process whose heartbeat is older than this is taken for dead (operator page,
    /healthz, /metrics): two missed heartbeats, so one late one is not an alarm."""
    return timedelta(seconds=2 * settings.HEARTBEAT_SECONDS)
