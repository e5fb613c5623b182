"""Two beats side by side, real processes: each sends every tick, the lease lets one run an
interval (ops/leases.py), and when one beat is killed the other carries on.

Ten every-minute jobs against a local target over two slots: the first with both beats
up, the second (the next minute) after beat A was killed 25 s before it, before its batch
is claimed.
"""

import json
import threading
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, multiprocess

from jobs.models import Execution
from jobs.outbound import http
from ops import leases
from tests.conftest import many_jobs
from tests.processes import Engine, flush_broker

pytestmark = pytest.mark.slow
Status = Execution.Status
JOBS = 10
INTERVAL = 2  # DISPATCH_INTERVAL_SECONDS
LEASE = INTERVAL * leases.LEASE_SHARE
SENT_TICK = "Sending due task dispatch tick"
# The lease row is read this often; a worker takes a tick within this much of its send.
POLL_SECONDS = 0.1
PICKUP_SECONDS = 1


class LeaseWatch:
    """Reads the dispatch lease's row from a thread of its own: when each tick took it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.expiries: list[datetime] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.watch, name="lease-watch", daemon=True)

    def __enter__(self) -> "LeaseWatch":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def watch(self) -> None:
        query = "SELECT expires_at FROM ops_lease WHERE name = %s"
        while not self.stopped.wait(POLL_SECONDS):
            for (expires_at,) in self.engine.sql(query, leases.DISPATCH):
                if expires_at not in self.expiries:
                    self.expiries.append(expires_at)

    def takes(self, since: datetime, until: datetime) -> list[datetime]:
        moments = (expires_at - timedelta(seconds=LEASE) for expires_at in self.expiries)
        return [moment for moment in moments if since <= moment <= until]


def lease_outcomes(engine: Engine) -> Counter:
    """Dispatch ticks that ran (taken) and that found the lease held, over every process."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(engine.directory / "metrics"))
    return Counter(
        {
            sample.labels["outcome"]: sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "cronsvc_leases_total" and sample.labels["lease"] == leases.DISPATCH
        }
    )


def claims(engine: Engine) -> list[int]:
    """What each tick that claimed something claimed (the system worker's tick lines)."""
    lines = (json.loads(line) for line in engine.log("system").splitlines() if "{" in line[:1])
    return [line["claimed"] for line in lines if line.get("event") == "dispatch.tick"]


def runs_at(slot: datetime) -> list[Execution]:
    return list(Execution.objects.filter(scheduled_for=slot).order_by("job_id"))


def delivered(slot: datetime) -> bool:
    runs = runs_at(slot)
    return len(runs) == JOBS and all(run.status == Status.SUCCEEDED for run in runs)


def minute_after(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def at(engine: Engine, moment: datetime) -> None:
    engine.wait_until(lambda: timezone.now() >= moment, what=f"{moment:%H:%M:%S}", seconds=120)


def test_two_beats_run_one_tick_an_interval_and_one_carries_on_alone(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    engine = Engine(tmp_path, DISPATCH_INTERVAL_SECONDS=str(INTERVAL), LOG_FORMAT="json")
    with engine, LeaseWatch(engine) as watch:
        engine.start_worker("system", queues="system")
        engine.start_worker("executions", queues="executions", concurrency=8)
        engine.start_beat("beat-a")
        engine.start_beat("beat-b")
        engine.wait_until(lambda: SENT_TICK in engine.log("beat-b"), what="beat B's first tick")
        both_from, at_start = timezone.now(), lease_outcomes(engine)
        # The first slot's batch is claimed 15 s ahead (the horizon), with both beats up;
        # the second is the jobs' next minute, far enough on to kill A between them. Both
        # are whole minutes: after any other second, an every-minute job's next slot is
        # the next whole minute, which would be a slot of its own between the two.
        first = minute_after(both_from + timedelta(seconds=20))
        second = first + timedelta(minutes=1)
        jobs = many_jobs(alice, JOBS, url=target.url("/ok"), timezone="UTC", next_run_at=first)
        engine.wait_until(lambda: delivered(first), what="the first slot", seconds=120)

        at(engine, second - timedelta(seconds=25))
        killed_at, at_kill = timezone.now(), lease_outcomes(engine)
        engine.kill("beat-a")
        engine.wait_until(lambda: delivered(second), what="the second slot", seconds=90)
        alone_until, at_end = timezone.now(), lease_outcomes(engine)

    # Both beats sent every tick; one a lease interval ran, the other was turned away.
    intervals = (killed_at - both_from) / timedelta(seconds=INTERVAL)
    ran, turned_away = (at_kill[o] - at_start[o] for o in ("taken", "held"))
    assert engine.log("beat-a").count(SENT_TICK) >= intervals - 2
    assert ran <= intervals + 1
    assert turned_away >= intervals - 3
    # Beat B alone: its ticks take the lease within an interval and a lease of A's last.
    takes = watch.takes(killed_at - timedelta(seconds=INTERVAL), alone_until)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(takes)]
    assert max(gaps) <= INTERVAL + LEASE + PICKUP_SECONDS
    assert len(takes) >= (alone_until - killed_at) / timedelta(seconds=INTERVAL) - 2
    assert at_end["held"] - at_kill["held"] <= 2  # ticks A sent just before it died

    # Every slot delivered once, on time; one tick claimed each.
    for slot in (first, second):
        assert [run.job_id for run in runs_at(slot)] == [job.id for job in jobs]
        assert max(run.lateness_ms for run in runs_at(slot)) < 1000
    arrivals = Counter(arrival.headers.get(http.EXECUTION_HEADER) for arrival in target.requests)
    assert sorted(arrivals.values()) == [1] * (2 * JOBS)
    assert not Execution.objects.filter(status=Status.MISSED).exists()
    assert claims(engine) == [JOBS, JOBS]
    print(
        f"both beats {intervals:.0f} intervals: {ran:.0f} ticks ran, {turned_away:.0f} turned "
        f"away; alone: {len(takes)} takes, longest gap {max(gaps):.2f} s"
    )
