"""One action on many jobs of a project at once (the dashboard's selection, the API's
POST /api/v1/jobs/bulk/): all of them or none, each change in the audit log."""

from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import Project
from jobs import auditing
from jobs.engine import health
from jobs.models import Job
from jobs.validators import MAX_TAGS, normalize_tags

ACTIONS = {
    "pause": "Pause",
    "resume": "Resume",
    "tag": "Add tag",
    "untag": "Remove tag",
    "delete": "Delete",
}
TAG_ACTIONS = {"tag", "untag"}


class JobsNotFound(Exception):
    """Some ids are not jobs of the project (another project's look the same: not there)."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(f"No job {', '.join(map(str, ids))} in this project.")
        self.ids = ids


@dataclass(frozen=True)
class Outcome:
    selected: int  # jobs the action was applied to
    changed: int  # of those, how many it changed (pausing a paused job changes nothing)


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
    """Apply `action` to the project's jobs with these ids in one transaction. Raises
    JobsNotFound, before changing anything, when an id is not the project's."""
    with transaction.atomic():
        jobs = list(project.jobs.select_for_update().filter(pk__in=ids).order_by("pk"))
        if missing := sorted(set(ids) - {job.pk for job in jobs}):
            raise JobsNotFound(missing)
        changed = sum(change(job, action, tag, actor) for job in jobs)
    return Outcome(selected=len(jobs), changed=changed)


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
        raise ValidationError(f"“{job.title}” has {MAX_TAGS} tags already.")
    return [*job.tags, tag]
