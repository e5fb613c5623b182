"""/metrics: counters and histograms moved by real work, gauges read from the database,
and nobody without the token gets in.

Counters live in PROMETHEUS_MULTIPROC_DIR, which other test runs on this machine (and
earlier runs) write to as well, so tests compare a scrape before with one after, and
each scrape reads only this process's files (see `scrape`).
"""

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts import delivery
from alerts.models import Delivery
from jobs.engine import health, recovery, run_now, tick, worker
from jobs.engine.firing import FiringLoop
from jobs.models import Execution, Job
from jobs.outbound import circuits, http
from ops import liveness, metrics
from ops.models import Heartbeat
from tests.conftest import make_job, page_text
from tests.target import Target

Status = Execution.Status
TOKEN = "t"
# name, then the labels sorted: ("cronsvc_executions_total", (("reason", "none"), ...))
SampleKey = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[SampleKey, float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; one that is not there yet counts as 0, as Prometheus's rate() does."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def this_process_only(directory: Path) -> Path:
    """A directory holding only this process's metric files (symlinks, so they stay live).

    prometheus_client opens its files once, per process (named by host and pid), in the
    directory set when the first metric was made; pointing the scrape at a view of just
    those files keeps another pytest run writing to the same directory out of the numbers.
    """
    shared = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    mirror = directory / f"metrics-{uuid.uuid4().hex}"
    mirror.mkdir()
    for file in shared.glob(f"*_{metrics.process_identifier()}.db"):
        (mirror / file.name).symlink_to(file)
    return mirror


def fetch(monkeypatch: pytest.MonkeyPatch, directory: Path) -> str:
    """GET /metrics as Prometheus would, with the token (METRICS_TOKEN must be TOKEN)."""
    with monkeypatch.context() as patch:
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(this_process_only(directory)))
        response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture
def scrape(settings, monkeypatch, tmp_path) -> Callable[[], Samples]:
    settings.METRICS_TOKEN = TOKEN
    return lambda: parse(fetch(monkeypatch, tmp_path))


pytestmark = pytest.mark.usefixtures("engine_settings")


def run_manually(*jobs: Job) -> list[Execution]:
    """Run the jobs as a member's "Run now" does, in one worker batch."""
    executions = [run_now.run_now(job) for job in jobs]
    worker.run_batch([e.id for e in executions])
    return [Execution.objects.get(id=e.id) for e in executions]


def test_finished_executions_move_the_counters_and_histograms(alice, target: Target, scrape):
    ok_job = make_job(alice, url=target.url("/ok"))
    failing_job = make_job(alice, url=target.url("/status/500"))
    before = scrape()

    succeeded, failed = run_manually(ok_job, failing_job)

    after = scrape()
    assert (succeeded.status, failed.status) == (Status.SUCCEEDED, Status.FAILED)
    assert failed.failure_reason == Execution.Reason.HTTP_STATUS

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    executions = "cronsvc_executions_total"
    assert moved(executions, status="succeeded", reason="none") == 1
    assert moved(executions, status="failed", reason="http_status") == 1
    assert moved(executions, status="failed", reason="timeout") == 0
    assert moved("cronsvc_execution_lateness_seconds_count") == 2
    assert moved("cronsvc_execution_duration_seconds_count") == 2
    # Both were sent within seconds of their slot and answered within seconds.
    assert moved("cronsvc_execution_lateness_seconds_bucket", le="10.0") == 2
    assert moved("cronsvc_execution_duration_seconds_bucket", le="10.0") == 2
    assert moved("cronsvc_execution_lateness_seconds_bucket", le="+Inf") == 2
    durations = (succeeded.duration_ms + failed.duration_ms) / 1000
    assert moved("cronsvc_execution_duration_seconds_sum") == pytest.approx(durations, abs=0.002)


def test_a_dispatch_tick_counts_the_jobs_it_claimed(alice, scrape):
    for _ in range(2):
        make_job(alice)
    health.set_enabled(make_job(alice), False)
    Job.objects.filter(enabled=True).update(next_run_at=timezone.now())
    before = scrape()

    claimed = tick.tick()

    after = scrape()
    assert claimed == 2
    assert (
        value(after, "cronsvc_dispatch_claimed_total")
        - value(before, "cronsvc_dispatch_claimed_total")
        == 2
    )
    assert (
        value(after, "cronsvc_dispatch_tick_seconds_count")
        - value(before, "cronsvc_dispatch_tick_seconds_count")
        == 1
    )


def test_notification_emails_are_counted_as_sent(alice, target: Target, scrape, mailoutbox):
    run_manually(make_job(alice, url=target.url("/status/500")))
    before = scrape()

    report = delivery.deliver_pending()

    after = scrape()
    assert report.sent == 1
    assert len(mailoutbox) == 1
    assert (
        value(after, "cronsvc_emails_total", result="sent")
        - value(before, "cronsvc_emails_total", result="sent")
        == 1
    )
    assert value(after, "cronsvc_emails_total", result="failed") == value(
        before, "cronsvc_emails_total", result="failed"
    )


def test_notification_emails_the_smtp_server_refuses_are_counted_as_failed(
    alice, target: Target, scrape, settings, closed_port
):
    run_manually(make_job(alice, url=target.url("/status/500")))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 5
    before = scrape()

    report = delivery.deliver_pending()

    after = scrape()
    assert report.failed == 1
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    assert (
        value(after, "cronsvc_emails_total", result="failed")
        - value(before, "cronsvc_emails_total", result="failed")
        == 1
    )


def test_recovery_sweep_actions_are_counted(alice, scrape):
    job = make_job(alice)
    now = timezone.now()
    # A message the broker lost: pending, sent ten minutes ago.
    lost = Execution.objects.create(
        job=job, scheduled_for=now - timedelta(minutes=10), enqueued_at=now - timedelta(minutes=10)
    )
    # A worker that died mid-request: running for ten minutes.
    abandoned = Execution.objects.create(
        job=job,
        scheduled_for=now - timedelta(minutes=11),
        status=Status.RUNNING,
        started_at=now - timedelta(minutes=10),
    )
    before = scrape()

    report = recovery.sweep()

    after = scrape()
    assert (report.requeued, report.abandoned) == (1, 1)
    lost.refresh_from_db()
    abandoned.refresh_from_db()
    assert lost.status == Status.PENDING and lost.enqueued_at >= now
    assert (abandoned.status, abandoned.failure_reason) == (Status.FAILED, "worker_lost")
    for action in ("requeued", "abandoned"):
        moved = value(after, "cronsvc_recovery_actions_total", action=action) - value(
            before, "cronsvc_recovery_actions_total", action=action
        )
        assert moved == 1, action


NOW = datetime(2030, 3, 14, 12, 30, 20, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_gauges_are_read_from_the_database_at_scrape_time(alice, bob, scrape):
    on_time = make_job(alice)
    stale = make_job(alice)
    just_due = make_job(bob)
    make_job(bob, enabled=False)
    Job.objects.filter(id=stale.id).update(next_run_at=NOW - timedelta(minutes=3))
    Job.objects.filter(id=just_due.id).update(next_run_at=NOW - timedelta(minutes=1))
    for minutes_ago, status in [(1, Status.SUCCEEDED), (2, Status.SUCCEEDED), (3, Status.FAILED)]:
        Execution.objects.create(
            job=on_time, scheduled_for=NOW - timedelta(minutes=minutes_ago), status=status
        )
    Execution.objects.create(job=on_time, scheduled_for=NOW, status=Status.PENDING)
    # Out of the last hour: not counted.
    Execution.objects.create(
        job=on_time, scheduled_for=NOW - timedelta(hours=2), status=Status.SUCCEEDED
    )
    Heartbeat.record("beat", NOW - timedelta(seconds=90))
    Heartbeat.record("worker:w1@host", NOW - timedelta(seconds=5))

    samples = scrape()

    assert value(samples, "cronsvc_jobs_enabled") == 3
    assert value(samples, "cronsvc_jobs_stale") == 1
    by_state = {
        state: value(samples, "cronsvc_executions_by_state", state=state) for state in Status.values
    }
    assert by_state == {
        "pending": 1,
        "running": 0,
        "succeeded": 2,
        "failed": 1,
        "skipped": 0,
        "missed": 0,
    }
    assert value(samples, "cronsvc_heartbeat_age_seconds", process="beat") == 90
    assert value(samples, "cronsvc_heartbeat_age_seconds", process="worker:w1@host") == 5


@pytest.mark.parametrize(
    ("token", "authorization"),
    [
        ("t", None),
        ("t", "Bearer wrong"),
        ("t", "Bearer "),
        ("t", "Basic dDp0"),
        ("t", "t"),  # the token without the scheme
        ("t", "Bearer t t"),
        ("", "Bearer "),
        ("", "Bearer t"),
    ],
)
def test_it_refuses_a_scrape_without_the_token(db, client, settings, token, authorization):
    settings.METRICS_TOKEN = token
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert b"cronsvc_" not in response.content


WORKER_COUNTS = """
import django
django.setup()
from ops import metrics
metrics.EMAILS.labels("sent").inc(3)
metrics.EXECUTIONS.labels("failed", "timeout").inc()
"""


def test_it_adds_up_what_other_processes_counted(db, client, settings, tmp_path, monkeypatch):
    # Another process (a worker, say) counts into the shared directory and exits.
    shared = tmp_path / "shared"
    shared.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    environment["DJANGO_SETTINGS_MODULE"] = "cronsvc.settings"
    subprocess.run([sys.executable, "-c", WORKER_COUNTS], env=environment, check=True)
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    samples = parse(response.content.decode())
    assert value(samples, "cronsvc_emails_total", result="sent") == 3
    assert value(samples, "cronsvc_executions_total", status="failed", reason="timeout") == 1


def test_each_process_writes_files_named_by_its_host_and_pid(db, scrape):
    # Containers sharing the directory all have a pid 1; the host keeps their files apart.
    scrape()
    shared = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    own = f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"

    assert (shared / f"counter_{own}.db").exists()
    assert (shared / f"histogram_{own}.db").exists()
    assert not (shared / f"counter_{os.getpid()}.db").exists()


def test_a_workers_open_circuits_show_here_and_on_the_operator_page_until_they_close(
    target: Target, scrape, staff_client, settings
):
    """A worker process's firing loop meets a host that does not answer; its heartbeat
    publishes the open circuit, and a good probe after the cool-off closes it again."""
    settings.CIRCUIT_FAILURES = 3
    host = f"127.0.0.1:{target.port}"
    loop = FiringLoop()

    def send(path: str) -> http.Outcome:
        request = http.Request(execution_id="1", method="GET", url=target.url(path), timeout=0.5)
        return loop.submit(lambda client: client.send(request)).result()

    def heartbeat() -> None:
        liveness.record_heartbeat("worker:executions@host-1", "instance-1", loop.open_circuits)

    def operator_page() -> str:
        return page_text(staff_client.get("/operator/"))

    try:
        assert [send("/hang").failure_reason for _ in range(3)] == ["timeout"] * 3
        heartbeat()

        assert value(scrape(), "cronsvc_open_circuits", host=host) == 1
        page = operator_page()
        assert (
            f"Open circuits Host Worker Open since Cool-off until Failures in a row {host}" in page
        )
        (published,) = Heartbeat.objects.get(instance="instance-1").open_circuits
        assert published["failures"] == 3
        since, until = (datetime.fromisoformat(published[key]) for key in ("since", "until"))
        assert abs((until - since).total_seconds() - circuits.FIRST_COOL_OFF) < 0.01

        # The cool-off passes: the next request is the probe, and the host answers.
        later = loop.client.breakers.clock() + circuits.FIRST_COOL_OFF + 1
        loop.client.breakers.clock = lambda: later
        assert send("/ok").succeeded
        heartbeat()

        assert ("cronsvc_open_circuits", (("host", host),)) not in scrape()
        assert "Open circuits None: every worker tries every host." in operator_page()
    finally:
        loop.close()
