"""Failed sign-ins lock out unknown devices, never the member's own.

Counting failures per account lets anyone who knows an address lock its owner out, and
counting them per account and address does too when the owner shares that address (an
office, a carrier's NAT, a VPN). So, after OWASP's "device cookies": a successful sign-in
leaves a signed cookie naming the account on that browser. A failure from a browser with
such a cookie counts against that device alone; a failure from any other browser counts
against the account's unknown devices as a whole (and, across accounts, against the
client address). LOGIN_FAILURE_LIMIT failures within LOGIN_COOLOFF_MINUTES lock out the
bucket they were counted in, so an attacker can lock out only devices that never signed
in to the account; the owner's own get in. A password reset from the emailed link lifts
the lock on unknown devices, and the browser that did it signs in and becomes known.

The counting is allauth's rate limiting (ACCOUNT_RATE_LIMITS: login_failed_known_device,
login_failed_unknown_device), in the shared cache.
"""

import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.core.internal import ratelimit  # allauth's adapter uses the same, for its usage
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from accounts.models import User

COOKIE = "cronsvc_device"
SALT = "accounts.lockout.device"
COOKIE_AGE = timedelta(days=365)
# Members remembered by one browser (a shared computer), most recent last.
MEMBERS_PER_DEVICE = 5


def member_for(login: str) -> int | str:
    """Whom failures for a typed address count against: the member who has it (however
    it was typed, whichever of their addresses), or the address itself when no one has."""
    user_id = (
        EmailAddress.objects.filter(email__iexact=login.strip())
        .order_by("-verified", "-primary")
        .values_list("user_id", flat=True)
        .first()
    )
    return user_id if user_id is not None else f"address:{login.strip().lower()}"


def read_device(request: HttpRequest) -> dict | None:
    try:
        return signing.loads(request.COOKIES.get(COOKIE, ""), salt=SALT)
    except signing.BadSignature:
        return None


def count_attempt(request: HttpRequest, login: str) -> ratelimit.RateLimitUsage | None:
    """Count a sign-in attempt as a failure in the right bucket, before checking the
    password (the caller rolls it back when the password was right). None when that
    bucket is locked."""
    member = member_for(login)
    device = read_device(request)
    if device is not None and member in device["members"]:
        return ratelimit.consume(
            request,
            app="allauth.account",
            action="login_failed_known_device",
            key=f"{member}:{device['id']}",
        )
    return ratelimit.consume(
        request, app="allauth.account", action="login_failed_unknown_device", key=str(member)
    )


def unlock_unknown_devices(request: HttpRequest, user: User) -> None:
    ratelimit.clear(
        request, app="allauth.account", action="login_failed_unknown_device", key=str(user.pk)
    )


def remember_device(request: HttpRequest, response: HttpResponse, user: User) -> None:
    """Mark this browser as one the member signed in on."""
    device = read_device(request) or {"id": secrets.token_urlsafe(16), "members": []}
    others = [member for member in device["members"] if member != user.pk]
    members = [*others[-(MEMBERS_PER_DEVICE - 1) :], user.pk]
    response.set_cookie(
        COOKIE,
        signing.dumps({"id": device["id"], "members": members}, salt=SALT),
        max_age=COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
