from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from accounts import limits, mfa_enabled, projects
from accounts.models import ApiKey, Role, confirmed_primary_address

LAST_USED_EVERY = timedelta(minutes=1)

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` with a key from Settings → API keys."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, plain = header.partition(" ")
        # Auth schemes are case-insensitive (RFC 9110 §11.1): "bearer" is "Bearer".
        if scheme.lower() != self.keyword.lower() or not plain.strip() or " " in plain.strip():
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Bearer <key>'."
            )
        key = self.find_key(plain.strip())
        now = timezone.now()
        # At most one write a minute per key: a busy client must not write on every call.
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def find_key(self, plain: str) -> ApiKey:
        prefix = plain.split("_", 2)
        if len(prefix) != 3:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        key = (
            ApiKey.objects.select_related("user", "project")
            .annotate(has_confirmed_address=confirmed_primary_address(of="user"))
            .filter(prefix=f"{prefix[0]}_{prefix[1]}", user__is_active=True)
            .first()
        )
        if key is None or not key.matches(plain):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        # Until then the account may be someone else's, who signed up with the address.
        if not key.has_confirmed_address:
            raise exceptions.AuthenticationFailed(
                "Confirm your email address (follow the link we emailed you) to use the API."
            )
        # The answer comes with the key: User.is_verified asks no more.
        key.user.has_confirmed_address = True
        return key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class KeyRolePermission(permissions.BasePermission):
    """A key acts in its project within its scope and its member's role there: reading
    needs any role, changing needs a write key of a member (or above)."""

    message = "This API key is read-only."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # IsAuthenticated answers for requests without a key
        member = projects.membership(key.user, key.project)
        if member is None:
            self.message = "This API key's member is no longer in its project."
            return False
        if key.project.require_2fa and not mfa_enabled(key.user):
            self.message = (
                f"“{key.project}” requires two-factor sign-in of its members; this key's "
                "member has not set it up."
            )
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if key.read_only:
            return False
        if not member.may(Role.MEMBER):
            self.message = f"This needs the {Role.MEMBER.label} role in “{key.project}”."
            return False
        return True


class MemberThrottle(throttling.BaseThrottle):
    """API requests per member, whichever of their keys sent them (per address before
    authentication), counted by accounts.limits; past the rate, 429 with Retry-After."""

    wait_seconds: float | None = None

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if request.user.is_authenticated:
            scope, who = "api", request.user.pk
        else:
            scope, who = "api-address", self.get_ident(request)
        rate = limits.Rate.parse(settings.API_THROTTLE_RATE)
        self.wait_seconds = limits.acquire(scope, who, rate)
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds
