"""The audit log: every change to a project's jobs, keys, members, roles and channels,
from the web, the API or a command, with who made it. Secrets are never written down:
a secret field that changed is recorded as "(changed)"."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, AuditEntry, Project, User

Via = AuditEntry.Via
KEPT = timedelta(days=90)
SECRET_CHANGED = "(changed)"


@dataclass(frozen=True)
class Actor:
    """Who acted: a member in the web or a command, or one of their API keys."""

    user: User | None
    via: str
    key: ApiKey | None = None

    @property
    def label(self) -> str:
        if self.key is not None:
            return f"key {self.key.prefix} ({self.key.name})"
        return self.user.email if self.user else "system"


def record(
    project: Project,
    actor: Actor,
    action: str,
    obj: models.Model,
    changes: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        project=project,
        actor=actor.user,
        actor_label=actor.label[:254],
        via=actor.via,
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        changes=changes or {},
    )


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """The fields' values as they are now, for `diff` after a change."""
    return {name: getattr(obj, name) for name in fields}


def diff(before: dict, after: dict, *, secret: frozenset[str] = frozenset()) -> dict:
    """{field: [old, new]} for the fields that changed; a secret one says only that it did."""
    changes = {}
    for name, old in before.items():
        new = after[name]
        if old == new:
            continue
        changes[name] = SECRET_CHANGED if name in secret else [printable(old), printable(new)]
    return changes


def printable(value: object) -> object:
    """JSON for the changes column: dates as ISO text, model instances by id."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def prune(now: timezone.datetime | None = None) -> int:
    """Entries older than 90 days go."""
    cutoff = (now or timezone.now()) - KEPT
    deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    return deleted
