"""The operator page (/operator/, staff only): states, lateness, stale jobs, recent errors,
heartbeats, and the re-queue button. The maintenance switch has tests/test_maintenance.py."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from celery.signals import after_task_publish

from cronsvc import task_names
from jobs.models import Execution, Job
from ops.models import Heartbeat
from tests.conftest import frozen_at, html_text, make_job, page_text, table_rows

OPERATOR = "/operator/"
REQUEUE = "/operator/requeue/"
NOW = datetime(2030, 3, 14, 12, 30, 20, tzinfo=UTC)
WORKER = "worker:celery@host-1"
Status = Execution.Status
Reason = Execution.Reason
clock = frozen_at(NOW)
pytestmark = pytest.mark.usefixtures("clock")


def section(response, heading: str) -> str:
    """The text from an <h2> heading to the next one (or the end of the content)."""
    page = response.content.decode()
    match = re.search(rf"<h2>{re.escape(heading)}</h2>(.*?)(?=<h2>|</main>)", page, re.DOTALL)
    assert match, heading
    return html_text(match.group(1))


def table_under(response, heading: str) -> list[list[str]]:
    page = response.content.decode()
    match = re.search(rf"<h2>{re.escape(heading)}</h2>\s*<table>(.*?)</table>", page, re.DOTALL)
    assert match, heading
    return table_rows(match.group(1))


def failed(job: Job, *, reason: str, finished_ago: timedelta, error: str = "") -> Execution:
    finished_at = NOW - finished_ago
    return Execution.objects.create(
        job=job,
        scheduled_for=finished_at - timedelta(seconds=5),
        status=Status.FAILED,
        failure_reason=reason,
        started_at=finished_at - timedelta(seconds=2),
        finished_at=finished_at,
        error=error,
        enqueued_at=finished_at - timedelta(seconds=10),
    )


def test_it_shows_beat_stale_once_its_heartbeat_stops(staff_client, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)
    assert "beat: alive" in page_text(staff_client.get(OPERATOR))

    # Beat dies; the worker goes on.
    clock.shift(timedelta(seconds=90))
    Heartbeat.record(WORKER, NOW + timedelta(seconds=90))
    text = page_text(staff_client.get(OPERATOR))

    assert "beat: stale" in text
    assert f"{WORKER}: alive" in text


def test_it_says_when_no_process_has_recorded_a_heartbeat(staff_client):
    assert "No heartbeat yet" in page_text(staff_client.get(OPERATOR))


@pytest.mark.parametrize("member", ["alice", "bob"])
def test_members_are_sent_to_the_admin_login(client, member, request):
    client.force_login(request.getfixturevalue(member))

    response = client.get(OPERATOR)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={OPERATOR}"


def test_visitors_are_sent_to_the_admin_login(db, client):
    response = client.get(OPERATOR)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_alice_cannot_requeue(alice_client, alice):
    execution = failed(make_job(alice), reason=Reason.WORKER_LOST, finished_ago=timedelta(hours=1))

    response = alice_client.post(REQUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    execution.refresh_from_db()
    assert execution.status == Status.FAILED


def test_it_counts_executions_by_state_in_the_last_hour_and_day(staff_client, alice):
    job = make_job(alice)
    for minutes_ago, status in [
        (1, Status.SUCCEEDED),
        (2, Status.SUCCEEDED),
        (3, Status.FAILED),
        (90, Status.SUCCEEDED),
        (120, Status.MISSED),
        (60 * 25, Status.FAILED),  # older than a day: in neither column
    ]:
        Execution.objects.create(
            job=job, scheduled_for=NOW - timedelta(minutes=minutes_ago), status=status
        )

    rows = table_under(staff_client.get(OPERATOR), "Executions by state")

    assert rows == [
        ["pending", "0", "0"],
        ["running", "0", "0"],
        ["succeeded", "2", "3"],
        ["failed", "1", "1"],
        ["skipped", "0", "0"],
        ["missed", "0", "1"],
    ]


def test_it_shows_lateness_percentiles_and_throughput_of_the_last_hour(staff_client, alice):
    job = make_job(alice)
    for n in range(1, 11):
        scheduled_for = NOW - timedelta(minutes=n)
        Execution.objects.create(
            job=job,
            scheduled_for=scheduled_for,
            status=Status.SUCCEEDED,
            started_at=scheduled_for + timedelta(milliseconds=10 * n),
            lateness_ms=10 * n,
        )
    # Started two hours ago: not in the last hour.
    Execution.objects.create(
        job=job,
        scheduled_for=NOW - timedelta(hours=2),
        status=Status.SUCCEEDED,
        started_at=NOW - timedelta(hours=2),
        lateness_ms=5000,
    )

    text = page_text(staff_client.get(OPERATOR))

    # 10 in 3,600 s; p50 and p99 interpolated between 10, 20, …, 100 ms.
    assert "Executions started 10 (0.00 a second)" in text
    assert "Lateness p50 55 ms" in text
    assert "Lateness p99 99 ms" in text


def test_it_lists_jobs_well_past_their_next_run(staff_client, alice, bob):
    stale = make_job(alice, title="Nightly export")
    just_due = make_job(bob, title="Ping")
    Job.objects.filter(id=stale.id).update(next_run_at=NOW - timedelta(minutes=3))
    Job.objects.filter(id=just_due.id).update(next_run_at=NOW - timedelta(minutes=1))

    rows = table_under(staff_client.get(OPERATOR), "Stale jobs")

    assert rows == [
        [f"Nightly export (#{stale.id})", "alice@example.org", "2030-03-14 12:27:20 UTC"]
    ]


def test_it_says_when_no_job_is_stale(staff_client, alice):
    make_job(alice)

    assert section(staff_client.get(OPERATOR), "Stale jobs").startswith("None")


def test_recent_errors_leave_out_the_targets_own_statuses(staff_client, alice):
    # Reasons as the logs and the metrics' labels spell them, so an operator can grep.
    job = make_job(alice, title="Nightly export")
    failed(job, reason=Reason.HTTP_STATUS, finished_ago=timedelta(minutes=1))
    failed(job, reason=Reason.DNS, finished_ago=timedelta(minutes=2), error="No such host.")
    failed(
        job,
        reason=Reason.INTERNAL,
        finished_ago=timedelta(minutes=3),
        error="The worker stopped while running this execution.",
    )

    rows = table_under(staff_client.get(OPERATOR), "Recent errors")

    assert [row[1:] for row in rows] == [
        [f"Nightly export (#{job.id})", "dns", "No such host."],
        [
            f"Nightly export (#{job.id})",
            "internal",
            "The worker stopped while running this execution.",
        ],
    ]
    assert rows[0][0] == "2030-03-14 12:28:20"


@pytest.fixture
def published() -> Iterator[list[tuple[str, list]]]:
    """Task messages this process hands to the broker (name and args), from Celery's
    after_task_publish signal: a consumer elsewhere on a shared test broker may take the
    messages themselves before a test could read them back."""
    sent: list[tuple[str, list]] = []

    def record(sender: str, body: tuple, **kwargs: object) -> None:
        args, _kwargs, _embed = body
        sent.append((sender, args))

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


def test_requeue_sends_executions_abandoned_by_a_dead_worker_once_more(
    staff_client, alice, django_capture_on_commit_callbacks, published
):
    job = make_job(alice)
    abandoned = [
        failed(job, reason=Reason.WORKER_LOST, finished_ago=timedelta(minutes=n)) for n in (5, 60)
    ]
    too_old = failed(job, reason=Reason.WORKER_LOST, finished_ago=timedelta(days=1, minutes=1))
    target_said_no = failed(job, reason=Reason.HTTP_STATUS, finished_ago=timedelta(minutes=3))
    timed_out = failed(job, reason=Reason.TIMEOUT, finished_ago=timedelta(minutes=4))
    # Could not be built: sent again, it would fail the same way and count again.
    unbuildable = failed(job, reason=Reason.INTERNAL, finished_ago=timedelta(minutes=6))
    assert "Re-queue 2 executions abandoned by a dead worker" in page_text(
        staff_client.get(OPERATOR)
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(REQUEUE, follow=True)

    assert response.redirect_chain == [(OPERATOR, 302)]
    assert "2 execution(s) sent to the workers again." in page_text(response)
    assert len(callbacks) == 1
    for execution in abandoned:
        execution.refresh_from_db()
        assert (execution.status, execution.failure_reason) == (Status.PENDING, "")
        assert (execution.started_at, execution.finished_at, execution.error) == (None, None, "")
        assert execution.enqueued_at == NOW
    for execution in (too_old, target_said_no, timed_out, unbuildable):
        status = execution.status
        execution.refresh_from_db()
        assert execution.status == status == Status.FAILED
    assert published == [(task_names.EXECUTE_BATCH, [sorted(e.id for e in abandoned)])]
    assert "Re-queue 0 executions" in page_text(staff_client.get(OPERATOR))


def test_requeue_needs_a_post(staff_client, alice):
    execution = failed(make_job(alice), reason=Reason.WORKER_LOST, finished_ago=timedelta(hours=1))

    assert staff_client.get(REQUEUE).status_code == 405
    execution.refresh_from_db()
    assert execution.status == Status.FAILED
