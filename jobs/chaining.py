"""Which job may run after which (Job.after_job): within a project, without loops, and at
most MAX_CHAIN_DEPTH runs after a chain's first job. Shared by the form and the API."""

from jobs.models import Job

MAX_CHAIN_DEPTH = 10


def after_job_problem(*, job: Job | None, parent: Job, project_id: int) -> str:
    """Why `job` (None for a new one) cannot run after `parent`; empty when it can."""
    if parent.project_id != project_id:
        return "Choose a job of this project."
    links_above = 0
    node: Job | None = parent
    while node is not None and links_above <= MAX_CHAIN_DEPTH:
        if job is not None and node.pk == job.pk:
            return f"“{parent}” already runs after this job: a chain cannot loop."
        links_above += 1
        node = node.after_job
    depth = links_above + links_below(job)
    if depth > MAX_CHAIN_DEPTH:
        return (
            f"A chain can run at most {MAX_CHAIN_DEPTH} jobs after its first one; "
            f"this one would run {depth}."
        )
    return ""


def links_below(job: Job | None) -> int:
    """How many jobs deep the chains after `job` go (one query per level)."""
    if job is None or job.pk is None:
        return 0
    depth, level = 0, [job.pk]
    while depth <= MAX_CHAIN_DEPTH:
        level = list(Job.objects.filter(after_job_id__in=level).values_list("id", flat=True))
        if not level:
            break
        depth += 1
    return depth
