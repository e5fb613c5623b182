"""The maintenance switch: dispatching pauses from the operator page, and when it resumes
each job gets one catch-up run and the slots before it are recorded as missed."""

import html
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django_celery_beat.models import PeriodicTask

from jobs.engine import tick, worker
from jobs.models import Execution, Job
from ops import maintenance
from tests.conftest import frozen_at, make_job

MAINTENANCE = "/operator/maintenance/"
OPERATOR = "/operator/"
# Half past the minute, so a slot found on resuming is more than a minute late.
START = datetime(2030, 3, 14, 12, 0, 30, tzinfo=UTC)
TICK = timedelta(seconds=5)
Status = Execution.Status
Trigger = Execution.Trigger
clock = frozen_at(START)
# Before the other fixtures: staff_client logs in on the virtual clock, or the session would
# have expired long before it.
pytestmark = pytest.mark.usefixtures("clock")
every_minute = partial(make_job, schedule="* * * * *")


@pytest.fixture
def schedules(db) -> None:
    call_command("setup_schedules", stdout=StringIO())


def dispatching_state(client: Client) -> str:
    response = client.get(OPERATOR)
    assert response.status_code == 200
    (state,) = re.findall(
        r'<p class="status[^"]*" role="status">(.*?)</p>', response.content.decode()
    )
    return html.unescape(state)


def switch(client: Client, paused: bool) -> None:
    response = client.post(MAINTENANCE, {"paused": "on" if paused else "off"})
    assert (response.status_code, response["Location"]) == (302, OPERATOR)


def tick_for(clock: time_machine.Traveller, duration: timedelta) -> list[int]:
    """Dispatch every TICK over `duration` of virtual time, as beat would; what each claimed."""
    claimed = []
    for _ in range(duration // TICK):
        clock.shift(TICK)
        claimed.append(tick.tick())
    return claimed


def test_paused_dispatching_claims_nothing_and_resuming_catches_up_once(
    schedules, staff_client, alice, clock
):
    job = every_minute(alice)
    assert job.next_run_at == datetime(2030, 3, 14, 12, 1, tzinfo=UTC)
    assert dispatching_state(staff_client) == "Running."

    switch(staff_client, paused=True)

    assert maintenance.dispatch_paused()
    assert not PeriodicTask.objects.get(name=maintenance.DISPATCH_TASK_NAME).enabled
    assert dispatching_state(staff_client).startswith("Paused")
    # Two minutes of ticks: the 12:01 and 12:02 slots fall due and nothing is claimed.
    assert tick_for(clock, timedelta(minutes=2)) == [0] * 24
    assert not Execution.objects.exists()
    job.refresh_from_db()
    assert job.next_run_at == datetime(2030, 3, 14, 12, 1, tzinfo=UTC)

    switch(staff_client, paused=False)
    assert dispatching_state(staff_client) == "Running."
    assert tick.tick() == 1  # at 12:02:30

    executions = list(Execution.objects.order_by("scheduled_for"))
    assert [(e.scheduled_for.time().isoformat(), e.status, e.trigger) for e in executions] == [
        ("12:01:00", Status.MISSED, Trigger.SCHEDULE),
        ("12:02:00", Status.PENDING, Trigger.CATCH_UP),
    ]
    assert executions[0].missed_count == 1
    job.refresh_from_db()
    assert job.next_run_at == datetime(2030, 3, 14, 12, 3, tzinfo=UTC)
    assert job.next_run_at > START + timedelta(minutes=2)

    # Dispatching goes on as usual: the 12:03 slot is claimed once, ahead of its second.
    assert sum(tick_for(clock, timedelta(seconds=30))) == 1
    slots_between = 3  # 12:01, 12:02, 12:03
    accounted = sum(
        e.missed_count if e.status == Status.MISSED else 1 for e in Execution.objects.all()
    )
    assert accounted == slots_between
    assert Execution.objects.filter(status=Status.PENDING).count() == 2


def test_a_longer_pause_is_one_catch_up_run_and_one_missed_row_counting_the_rest(
    schedules, staff_client, alice, bob, clock
):
    jobs = [every_minute(alice), every_minute(bob)]
    switch(staff_client, paused=True)

    assert sum(tick_for(clock, timedelta(minutes=10))) == 0
    switch(staff_client, paused=False)
    assert tick.tick() == 2  # at 12:10:30; slots 12:01 … 12:10 fell due

    for job in jobs:
        rows = {e.status: e for e in Execution.objects.filter(job=job)}
        assert set(rows) == {Status.MISSED, Status.PENDING}
        assert rows[Status.MISSED].scheduled_for == datetime(2030, 3, 14, 12, 1, tzinfo=UTC)
        assert rows[Status.MISSED].missed_count == 9
        assert rows[Status.PENDING].scheduled_for == datetime(2030, 3, 14, 12, 10, tzinfo=UTC)
        assert rows[Status.PENDING].trigger == Trigger.CATCH_UP
        job.refresh_from_db()
        assert job.next_run_at == datetime(2030, 3, 14, 12, 11, tzinfo=UTC)


def test_executions_queued_before_the_pause_still_run(
    schedules, staff_client, alice, clock, target, private_targets
):
    job = every_minute(alice)
    Job.objects.filter(id=job.id).update(url=target.url("/ok"))
    clock.shift(timedelta(seconds=20))  # 12:00:50: the 12:01 slot is within the horizon
    assert tick.tick() == 1
    switch(staff_client, paused=True)
    clock.shift(timedelta(seconds=10))

    worker.run_batch(list(Execution.objects.values_list("id", flat=True)))

    assert Execution.objects.get().status == Status.SUCCEEDED
    assert len(target.requests) == 1


def test_the_admin_switch_pauses_dispatching_too(schedules, alice, clock):
    every_minute(alice)
    task = PeriodicTask.objects.get(name=maintenance.DISPATCH_TASK_NAME)
    task.enabled = False
    task.save()

    assert tick_for(clock, timedelta(minutes=1)) == [0] * 12
    assert not Execution.objects.exists()


def test_without_the_system_schedules_the_switch_says_it_cannot_pause(db, staff, client):
    client.force_login(staff)

    response = client.post(MAINTENANCE, {"paused": "on"}, follow=True)

    assert not maintenance.dispatch_paused()
    assert "setup_schedules" in html.unescape(response.content.decode())
    assert "Dispatching is paused" not in html.unescape(response.content.decode())


@pytest.mark.parametrize("member", ["alice", "bob"])
def test_members_cannot_pause_dispatching(schedules, client, member, request):
    client.force_login(request.getfixturevalue(member))

    response = client.post(MAINTENANCE, {"paused": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not maintenance.dispatch_paused()
