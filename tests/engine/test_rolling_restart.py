"""A rolling restart under load, real processes: two beats, two executions workers and the
system worker, each stopped with SIGTERM and started again, one at a time, while 300
every-minute jobs spread over the minute keep five requests a second going to a local
target. Every slot in the window runs once: none missed, none doubled, none lost.

docs/OPERATIONS.md ("A rolling restart") is the procedure this follows.
"""

from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from jobs.models import Execution, Job
from tests.conftest import arrivals_by_execution, many_jobs
from tests.processes import Engine, flush_broker

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine_settings")]
Status = Execution.Status
JOBS = 300
# Slots up to this long after the last restart count: runs claimed by the new processes.
TAIL = timedelta(seconds=20)


def start(engine: Engine, name: str) -> None:
    if name.startswith("beat"):
        engine.start_beat(name)
    elif name.startswith("system"):
        engine.start_worker(name, queues="system")
    else:
        engine.start_worker(name, queues="executions", concurrency=8)


def slots(jobs: list[Job], until: datetime) -> Counter:
    """Each job's slots from its first next_run_at up to `until`, once each."""
    expected = Counter()
    for job in jobs:
        slot = job.next_run_at
        while slot <= until:
            expected[(job.id, slot)] += 1
            slot = job.compute_next_run(slot)
    return expected


def test_a_rolling_restart_under_load_runs_every_slot_once(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    jobs = many_jobs(alice, JOBS, url=target.url("/ok"), timezone="UTC", spread_seconds=59)
    with Engine(tmp_path) as engine:
        processes = ["beat-a", "beat-b", "system", "executions-1", "executions-2"]
        for name in processes:
            start(engine, name)
        first = timezone.now() + timedelta(seconds=5)
        for job in jobs:
            job.next_run_at = job.compute_next_run(first)
        Job.objects.bulk_update(jobs, ["next_run_at"])
        engine.wait_until(lambda: len(target.requests) >= 20, what="the load to start")

        for name in processes:
            assert engine.stop_gracefully(name, seconds=60) == 0, engine.log(name)
            start(engine, f"{name}-again")
        until = timezone.now() + TAIL
        in_window = Execution.objects.filter(scheduled_for__lte=until)
        expected = slots(jobs, until)
        engine.wait_until(
            lambda: in_window.filter(status=Status.SUCCEEDED).count() >= expected.total(),
            what="every slot in the window to run",
            seconds=90,
        )

    runs = Counter(in_window.values_list("job_id", "scheduled_for"))
    assert runs == expected
    assert set(in_window.values_list("status", "trigger")) == {
        (Status.SUCCEEDED, Execution.Trigger.SCHEDULE)
    }
    arrivals = arrivals_by_execution(target)
    assert {arrivals[id_] for id_ in in_window.values_list("id", flat=True)} == {1}
    assert not Execution.objects.filter(status__in=[Status.MISSED, Status.FAILED]).exists()
    print(f"{expected.total()} slots over {until - first}, each run once")
