"""An email channel's address is confirmed by a link sent to it before alerts go there."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts.models import Channel
from cronsvc import emails

SALT = "alerts.channel-confirmation"
LINK_DAYS = 7


def ask_to_confirm(channel: Channel) -> None:
    """Email the confirmation link once the channel is saved, unless already confirmed."""
    if channel.kind == Channel.Kind.EMAIL and not channel.is_confirmed():
        transaction.on_commit(lambda: send_link(channel))


def send_link(channel: Channel) -> None:
    context = {"channel": channel, "project": channel.project, "link": link(channel)}
    emails.send("alerts/emails/channel-confirm", to=channel.address, context=context)


def link(channel: Channel) -> str:
    # The address is signed too: a link sent before the address changed confirms nothing.
    token = signing.dumps([channel.id, channel.address.lower()], salt=SALT)
    return settings.SITE_URL + reverse("channel_confirm", args=[token])


def channel_for_token(token: str) -> Channel | None:
    """The channel the link is for, or None for a bad or old link, or one sent before the
    channel's address changed."""
    try:
        channel_id, address = signing.loads(token, salt=SALT, max_age=LINK_DAYS * 86400)
    except signing.BadSignature:
        return None
    return Channel.objects.filter(id=channel_id, address__iexact=address).first()


def confirm(channel: Channel) -> None:
    if channel.confirmed_at is None:
        channel.confirmed_at = timezone.now()
        channel.save(update_fields=["confirmed_at"])
