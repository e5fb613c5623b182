"""One action on many jobs of a project at once (the dashboard's selection, the API's
POST /api/v1/jobs/bulk/), answered per id: each job the action applies to changes, and
each id it cannot apply to says why (another project's id is simply not found, as
anywhere else). Each change is in the audit log."""

from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import Project
from jobs import auditing
from jobs.engine import health, run_now
from jobs.models import Job
from jobs.validators import MAX_TAGS, normalize_tags

ACTIONS = {
    "pause": "Pause",
    "resume": "Resume",
    "run": "Run now",
    "tag": "Add tag",
    "untag": "Remove tag",
    "delete": "Delete",
}
TAG_ACTIONS = {"tag", "untag"}
NOT_FOUND = "Not found."


@dataclass(frozen=True)
class Result:
    """What became of one id, with the HTTP status it would have had on its own: 200 (or
    202 for a run started), 404, 400 (a tag it cannot take) or 429 (past the run limit)."""

    id: int
    status: int
    changed: bool = False
    error: str = ""
    execution: int | None = None  # the run started, for "run"
    title: str = ""


@dataclass(frozen=True)
class Outcome:
    results: list[Result]

    @property
    def selected(self) -> int:
        """Ids that are jobs of the project."""
        return sum(result.status != 404 for result in self.results)

    @property
    def changed(self) -> int:
        return sum(result.changed for result in self.results)

    @property
    def failed(self) -> list[Result]:
        return [result for result in self.results if result.error]


def clean_tag(action: str, tag: str) -> str:
    """The one tag a tag action adds or removes; raises ValidationError."""
    if action not in TAG_ACTIONS:
        return ""
    if not tag.strip():
        raise ValidationError("Name the tag to add or remove.")
    return normalize_tags([tag])[0]


def apply(
    project: Project, *, action: str, ids: Collection[int], tag: str, actor: audit.Actor
) -> Outcome:
    """Apply `action` to the project's jobs with these ids, in one transaction; a result
    per id, in the order given. Runs count against the member's Run now limit one by one."""
    wanted = list(dict.fromkeys(ids))
    with transaction.atomic():
        jobs = project.jobs.select_for_update().filter(pk__in=wanted).in_bulk()
        results = [
            result_for(jobs[pk], action, tag, actor)
            if pk in jobs
            else Result(pk, 404, error=NOT_FOUND)
            for pk in wanted
        ]
    return Outcome(results)


def result_for(job: Job, action: str, tag: str, actor: audit.Actor) -> Result:
    pk, title = job.pk, job.title  # a deleted job has no pk any more
    if action == "run":
        try:
            execution = run_now.run_now(job, by=actor.user)
        except run_now.TooManyRuns as error:
            return Result(pk, 429, error=str(error), title=title)
        return Result(pk, 202, changed=True, execution=execution.pk, title=title)
    try:
        changed = change(job, action, tag, actor)
    except ValidationError as error:
        return Result(pk, 400, error=" ".join(error.messages), title=title)
    return Result(pk, 200, changed=changed, title=title)


def change(job: Job, action: str, tag: str, actor: audit.Actor) -> bool:
    """Apply the action to one job and audit it; whether it changed anything."""
    if action == "delete":
        auditing.deleted(job, actor)
        job.delete()
        return True
    was = auditing.before(job)
    if action in ("pause", "resume"):
        if job.enabled == (action == "resume"):
            return False
        health.set_enabled(job, action == "resume")
    else:
        tags = retagged(job, action, tag)
        if tags == job.tags:
            return False
        job.tags = tags
        job.save(update_fields=["tags", "updated_at"])
    auditing.updated(job, actor, was)
    return True


def retagged(job: Job, action: str, tag: str) -> list[str]:
    if action == "untag":
        return [label for label in job.tags if label != tag]
    if tag in job.tags:
        return job.tags
    if len(job.tags) >= MAX_TAGS:
        raise ValidationError(f"It has {MAX_TAGS} tags already.")
    return [*job.tags, tag]
