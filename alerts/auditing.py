"""Changes to a channel or a maintenance window in its project's audit log
(accounts/audit.py), from the web or the API. A channel's URL holds tokens: recorded only
as changed."""

from accounts import audit
from alerts.models import Channel, MaintenanceWindow

# What is recorded of each, under which name.
AUDITED = {
    Channel: ("channel", ["kind", "name", "url_encrypted", "address", "is_default"]),
    MaintenanceWindow: (
        "maintenance_window",
        ["name", "starts_at", "ends_at", "weekdays", "start_time", "duration_minutes", "timezone"],
    ),
}
SECRET_FIELDS = frozenset({"url_encrypted"})
Audited = Channel | MaintenanceWindow


def before(obj: Audited) -> dict:
    return audit.snapshot(obj, AUDITED[type(obj)][1])


def created(obj: Audited, actor: audit.Actor) -> None:
    set_fields = {name: value for name, value in before(obj).items() if value not in ("", None, [])}
    changes = audit.diff(dict.fromkeys(set_fields), set_fields, secret=SECRET_FIELDS)
    audit.record(obj.project, actor, action(obj, "created"), obj, changes)


def updated(obj: Audited, actor: audit.Actor, was: dict) -> None:
    if changes := audit.diff(was, before(obj), secret=SECRET_FIELDS):
        audit.record(obj.project, actor, action(obj, "updated"), obj, changes)


def deleted(obj: Audited, actor: audit.Actor) -> None:
    audit.record(obj.project, actor, action(obj, "deleted"), obj)


def action(obj: Audited, verb: str) -> str:
    return f"{AUDITED[type(obj)][0]}.{verb}"
