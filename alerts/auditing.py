"""A channel's changes in its project's audit log (accounts/audit.py), from the web or the
API. Its URL holds tokens: recorded only as changed."""

from accounts import audit
from alerts.models import Channel

AUDITED_FIELDS = ["kind", "name", "url_encrypted", "address", "is_default"]
SECRET_FIELDS = frozenset({"url_encrypted"})


def before(channel: Channel) -> dict:
    return audit.snapshot(channel, AUDITED_FIELDS)


def created(channel: Channel, actor: audit.Actor) -> None:
    set_fields = {name: value for name, value in before(channel).items() if value != ""}
    changes = audit.diff(dict.fromkeys(set_fields), set_fields, secret=SECRET_FIELDS)
    audit.record(channel.project, actor, "channel.created", channel, changes)


def updated(channel: Channel, actor: audit.Actor, was: dict) -> None:
    if changes := audit.diff(was, before(channel), secret=SECRET_FIELDS):
        audit.record(channel.project, actor, "channel.updated", channel, changes)


def deleted(channel: Channel, actor: audit.Actor) -> None:
    audit.record(channel.project, actor, "channel.deleted", channel)
