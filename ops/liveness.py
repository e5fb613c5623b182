"""Which worker processes are alive.

Every worker records a heartbeat from a thread of its own every HEARTBEAT_SECONDS,
under an id for this run of the process, and stamps the executions it claims with it.
The heartbeat also carries the circuits open in the process's firing loop, for the
operator page and /metrics.
The engine asks here whether a run's claimer is still alive: a run whose worker died
is finished at once, instead of holding up its job's next slot.
"""

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import structlog
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from ops.models import Heartbeat, stale_after

log = structlog.get_logger(__name__)
_this_worker = ""


def this_worker() -> str:
    """This process's heartbeat instance, or "" outside a worker (a shell, a test)."""
    return _this_worker


def start_heartbeat(process: str, *, open_circuits: Callable[[], list[dict]]) -> str:
    """Record this process's heartbeat from now on, every HEARTBEAT_SECONDS, with what
    open_circuits() says is open at the time."""
    global _this_worker
    _this_worker = f"{process}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
    threading.Thread(
        target=beat_forever,
        args=(process, _this_worker, open_circuits),
        name="cronsvc-heartbeat",
        daemon=True,
    ).start()
    return _this_worker


def beat_forever(process: str, instance: str, open_circuits: Callable[[], list[dict]]) -> None:
    while True:
        try:
            record_heartbeat(process, instance, open_circuits)
        except DatabaseError as error:
            # The database is away (a restart): the next beat tries again, on a new
            # connection. A good one is kept: a connection a second costs more than the beat.
            log.warning("heartbeat.failed", process=process, error=str(error))
            connection.close()
        time.sleep(settings.HEARTBEAT_SECONDS)


def record_heartbeat(process: str, instance: str, open_circuits: Callable[[], list[dict]]) -> None:
    Heartbeat.record(process, timezone.now(), instance=instance, open_circuits=open_circuits())


def last_seen(instances: set[str]) -> dict[str, datetime]:
    return dict(Heartbeat.objects.filter(instance__in=instances).values_list("instance", "seen_at"))


def alive_instances(now: datetime) -> list[str]:
    """The instances whose heartbeat is fresh at `now` (is_alive, asked of every one)."""
    fresh = Heartbeat.objects.filter(seen_at__gte=now - stale_after())
    return list(fresh.values_list("instance", flat=True))


def is_alive(seen_at: datetime | None, now: datetime) -> bool:
    return seen_at is not None and now - seen_at <= stale_after()
