from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class Heartbeat(models.Model):
    """When a process last proved it was alive: beat (it sent the tick) or a worker.

    One row per process instance: a worker restarted under the same name is a new
    instance, so the runs its previous life claimed are not taken for alive.
    """

    # What the process runs as ("beat", "worker:executions@host"), shown to operators.
    process = models.CharField(max_length=200)
    # This run of it: what executions record as their claimer (Execution.claimed_by).
    instance = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["process", "-seen_at"], name="heartbeat_process_idx")]

    def __str__(self) -> str:
        return f"{self.instance} at {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, process: str, seen_at: datetime, *, instance: str = "") -> None:
        cls.objects.update_or_create(
            instance=instance or process, defaults={"process": process, "seen_at": seen_at}
        )


def stale_after() -> timedelta:
    """A process whose heartbeat is older than this is taken for dead (operator page,
    /healthz, /metrics, and the engine judging whose runs were lost). Ten heartbeats
    missed: a worker busy at the top of the minute, or a database hiccup, is not a death;
    a dead worker's runs are still finished within seconds."""
    return timedelta(seconds=10 * settings.HEARTBEAT_SECONDS)
