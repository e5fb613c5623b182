"""A job's changes in its project's audit log (accounts/audit.py), from the web or the API."""

from accounts import audit
from jobs.models import Job, OrderingKey

# What a member sets; the engine's own bookkeeping (next run, counts, health) is left out.
AUDITED_FIELDS = [
    "title",
    "url",
    "method",
    "headers",
    "secret_headers_encrypted",
    "body",
    "auth_username",
    "auth_password_encrypted",
    "schedule",
    "run_at",
    "delete_after_run",
    "spread_seconds",
    "after_job",
    "after_outcome",
    "after_delay_seconds",
    "ordering_key",
    "ordering_on_failure",
    "timezone",
    "timeout_seconds",
    "expected_statuses",
    "follow_redirects",
    "response_body_kib",
    "sign_requests",
    "enabled",
    "notify_on_failure",
    "notify_on_recovery",
    "notify_on_disable",
    "remind_every_hours",
    "alerts_muted_until",
    "failure_threshold",
    "expires_at",
    "tags",
]
SECRET_FIELDS = frozenset({"secret_headers_encrypted", "auth_password_encrypted"})


def before(job: Job) -> dict:
    return audit.snapshot(job, AUDITED_FIELDS)


def created(job: Job, actor: audit.Actor) -> None:
    # The fields it was made with, from nothing.
    set_fields = {name: value for name, value in before(job).items() if value not in ("", None)}
    changes = audit.diff(dict.fromkeys(set_fields), set_fields, secret=SECRET_FIELDS)
    audit.record(job.project, actor, "job.created", job, changes)


def updated(job: Job, actor: audit.Actor, was: dict) -> None:
    changes = audit.diff(was, before(job), secret=SECRET_FIELDS)
    if changes:
        audit.record(job.project, actor, "job.updated", job, changes)


def deleted(job: Job, actor: audit.Actor) -> None:
    audit.record(job.project, actor, "job.deleted", job)


def queue_resumed(key: OrderingKey, actor: audit.Actor) -> None:
    audit.record(key.project, actor, "ordering_key.resumed", key)
