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
    # A worker's open circuits as of this heartbeat (jobs/outbound/circuits.py Breakers.report).
    open_circuits = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["process", "-seen_at"], name="heartbeat_process_idx")]

    def __str__(self) -> str:
        return f"{self.instance} at {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(
        cls,
        process: str,
        seen_at: datetime,
        *,
        instance: str = "",
        open_circuits: list[dict] | None = None,
    ) -> None:
        """Open circuits are replaced only when given: the heartbeat task a worker runs
        from the queue leaves what its heartbeat thread published."""
        fields = {"process": process, "seen_at": seen_at}
        if open_circuits is not None:
            fields["open_circuits"] = open_circuits
        cls.objects.update_or_create(instance=instance or process, defaults=fields)


def open_circuits(now: datetime) -> list[dict]:
    """The circuits open in the worker processes alive now, by host: each process has its
    own (jobs/outbound/circuits.py), so a host may be listed once per process."""
    live = Heartbeat.objects.filter(seen_at__gte=now - stale_after()).exclude(open_circuits=[])
    circuits = [
        {
            "host": circuit["host"],
            "process": heartbeat.process,
            "since": datetime.fromisoformat(circuit["since"]),
            "until": datetime.fromisoformat(circuit["until"]),
            "failures": circuit["failures"],
        }
        for heartbeat in live
        for circuit in heartbeat.open_circuits
    ]
    return sorted(circuits, key=lambda circuit: (circuit["host"], circuit["process"]))


def stale_after() -> timedelta:
    """A process whose heartbeat is older than this is taken for dead (operator page,
    /healthz, /metrics, and the engine judging whose runs were lost). Ten heartbeats
    missed: a worker busy at the top of the minute, or a database hiccup, is not a death;
    a dead worker's runs are still finished within seconds."""
    return timedelta(seconds=10 * settings.HEARTBEAT_SECONDS)


class Lease(models.Model):
    """Which process runs a single-flight system task this interval (ops/leases.py)."""

    name = models.CharField(max_length=100, primary_key=True)
    # The process that took it, shown to operators.
    holder = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
