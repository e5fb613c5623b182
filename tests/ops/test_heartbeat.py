"""The heartbeat: a real Celery worker records that it is alive, and its schedule is set up once."""

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from cronsvc import celery_app, task_names
from ops.management.commands.setup_schedules import QUEUE_HEARTBEAT_SECONDS
from ops.models import Heartbeat
from tests.processes import database_url


def wait_for(found: Callable[[], object], *, worker: subprocess.Popen, seconds: float) -> object:
    """Poll until found() returns something, the worker exits, or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.poll() is None:
        result = found()
        if result:
            return result
        time.sleep(0.1)
    return None


@pytest.mark.slow
def test_a_worker_records_its_heartbeat(transactional_db, tmp_path: Path):
    assert connection.vendor == "postgresql", "the worker needs the same database as the test"
    hostname = f"heartbeat-{uuid.uuid4().hex[:8]}@test"
    # A message left in the queue by an earlier run would prove nothing about this worker.
    celery_app.control.purge()
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [
                str(settings.BASE_DIR / ".venv" / "bin" / "celery"),
                "-A",
                "cronsvc",
                "worker",
                "--hostname",
                hostname,
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            },
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        sent_at_least_at = time.time()
        celery_app.send_task(task_names.HEARTBEAT)

        heartbeat = wait_for(
            lambda: Heartbeat.objects.filter(process=f"worker:{hostname}").first(),
            worker=worker,
            seconds=30,
        )

        assert heartbeat is not None, f"no heartbeat from the worker; its log:\n{log.read_text()}"
        assert heartbeat.seen_at.timestamp() >= sent_at_least_at - 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def setup_schedules() -> str:
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    return out.getvalue()


def test_setup_schedules_creates_the_heartbeat_task_once(db):
    assert "heartbeat: created" in setup_schedules()
    assert "heartbeat: already there" in setup_schedules()

    task = PeriodicTask.objects.get(name="heartbeat")
    assert task.task == task_names.HEARTBEAT
    assert task.enabled
    assert task.interval.every == QUEUE_HEARTBEAT_SECONDS
    assert task.interval.period == IntervalSchedule.SECONDS
    # One more on the execution workers' queue, so they prove they are alive too.
    queues = PeriodicTask.objects.filter(task=task_names.HEARTBEAT).values_list("queue", flat=True)
    assert sorted(queues, key=str) == sorted([None, settings.EXECUTIONS_QUEUE], key=str)


def test_setup_schedules_leaves_an_operators_changes_alone(db):
    setup_schedules()
    task = PeriodicTask.objects.get(name="heartbeat")
    task.interval = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    task.enabled = False
    task.save()

    setup_schedules()

    task = PeriodicTask.objects.get(name="heartbeat")
    assert task.interval.every == 300
    assert not task.enabled
