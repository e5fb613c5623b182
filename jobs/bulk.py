"""One action on many jobs of a project at once (the dashboard's selection, the API's
POST /api/v1/jobs/bulk/), answered per id: each job the action applies to changes, and
each id it cannot apply to says why (another project's id is simply not found, as
anywhere else). Each change is in the audit log."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial

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
    per id, in the order given."""
    wanted = list(dict.fromkeys(ids))
    with transaction.atomic():
        jobs = project.jobs.filter(pk__in=wanted)
        # A run changes no job: it locks none, so none waits while the run limit is asked.
        if action == "run":
            act: Callable[[Job], Result] = Runs(actor)
        else:
            jobs = jobs.select_for_update()
            act = partial(result_of_change, action=action, tag=tag, actor=actor)
        found = jobs.in_bulk()
        results = [
            act(found[pk]) if pk in found else Result(pk, 404, error=NOT_FOUND) for pk in wanted
        ]
    return Outcome(results)


class Runs:
    """Run now, job after job, each counted against the member's limit. Once the limit
    refuses one it refuses the rest too: asking again a moment later could let an odd one
    through, and the member would see runs started past the ones refused."""

    def __init__(self, actor: audit.Actor) -> None:
        self.member = actor.user
        self.refused: run_now.TooManyRuns | None = None

    def __call__(self, job: Job) -> Result:
        if self.refused is None:
            try:
                execution = run_now.run_now(job, by=self.member)
            except run_now.TooManyRuns as error:
                self.refused = error
            else:
                return Result(job.pk, 202, changed=True, execution=execution.pk, title=job.title)
        return Result(job.pk, 429, error=str(self.refused), title=job.title)


def result_of_change(job: Job, *, action: str, tag: str, actor: audit.Actor) -> Result:
    pk, title = job.pk, job.title  # a deleted job has no pk any more
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
