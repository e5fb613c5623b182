"""The fault campaign: faults injected at chosen seconds into real beat and worker processes,
each costing no more than the slot in flight. Servers a fault restarts are private ones.

Every scenario runs 20 every-minute jobs against a local target. Their first slot, B, is
set a few seconds ahead; the next, C, is the minute after it, at least 25 s later.
"""

from collections import Counter
from datetime import datetime, timedelta
from functools import partial

import pytest
from django.utils import timezone

from jobs.models import Execution, Job
from jobs.outbound import http
from tests.conftest import make_job
from tests.processes import Engine, flush_broker
from tests.servers import PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.slow
Status = Execution.Status
JOBS = 20
minutely = partial(make_job, schedule="* * * * *", timezone="UTC", timeout_seconds=10)


def two_slots() -> tuple[datetime, datetime]:
    """B a little ahead (its batch claimed by the tick first), and C, the next minute."""
    now = timezone.now()
    c = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while c - now < timedelta(seconds=45):
        c += timedelta(minutes=1)
    return c - timedelta(seconds=25), c


def due_at(slot: datetime, jobs: list[Job]) -> None:
    Job.objects.filter(id__in=[job.id for job in jobs]).update(next_run_at=slot)


def at(engine: Engine, moment: datetime) -> None:
    """Wait for a wall-clock moment (the fault's second), watching the processes."""
    engine.wait_until(lambda: timezone.now() >= moment, what=f"{moment:%H:%M:%S}", seconds=120)


def runs_at(slot: datetime) -> list[Execution]:
    return list(Execution.objects.filter(scheduled_for=slot).order_by("job_id"))


def arrivals_for(target, executions: list[Execution]) -> list:
    ids = {str(e.id) for e in executions}
    return [a for a in target.requests if a.headers.get(http.EXECUTION_HEADER) in ids]


def claimed_by_one_worker(engine: Engine, slot: datetime) -> str:
    """Wait for the tick and a worker to claim slot B's batch; the worker's name."""
    engine.wait_until(
        lambda: (
            len(runs_at(slot)) == JOBS and all(e.status == Status.RUNNING for e in runs_at(slot))
        ),
        what="slot B's batch to be claimed",
        seconds=120,  # B may be more than a minute ahead
    )
    (claimer,) = {e.claimed_by for e in runs_at(slot)}
    return claimer.removeprefix("worker:").split("-")[0]


@pytest.fixture
def minutely_jobs(transactional_db, alice, target) -> list[Job]:
    flush_broker()
    return [minutely(alice, url=target.url("/ok"), title=f"Ping {n}") for n in range(JOBS)]


def start(engine: Engine, *executions_workers: str) -> None:
    engine.start_worker("system", queues="system")
    for name in executions_workers:
        engine.start_worker(name, queues="executions", concurrency=8)
    engine.start_beat()


def test_a_worker_killed_before_its_batchs_second_costs_no_slot(minutely_jobs, target, tmp_path):
    b, c = two_slots()
    with Engine(tmp_path, RECOVERY_INTERVAL_SECONDS="1") as engine:
        start(engine, "alpha", "bravo")
        due_at(b, minutely_jobs)
        claimer = claimed_by_one_worker(engine, b)
        at(engine, b - timedelta(seconds=3))

        engine.kill(claimer)

        # Within seconds its runs are known lost, and known not sent: missed, each job
        # caught up once by the live worker.
        engine.wait_until(
            lambda: all(e.status == Status.MISSED for e in runs_at(b)), what="B missed"
        )
        assert max(e.finished_at for e in runs_at(b)) < b + timedelta(seconds=15)
        catch_ups = Execution.objects.filter(trigger=Execution.Trigger.CATCH_UP)
        engine.wait_until(
            lambda: catch_ups.filter(status=Status.SUCCEEDED).count() == JOBS,
            what="the catch-ups",
        )
        # The next slot, on time: nothing skipped behind the dead worker's runs.
        at(engine, c)
        engine.wait_until(
            lambda: all(e.status == Status.SUCCEEDED for e in runs_at(c)) and runs_at(c),
            what="slot C",
        )

    assert arrivals_for(target, runs_at(b)) == []
    assert all(e.error.startswith("Not sent: its worker stopped") for e in runs_at(b))
    assert Counter(e.job_id for e in catch_ups) == Counter(job.id for job in minutely_jobs)
    assert len(arrivals_for(target, runs_at(c))) == JOBS
    assert max(e.lateness_ms for e in runs_at(c)) < 1000


def test_a_worker_survives_losing_redis_and_the_next_minute_runs(minutely_jobs, target, tmp_path):
    b, c = two_slots()
    with PrivateRedis() as redis, Engine(tmp_path, CELERY_BROKER_URL=redis.url()) as engine:
        start(engine, "alpha")
        due_at(b, minutely_jobs)
        claimed_by_one_worker(engine, b)
        at(engine, b - timedelta(seconds=5))

        redis.kill()
        at(engine, b + timedelta(seconds=5))
        redis.start()  # empty

        at(engine, c)
        engine.wait_until(
            lambda: all(e.status == Status.SUCCEEDED for e in runs_at(c)) and runs_at(c),
            what="slot C",
        )
        assert engine.processes["alpha"].poll() is None

    # B was in the worker's hands when Redis went: it fired and was recorded all the same.
    assert [e.status for e in runs_at(b)] == [Status.SUCCEEDED] * JOBS
    assert len(arrivals_for(target, runs_at(b) + runs_at(c))) == 2 * JOBS
    assert "Unrecoverable error" not in engine.log("alpha")


def test_a_slot_delivered_across_a_database_restart_is_recorded_succeeded(
    transactional_db, target, tmp_path
):
    with PrivatePostgres() as postgres, Engine(tmp_path, DATABASE_URL=postgres.url()) as engine:
        engine.manage("migrate", "--noinput")
        engine.manage(
            "shell",
            "-c",
            "from accounts.models import User; from jobs.models import Job; "
            "from accounts.projects import personal_project; "
            "dave = User.objects.create_user('dave@example.org', 'pw'); "
            "project = personal_project(dave); "
            f"[Job.objects.create(user=dave, project=project, title=f'Ping {{n}}', "
            f"url={target.url('/ok')!r}, "
            "schedule='0 0 1 1 *', timezone='UTC') for n in range(20)]",
        )
        start(engine, "alpha")
        slot = (timezone.now() + timedelta(seconds=20)).replace(microsecond=0)
        engine.sql("UPDATE jobs_job SET next_run_at = %s", slot)
        engine.wait_until(
            lambda: (
                engine.sql("SELECT count(*) FROM jobs_execution WHERE status = 'running'")[0][0]
                == JOBS
            ),
            what="the batch to be claimed",
        )
        at(engine, slot - timedelta(seconds=2))

        postgres.restart()

        engine.wait_until(
            lambda: (
                engine.sql(
                    "SELECT count(*) FROM jobs_execution WHERE status NOT IN ('pending', 'running')"
                )[0][0]
                == JOBS
            ),
            what="the results",
            seconds=60,
        )
        rows = engine.sql("SELECT status, failure_reason, lateness_ms FROM jobs_execution")

    assert len(target.requests) == JOBS
    assert {(status, reason) for status, reason, _ in rows} == {("succeeded", "")}
    assert max(lateness for _, _, lateness in rows) < 1000


def test_a_worker_stopped_past_its_slots_never_fires_them_late(minutely_jobs, target, tmp_path):
    # "Stopped for 100 s" scaled down: stale after 10 s, missed after 15 s.
    b, c = two_slots()
    environment = {"RECOVERY_INTERVAL_SECONDS": "1", "MISSED_AFTER_SECONDS": "15"}
    with Engine(tmp_path, **environment) as engine:
        start(engine, "alpha", "bravo")
        due_at(b, minutely_jobs)
        claimer = claimed_by_one_worker(engine, b)
        at(engine, b - timedelta(seconds=3))

        engine.pause(claimer)
        at(engine, b + timedelta(seconds=20))
        engine.resume(claimer)

        at(engine, c)
        engine.wait_until(
            lambda: all(e.status == Status.SUCCEEDED for e in runs_at(c)) and runs_at(c),
            what="slot C",
        )

    assert [e.status for e in runs_at(b)] == [Status.MISSED] * JOBS
    assert arrivals_for(target, runs_at(b)) == []
    for arrival in target.requests:
        execution = Execution.objects.get(id=int(arrival.headers[http.EXECUTION_HEADER]))
        if execution.trigger == Execution.Trigger.SCHEDULE:
            assert arrival.arrived_at - execution.scheduled_for < timedelta(seconds=2)


def test_a_saturated_pool_records_the_real_lateness_and_what_never_left(
    transactional_db, alice, target, tmp_path
):
    jobs = [
        make_job(alice, url=target.url("/slow/2"), title=f"Slow {n}", timeout_seconds=3)
        for n in range(3)
    ]
    with Engine(tmp_path, CONNECTIONS_PER_HOST="1") as engine:
        start(engine, "alpha")
        slot = (timezone.now() + timedelta(seconds=18)).replace(microsecond=0)
        due_at(slot, jobs)
        engine.wait_until(
            lambda: len(runs_at(slot)) == 3 and all(e.is_finished for e in runs_at(slot)),
            what="the three runs",
            seconds=60,
        )

    executions = sorted(runs_at(slot), key=lambda e: (e.sent_at is None, e.sent_at))
    arrivals = {int(a.headers[http.EXECUTION_HEADER]): a.arrived_at for a in target.requests}
    first, second, never = executions
    assert first.status == Status.SUCCEEDED
    # The second waited for the one connection: its lateness says so.
    assert second.error == "Sent, but no complete response within 3 s."
    assert arrivals[second.id] - slot >= timedelta(seconds=2)
    for sent in (first, second):
        delay_ms = (arrivals[sent.id] - slot).total_seconds() * 1000
        assert sent.lateness_ms >= delay_ms - 50  # clocks of one machine, a request apart
    # The third never got a connection: not sent, and late until it was given up.
    assert (never.status, never.failure_reason) == (Status.FAILED, "timeout")
    assert never.error == "Not sent: no connection to the host within 3 s."
    assert never.sent_at is None and never.id not in arrivals
    assert never.lateness_ms >= 3000
