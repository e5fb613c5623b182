"""Apprise channels (Slack, Discord, Telegram, Teams, Pushover, ntfy, Gotify, Matrix, …),
held to the SSRF guard that job requests pass.

Two rules. Only the schemes below are accepted: services Apprise reaches over HTTP with
`requests` (no SMTP, MQTT, IRC or desktop plugins, whose sockets we could not check).
And every connection `requests` opens while Apprise sends goes through
`guarded_create_connection`, which resolves the host, refuses internal addresses and
ports jobs may not call (the same checks as jobs/outbound/http.py, ALLOW_PRIVATE_TARGETS
included) and connects to an address it checked, so a name cannot resolve to a public
address for the check and an internal one for the connection. This covers the schemes
where the member names the host (ntfy, Gotify, Matrix, json/form/xml) and, as a second
line, the fixed-host services too. Hosts are also checked when the channel is saved.
"""

import ipaddress
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import apprise
from django.conf import settings
from django.core.exceptions import ValidationError
from urllib3.util import connection

from jobs.outbound.addresses import internal_target
from jobs.outbound.http import Blocked, refuse_internal, refuse_port

# Fixed public hosts (the service's own API).
FIXED_HOST_SCHEMES = {"slack", "discord", "tgram", "msteams", "pover", "gchat"}
# The member names the host: reachable only through the guarded connection.
MEMBER_HOST_SCHEMES = {
    "ntfy",
    "ntfys",
    "gotify",
    "gotifys",
    "matrix",
    "matrixs",
    "mmost",
    "mmosts",
    "workflow",  # Teams through Power Automate: the flow's own host
    "json",
    "jsons",
    "form",
    "forms",
    "xml",
    "xmls",
}
SCHEMES = FIXED_HOST_SCHEMES | MEMBER_HOST_SCHEMES

# On while Apprise sends for us. A context variable, not a thread-local: Apprise runs
# each service's call on a pool thread with a copy of the caller's context.
guarding: ContextVar[bool] = ContextVar("apprise_guarding", default=False)
unguarded_create_connection = connection.create_connection


class BlockedConnection(Blocked, OSError):
    """Refused by the guard: an OSError, so urllib3 reports it as a failed connection."""


def validate_url(url: str) -> None:
    """An Apprise URL of an accepted scheme that Apprise can parse, not aimed at an
    internal host (as far as it resolves now; the send checks again)."""
    scheme = url.partition("://")[0].lower()
    if scheme not in SCHEMES:
        names = ", ".join(f"{name}://" for name in sorted(SCHEMES))
        raise ValidationError(f"Apprise URLs of these kinds can be used: {names}.")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise ValidationError("Apprise cannot read this URL; check it against Apprise's docs.")
    if scheme in MEMBER_HOST_SCHEMES and not settings.ALLOW_PRIVATE_TARGETS:
        host, port = plugin.host or "", plugin.port or 443
        if (address := internal_target(f"https://{host}:{port}/")) is not None:
            raise ValidationError(
                f"This URL points to an internal address ({address}); "
                "alerts can only go to public hosts."
            )


def notify(url: str, *, title: str, body: str) -> str:
    """Send through Apprise with every connection guarded; what went wrong, or "" if the
    service took it."""
    asset = apprise.AppriseAsset(async_mode=False)
    sender = apprise.Apprise(asset=asset)
    with guarded(), apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
        if not sender.add(url):
            return "Apprise cannot read this channel's URL."
        if sender.notify(title=title, body=body):
            return ""
        return logs.getvalue().strip()[-500:] or "The service did not take the alert."


@contextmanager
def guarded() -> Iterator[None]:
    install()
    token = guarding.set(True)
    try:
        yield
    finally:
        guarding.reset(token)


def install() -> None:
    """Put the guard in urllib3's path; it acts only while Apprise sends for us, so nothing
    else that uses urllib3 in the process is changed."""
    connection.create_connection = guarded_create_connection


def guarded_create_connection(
    address: tuple[str, int],
    timeout: object = socket._GLOBAL_DEFAULT_TIMEOUT,
    source_address: tuple[str, int] | None = None,
    socket_options: object = None,
) -> socket.socket:
    if not guarding.get():
        return unguarded_create_connection(address, timeout, source_address, socket_options)
    host, port = address
    checked = checked_addresses(host.strip("[]"), port)
    error: OSError | None = None
    for ip in checked:
        try:
            return unguarded_create_connection((ip, port), timeout, source_address, socket_options)
        except OSError as failed:
            error = failed
    raise error


def checked_addresses(host: str, port: int) -> list[str]:
    """The host's addresses that pass the guard (refusing all if none does)."""
    try:
        refuse_port(port)
    except Blocked as error:
        raise BlockedConnection(str(error)) from None
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    allowed = []
    for *_, sockaddr in infos:
        address = str(ipaddress.ip_address(sockaddr[0].split("%")[0]))
        try:
            refuse_internal(address)
        except Blocked:
            continue
        allowed.append(address)
    if not allowed:
        found = ", ".join(sorted({info[4][0] for info in infos}))
        raise BlockedConnection(f"{host} resolves only to internal addresses ({found}).")
    return allowed
