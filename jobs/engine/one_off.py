"""One-off jobs (Job.run_at): disabled once their run has its final outcome.

A missed run is not final: its catch-up runs first. A one-off job with delete_after_run
is deleted later, with its history, by the history pruning (jobs/engine/retention.py):
deleting it now would take the run's record, and any alert about it, away with it.
"""

from django.utils import timezone

from jobs.engine.health import is_final_result
from jobs.models import Execution, Job

SLOT_TRIGGERS = {Execution.Trigger.SCHEDULE, Execution.Trigger.CATCH_UP}


def conclude(executions: list[Execution]) -> int:
    """Disable the one-off jobs whose run finished among `executions` (in the caller's
    transaction); a job given a later run_at since then has a next run and stays."""
    ran = {
        e.job_id
        for e in executions
        if e.trigger in SLOT_TRIGGERS and is_final_result(e) and may_be_one_off(e)
    }
    if not ran:
        return 0
    return Job.objects.filter(
        id__in=ran, run_at__isnull=False, next_run_at=None, enabled=True
    ).update(enabled=False, updated_at=timezone.now())


def may_be_one_off(execution: Execution) -> bool:
    """Whether its job may be a one-off: the worker loads the jobs with the batch, so for
    the recurring ones nothing needs asking; the recovery sweep's are asked (no query each)."""
    return not Execution.job.is_cached(execution) or execution.job.run_at is not None
