import time

import structlog
from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from ops.models import Heartbeat

log = structlog.get_logger(__name__)


class Scheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler that also records beat's own heartbeat."""

    last_heartbeat = 0.0

    def tick(self, *args, **kwargs) -> float:
        next_in = super().tick(*args, **kwargs)
        if time.monotonic() - self.last_heartbeat >= settings.HEARTBEAT_SECONDS:
            self.record_heartbeat()
        return min(next_in, settings.HEARTBEAT_SECONDS)

    def record_heartbeat(self) -> None:
        close_old_connections()
        try:
            Heartbeat.record("beat", timezone.now())
        except (DatabaseError, InterfaceError) as error:
            # The database is restarting: beat lives on (its schedule is in memory, and
            # django-celery-beat's own queries ride out the outage the same way).
            log.warning("heartbeat.not_recorded", process="beat", error=str(error))
            return
        self.last_heartbeat = time.monotonic()
        log.info("heartbeat", process="beat")
