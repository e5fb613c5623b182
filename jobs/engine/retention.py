"""History pruning: older than RETENTION_DAYS goes, but each job keeps its latest runs;
one-off jobs that asked to be deleted after their run go with theirs. Test runs, which only
their page polls, go after a day."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from jobs.models import Execution, Job, TestRun

PRUNE_BATCH = 5000
PRUNE_INTERVAL_SECONDS = 3600
TEST_RUNS_KEPT_FOR = timedelta(days=1)


def prune(now: datetime | None = None) -> int:
    """Delete old executions in batches; returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RETENTION_DAYS)
    deleted = 0
    while ids := prunable_ids(cutoff):
        Execution.objects.filter(id__in=ids).delete()
        deleted += len(ids)
    delete_finished_one_offs(cutoff)
    return deleted


def delete_finished_one_offs(cutoff: datetime) -> int:
    """One-off jobs with delete_after_run whose run is older than the history kept: their
    record was readable as long as any job's is (jobs/engine/one_off.py)."""
    done = Job.objects.filter(delete_after_run=True, enabled=False, run_at__lt=cutoff)
    return done.delete()[1].get("jobs.Job", 0)


def prunable_ids(cutoff: datetime) -> list[int]:
    # Compared with the job's KEEP-th newest slot over its whole history (one short
    # walk of execution_history_idx per old row). A window ranked in the same query
    # as the cutoff filter ranks only the old rows: it kept 100 old ones besides every
    # recent one.
    keep = settings.KEEP_EXECUTIONS_PER_JOB
    oldest_kept = (
        Execution.objects.filter(job_id=OuterRef("job_id"))
        .order_by("-scheduled_for")
        .values("scheduled_for")[keep - 1 : keep]
    )
    # A job with fewer than `keep` executions has no oldest_kept: the comparison is
    # NULL, and all of them stay.
    old = (
        Execution.objects.filter(scheduled_for__lt=cutoff)
        .filter(scheduled_for__lt=Subquery(oldest_kept))
        # The dashboard shows each job's last result; it stays even when newer rows
        # (skipped or missed slots) push it out of the newest ones.
        .exclude(Exists(Job.objects.filter(last_execution_id=OuterRef("id"))))
        .order_by()
    )
    return list(old.values_list("id", flat=True)[:PRUNE_BATCH])


def prune_test_runs(now: datetime | None = None) -> int:
    """Delete test runs older than a day (by the index on created_at); returns how many went."""
    now = now or timezone.now()
    deleted, _ = TestRun.objects.filter(created_at__lt=now - TEST_RUNS_KEPT_FOR).delete()
    return deleted
