"""ops/leases.py: a single-flight system task runs once an interval, however many beats
send it."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from jobs.engine import tasks
from jobs.models import Execution, Job
from ops import leases
from ops.models import Lease
from tests.conftest import make_job, race

NOW = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
INTERVAL = 10


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_of_racers_for_a_free_lease_exactly_one_takes_it(transactional_db):
    taken = race(lambda: leases.take("sweep", INTERVAL), count=8, seconds=30)

    assert sorted(taken) == [False] * 7 + [True]


def test_of_racers_for_an_expired_lease_exactly_one_takes_it(transactional_db):
    Lease.objects.create(name="sweep", holder="gone", expires_at=timezone.now())

    taken = race(lambda: leases.take("sweep", INTERVAL), count=8, seconds=30)

    assert sorted(taken) == [False] * 7 + [True]
    assert Lease.objects.get(name="sweep").holder != "gone"


def test_a_second_take_in_the_same_interval_is_turned_away(db, clock):
    assert leases.take("sweep", INTERVAL)
    clock.shift(timedelta(seconds=INTERVAL * leases.LEASE_SHARE - 0.1))

    assert not leases.take("sweep", INTERVAL)
    assert Lease.objects.get(name="sweep").expires_at == NOW + timedelta(seconds=8)


def test_once_the_lease_runs_out_another_takes_it_over(db, clock):
    Lease.objects.create(name="sweep", holder="a beat that died", expires_at=NOW)
    clock.shift(timedelta(seconds=0.1))

    assert leases.take("sweep", INTERVAL)
    lease = Lease.objects.get(name="sweep")
    assert lease.holder != "a beat that died"
    assert lease.expires_at == NOW + timedelta(seconds=8.1)


def test_leases_of_different_tasks_are_apart(db, clock):
    assert leases.take("sweep", INTERVAL)
    assert leases.take("pruning", INTERVAL)


def due(job: Job) -> None:
    Job.objects.filter(id=job.id).update(next_run_at=timezone.now())


def test_a_second_tick_in_the_same_interval_does_nothing(
    alice, clock, engine_settings, django_capture_on_commit_callbacks
):
    first, second = (make_job(alice, title=t, schedule="* * * * *") for t in ("A", "B"))
    due(first)
    with django_capture_on_commit_callbacks():
        tasks.dispatch_tick()
    due(second)
    clock.shift(timedelta(seconds=1))

    with django_capture_on_commit_callbacks():
        tasks.dispatch_tick()  # the other beat's, a second later

    assert list(Execution.objects.values_list("job__title", flat=True)) == ["A"]
    clock.shift(timedelta(seconds=settings.DISPATCH_INTERVAL_SECONDS))
    with django_capture_on_commit_callbacks():
        tasks.dispatch_tick()  # the next interval's
    assert sorted(Execution.objects.values_list("job__title", flat=True)) == ["A", "B"]


def test_the_lease_works_on_sqlite_too(tmp_path):
    # `make run`'s embedded default: one small upsert, no PostgreSQL-only locks.
    take_twice = "from ops import leases; print(leases.take('tick', 5), leases.take('tick', 5))"
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "SECRET_KEY": "x"}

    def manage(*command: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), **environment},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "--noinput", "ops")
    assert manage("shell", "--no-imports", "-c", take_twice).split() == ["True", "False"]
