"""Chains: a final outcome of a job's run triggers one run of each job set to run after it.

The chain run is a pending Execution (trigger `chain`, chained_from the parent's run) due
at the parent's finish plus the child's delay and not yet sent, written in the transaction
that records the parent's outcome; the dispatch tick claims it as it claims retries
(tick.claim_retries). The unique (job, chained_from) constraint makes it exactly one:
an outcome recorded twice, by a duplicate message or a racing worker, inserts nothing.
"""

from collections import defaultdict
from datetime import timedelta

from jobs.chaining import MAX_CHAIN_DEPTH
from jobs.engine.health import is_final_result
from jobs.models import AfterOutcome, Execution, Job

Status = Execution.Status


def trigger(executions: list[Execution]) -> list[Job]:
    """Write the chain runs the final outcomes among `executions` set off (call in the
    transaction that records them); return the keyed jobs among those that got one, whose
    runs wait their turn in their key (jobs/engine/ordering.py)."""
    finals = [e for e in executions if is_final_result(e) and e.chain_depth < MAX_CHAIN_DEPTH]
    if not finals:
        return []
    children = defaultdict(list)
    parents = {e.job_id for e in finals}
    for child in Job.objects.filter(after_job_id__any=parents, enabled=True).only(
        "id", "project_id", "after_job_id", "after_outcome", "after_delay_seconds", "ordering_key"
    ):
        children[child.after_job_id].append(child)
    runs = [
        chain_run(child, parent_run)
        for parent_run in finals
        for child in children[parent_run.job_id]
        if follows(child.after_outcome, parent_run.status)
    ]
    # A second recording of the same outcome conflicts on (job, chained_from): dropped.
    Execution.objects.bulk_create(runs, ignore_conflicts=True)
    return [run.job for run in runs if run.waiting]


def follows(after_outcome: str, status: str) -> bool:
    if after_outcome == AfterOutcome.SUCCESS:
        return status == Status.SUCCEEDED
    if after_outcome == AfterOutcome.FAILURE:
        return status == Status.FAILED
    return True


def chain_run(child: Job, parent_run: Execution) -> Execution:
    return Execution(
        job=child,
        scheduled_for=parent_run.finished_at + timedelta(seconds=child.after_delay_seconds),
        trigger=Execution.Trigger.CHAIN,
        chained_from=parent_run,
        chain_depth=parent_run.chain_depth + 1,
        # A keyed child's run takes its turn in its key's queue (jobs/engine/ordering.py).
        waiting=bool(child.ordering_key),
    )
