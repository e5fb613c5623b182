from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from accounts.models import ApiKey

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
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return key.user, key

    def find_key(self, plain: str) -> ApiKey:
        prefix = plain.split("_", 2)
        if len(prefix) != 3:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        key = (
            ApiKey.objects.select_related("user")
            .filter(prefix=f"{prefix[0]}_{prefix[1]}", user__is_active=True)
            .first()
        )
        if key is None or not key.matches(plain):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        return key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ReadOnlyKeyPermission(permissions.BasePermission):
    message = "This API key is read-only."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        key = request.auth
        if isinstance(key, ApiKey) and key.read_only:
            return request.method in permissions.SAFE_METHODS
        return True


class ApiKeyThrottle(throttling.SimpleRateThrottle):
    """Requests per API key (per address when there is none), answered with 429 and Retry-After."""

    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if isinstance(request.auth, ApiKey):
            return f"throttle:key:{request.auth.pk}"
        return f"throttle:address:{self.get_ident(request)}"
