"""SIGTERM to an executions worker, real processes: it takes no new batch, finishes and
records the batches it started (in flight, or claimed and waiting for their second), and
gives back the ones it had taken but not started; another worker runs those once.

The worker has two threads and takes three messages a thread: one batch of requests
the target answers in 5 s, one batch claimed for a second after the SIGTERM, and four
single-execution batches waiting for a thread when the SIGTERM comes.
"""

from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from jobs.engine import tick
from jobs.models import Execution, Job
from tests.conftest import arrivals_by_execution, make_job
from tests.processes import Engine, flush_broker, queued_messages

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine_settings")]
Status = Execution.Status
ping = partial(make_job, schedule="0 0 1 1 *", timeout_seconds=10, timezone="UTC")


def executions(jobs: list[Job], *, in_seconds: float) -> list[int]:
    now = timezone.now()
    slot = now + timedelta(seconds=in_seconds)
    return [
        Execution.objects.create(job=job, scheduled_for=slot, enqueued_at=now).id for job in jobs
    ]


def claimers(ids: list[int]) -> set[str]:
    """The names of the workers that claimed them (tests/processes.py's hostnames)."""
    claimed = Execution.objects.filter(id__in=ids).values_list("claimed_by", flat=True)
    return {claimer.removeprefix("worker:").partition("-")[0] for claimer in claimed}


def test_sigterm_finishes_started_batches_and_hands_back_the_others(
    transactional_db, alice, target, tmp_path
):
    flush_broker()
    slow = [ping(alice, title=f"Slow {n}", url=target.url("/slow/5")) for n in range(5)]
    later = [ping(alice, title=f"Later {n}", url=target.url("/ok")) for n in range(3)]
    waiting = [ping(alice, title=f"Waiting {n}", url=target.url("/ok")) for n in range(4)]

    with Engine(tmp_path) as engine:
        engine.start_worker("first", queues="executions", concurrency=2, prefetch_multiplier=3)
        in_flight = executions(slow, in_seconds=0)
        tick.enqueue(in_flight)
        engine.wait_until(lambda: len(target.requests) == 5, what="the slow requests")
        not_yet = executions(later, in_seconds=6)
        not_started = executions(waiting, in_seconds=0)
        for batch in (not_yet, *([id_] for id_ in not_started)):
            tick.enqueue(batch)
        engine.wait_until(
            lambda: (
                set(Execution.objects.filter(id__in=not_yet).values_list("status", flat=True))
                == {Status.RUNNING}
            ),
            what="the later batch to be claimed",
        )
        # Taken: none left in the queue, and not started: not claimed.
        engine.wait_until(lambda: queued_messages() == 0, what="the worker to take them all")
        assert Execution.objects.filter(id__in=not_started, status=Status.PENDING).count() == 4

        # SIGTERM with the slow requests still waiting for their answer.
        assert Execution.objects.filter(id__in=in_flight, status=Status.RUNNING).count() == 5
        stopped_at = timezone.now()
        assert engine.stop_gracefully("first", seconds=30) == 0
        exited_at = timezone.now()
        assert "finishing=2 handing_back=4" in engine.log("first")

        # Its own batches: the requests in flight answered and recorded, the later batch
        # sent on its second, all before it exited.
        finished = Execution.objects.filter(id__in=[*in_flight, *not_yet])
        assert set(finished.values_list("status", flat=True)) == {Status.SUCCEEDED}
        assert all(execution.finished_at < exited_at for execution in finished)
        assert all(execution.sent_at > stopped_at for execution in finished.filter(id__in=not_yet))
        assert max(finished.filter(id__in=not_yet).values_list("lateness_ms", flat=True)) < 1000
        # The batches it had not started are back in the queue, still pending.
        assert queued_messages() == 4
        assert Execution.objects.filter(id__in=not_started, status=Status.PENDING).count() == 4

        engine.start_worker("second", queues="executions")
        engine.wait_until(
            lambda: (
                Execution.objects.filter(id__in=not_started, status=Status.SUCCEEDED).count() == 4
            ),
            what="the second worker to run the handed-back batches",
        )

    assert claimers(in_flight + not_yet) == {"first"}
    assert claimers(not_started) == {"second"}
    assert arrivals_by_execution(target) == Counter([*in_flight, *not_yet, *not_started])
    assert not Execution.objects.exclude(status=Status.SUCCEEDED).exists()
