"""Status badges: an SVG per job and per tag of a project, showing up, paused or failing
(Job.state), at a public URL whose key is the only secret. Rotating a key revokes every
copy of the old URL (it answers 404)."""

from collections.abc import Iterable

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import audit
from accounts.models import Project, new_badge_key
from jobs.models import Job, PublicState

COLORS = {PublicState.UP: "#4c1", PublicState.PAUSED: "#9f9f9f", PublicState.FAILING: "#e05d44"}
# Best to worst: a tag's badge shows its worst job.
ORDER = list(PublicState)
MAX_LABEL = 40
# Verdana at 11 px, near enough: most characters are about 7 px wide, these less or more.
NARROW, WIDE = set("fijlrtI.,:;!|' "), set("mwMW")
PADDING = 10


def text_width(text: str) -> int:
    return sum(4 if c in NARROW else 10 if c in WIDE else 7 for c in text) + PADDING


def svg(label: str, state: str) -> str:
    label = label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
    label_width, state_width = text_width(label), text_width(state)
    return render_to_string(
        "badges/badge.svg",
        {
            "label": label,
            "state": state,
            "color": COLORS[state],
            "width": label_width + state_width,
            "label_width": label_width,
            "state_width": state_width,
            "label_x": label_width / 2,
            "state_x": label_width + state_width / 2,
        },
    )


def worst(states: Iterable[str]) -> str | None:
    return max(states, key=ORDER.index, default=None)


def tag_state(project: Project, tag: str) -> str | None:
    """The worst state of the project's jobs with this tag; None when none has it."""
    jobs = project.jobs.tagged(tag).only("failing", "enabled")
    return worst(job.state for job in jobs)


def job_badge_url(job: Job) -> str:
    return settings.SITE_URL + reverse("job_badge", args=[job.badge_key])


def tag_badge_url(project: Project, tag: str) -> str:
    return settings.SITE_URL + reverse("tag_badge", args=[project.tag_badge_key, tag])


def tag_badge_urls(project: Project) -> dict[str, str]:
    """Every tag the project's jobs have, with its badge's URL."""
    tags = sorted({tag for tags in project.jobs.values_list("tags", flat=True) for tag in tags})
    return {tag: tag_badge_url(project, tag) for tag in tags}


def rotate_job_key(job: Job, *, by: audit.Actor) -> None:
    job.badge_key = new_badge_key()
    job.save(update_fields=["badge_key", "updated_at"])
    audit.record(job.project, by, "job.badge_rotated", job)


def rotate_tag_key(project: Project, *, by: audit.Actor) -> None:
    project.tag_badge_key = new_badge_key()
    project.save(update_fields=["tag_badge_key"])
    audit.record(project, by, "project.tag_badges_rotated", project)
