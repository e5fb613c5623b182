"""Invariant 5: results move a job between ok, failing and disabled, one HealthChange a move."""

from functools import partial

import pytest
from django.utils import timezone

from alerts import delivery
from alerts.models import Delivery
from jobs.engine import worker
from jobs.models import Execution, HealthChange, Job
from tests.conftest import make_job, reloaded
from tests.target import Target

Kind = HealthChange.Kind
pytestmark = pytest.mark.usefixtures("engine_settings")  # disabled after 25 failures
backup = partial(
    make_job, title="Backup", url="http://127.0.0.1:9/", schedule="* * * * *", timezone="UTC"
)


class Runs:
    """Runs one job's slots, one batch each, against a path on the target."""

    def __init__(self, job: Job, target: Target) -> None:
        self.job, self.target = job, target

    def run(self, path: str) -> Execution:
        Job.objects.filter(id=self.job.id).update(url=self.target.url(path))
        # Each slot due now, so none is too late to send.
        execution = Execution.objects.create(
            job=self.job, scheduled_for=timezone.now(), enqueued_at=timezone.now()
        )
        worker.run_batch([execution.id])
        execution.refresh_from_db()
        return execution

    def changes_made_by(self, path: str) -> list[str]:
        before = set(HealthChange.objects.values_list("id", flat=True))
        execution = self.run(path)
        new = HealthChange.objects.exclude(id__in=before)
        assert all(change.execution_id == execution.id for change in new)
        return list(new.order_by("id").values_list("kind", flat=True))


@pytest.fixture
def runs(alice, target) -> Runs:
    return Runs(backup(alice), target)


def test_each_health_transition_is_recorded_once(runs):
    assert runs.changes_made_by("/ok") == []
    assert runs.changes_made_by("/status/500") == [Kind.FAILING]
    assert runs.changes_made_by("/status/500") == []
    assert reloaded(runs.job).consecutive_failures == 2
    assert runs.changes_made_by("/ok") == [Kind.RECOVERED]
    assert (reloaded(runs.job).failing, reloaded(runs.job).consecutive_failures) == (False, 0)

    kinds = [kind for _ in range(25) for kind in runs.changes_made_by("/status/500")]

    assert kinds == [Kind.FAILING, Kind.DISABLED]
    job = reloaded(runs.job)
    assert (job.enabled, job.next_run_at, job.failing) == (False, None, True)
    assert job.consecutive_failures == 25
    assert job.last_execution.status == Execution.Status.FAILED
    counts = {kind: HealthChange.objects.filter(kind=kind).count() for kind in Kind.values}
    assert counts == {
        Kind.FAILING: 2,
        Kind.RECOVERED: 1,
        Kind.DISABLED: 1,
        Kind.REMINDER: 0,
        Kind.STOPPED: 0,  # it has no ordering key (tests/engine/test_ordering.py)
    }


def test_the_disabling_failure_is_the_twenty_fifth_in_a_row(runs):
    for _ in range(24):
        runs.run("/status/500")
    assert reloaded(runs.job).enabled

    last = runs.run("/status/500")

    disabled = HealthChange.objects.get(kind=Kind.DISABLED)
    assert disabled.execution_id == last.id
    assert not reloaded(runs.job).enabled


def test_a_disabled_jobs_queued_slot_is_skipped_and_changes_nothing(runs):
    for _ in range(25):
        runs.run("/status/500")
    requests_so_far = len(runs.target.requests)

    after = runs.run("/status/500")

    assert after.status == Execution.Status.SKIPPED
    assert len(runs.target.requests) == requests_so_far
    assert HealthChange.objects.filter(kind=Kind.DISABLED).count() == 1


def test_a_timeout_counts_as_a_failure(alice, target):
    runs = Runs(backup(alice, timeout_seconds=1), target)

    assert runs.changes_made_by("/hang") == [Kind.FAILING]


def test_with_a_threshold_a_job_is_failing_only_after_that_many_failures(alice, target):
    runs = Runs(backup(alice, failure_threshold=3), target)

    assert runs.changes_made_by("/status/500") == []
    assert runs.changes_made_by("/status/500") == []
    assert runs.changes_made_by("/status/500") == [Kind.FAILING]
    assert runs.changes_made_by("/status/500") == []
    assert runs.changes_made_by("/ok") == [Kind.RECOVERED]


def test_a_success_that_was_not_failing_records_nothing(runs):
    for _ in range(3):
        assert runs.changes_made_by("/ok") == []

    assert not HealthChange.objects.exists()


def test_each_transition_is_emailed_exactly_once(runs, mailoutbox):
    runs.run("/status/500")
    runs.run("/ok")
    for _ in range(25):
        runs.run("/status/500")

    delivery.deliver_pending()
    delivery.deliver_pending()

    assert len(mailoutbox) == 4  # failing, recovered, failing again, disabled
    assert {message.to[0] for message in mailoutbox} == {"alice@example.org"}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
