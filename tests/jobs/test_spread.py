"""Spread (Job.spread_seconds): each run starts at the job's fixed offset after its slot,
derived from its id; lateness counts from that shifted time."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import time_machine

from jobs.engine import tick, worker
from jobs.models import Execution
from tests.conftest import frozen_at, make_job, reloaded

NOW = datetime(2026, 5, 12, 11, 59, 50, tzinfo=UTC)
SLOT = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
pytestmark = pytest.mark.usefixtures("engine_settings")
clock = frozen_at(NOW)
minutely = partial(make_job, schedule="* * * * *", timezone="UTC")
hourly = partial(make_job, schedule="0 * * * *", timezone="UTC")


def test_the_offset_is_the_same_for_every_run_and_within_the_spread(alice, clock):
    jobs = [hourly(alice, title=f"Job {n}", spread_seconds=300) for n in range(40)]

    offsets = [job.spread_offset for job in jobs]
    assert all(timedelta(0) <= offset <= timedelta(seconds=300) for offset in offsets)
    assert len(set(offsets)) > 30  # spread over the window, not bunched
    for job, offset in zip(jobs, offsets, strict=True):
        job = reloaded(job)
        assert job.spread_offset == offset
        assert job.next_runs(3) == [
            SLOT + offset,
            SLOT + HOUR + offset,
            SLOT + 2 * HOUR + offset,
        ]


def test_no_spread_runs_on_the_slot(alice, clock):
    assert minutely(alice).next_run_at == SLOT


def test_the_tick_records_the_shifted_time_and_moves_to_the_next_shifted_one(alice, clock):
    job = minutely(alice, spread_seconds=30)
    offset = job.spread_offset

    tick.tick(now=SLOT + offset - timedelta(seconds=5))

    assert job.executions.get().scheduled_for == SLOT + offset
    assert reloaded(job).next_run_at == SLOT + MINUTE + offset


def test_changing_the_spread_moves_the_next_run(alice, clock):
    job = hourly(alice)

    job.spread_seconds = 300
    job.save()

    assert reloaded(job).next_run_at == SLOT + job.spread_offset


def test_lateness_is_measured_from_the_shifted_time(
    alice, target, sent, django_capture_on_commit_callbacks
):
    job = hourly(alice, url=target.url("/ok"), spread_seconds=300)
    # A job whose offset is long enough that lateness from the slot would show it.
    while job.spread_offset < timedelta(seconds=30):
        job.delete()
        job = hourly(alice, url=target.url("/ok"), spread_seconds=300)
    shifted = job.next_run_at

    with time_machine.travel(shifted - timedelta(seconds=1), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            tick.tick()
        with django_capture_on_commit_callbacks(execute=True):
            worker.run_batch(sent[0])

    execution = job.executions.get()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.scheduled_for == shifted
    assert target.requests[0].arrived_at >= shifted
    # From the slot it would be the offset, 30 s or more.
    assert 0 <= execution.lateness_ms < 5000
