"""Single-flight system tasks: one run per interval, however many beats send them.

Any number of beats may run, each sending every system task on its own schedule, so a
task arrives once per interval from each. The task first takes its lease: a row (name,
holder, expires_at) written by one INSERT ... ON CONFLICT DO UPDATE that succeeds only
when the row is new or its lease has run out. The first arrival in an interval takes
it; the others find it held and do nothing. Nothing releases it: it covers the interval,
not only the run. If a beat dies, the other's next arrival after the expiry takes it,
within one interval plus the lease.

A lease row rather than pg_try_advisory_lock: an advisory lock is held only while its
session runs the task, so a second beat's tick arriving after a quick tick finished
would take it and run again in the same interval; and it exists only in PostgreSQL,
while `make run` uses SQLite. The row is one small statement on both (SQLite 3.35+ has
upserts with RETURNING; having one writer, it needs no more).

The lease lasts most of the interval, not all of it: a beat's ticks are an interval
apart when sent but a few milliseconds closer or further when a worker takes them, and
one that came a little early would otherwise be turned away, leaving a gap of two. So
runs are at least LEASE_SHARE of an interval apart and, in the steady state, one an
interval. A run that outlasts its lease may overlap the next one; the tasks allow it
(they claim rows with SKIP LOCKED), the lease only saves the repeated work.

The clock is the process's, like the heartbeats' (ops/liveness.py): hosts' clocks are
assumed to agree within a fraction of an interval.
"""

import os
import socket
from datetime import datetime, timedelta

import structlog
from django.db import connection
from django.utils import timezone

from ops import liveness, metrics
from ops.models import Lease

log = structlog.get_logger(__name__)
LEASE_SHARE = 0.8
DISPATCH = "dispatch tick"
RECOVERY = "recovery sweep"
PRUNING = "history pruning"


def take(name: str, interval: float, now: datetime | None = None) -> bool:
    """Take the lease `name` for most of `interval` seconds, unless it is held; whether
    this process took it (and may run the task)."""
    now = now or timezone.now()
    expires_at = now + timedelta(seconds=interval * LEASE_SHARE)
    table = connection.ops.quote_name(Lease._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, holder, expires_at) VALUES (%s, %s, %s) "
            f"ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
            f"expires_at = excluded.expires_at WHERE {table}.expires_at <= %s "
            f"RETURNING name",
            [name, holder(), adapt(expires_at), adapt(now)],
        )
        taken = cursor.fetchone() is not None
    metrics.LEASES.labels(name, "taken" if taken else "held").inc()
    if not taken:
        log.debug("lease.held", lease=name)
    return taken


def holder() -> str:
    return liveness.this_worker() or f"{socket.gethostname()}/{os.getpid()}"
