"""People: members, sign-in (django-allauth, with two-factor sign-in), API keys."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User


def mfa_enabled(user: "User") -> bool:
    """Whether the member has turned on two-factor sign-in (an authenticator app, a
    security key or passkey); they are then asked for it at every sign-in."""
    # Imported here: allauth's models cannot load before the apps are ready.
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import is_mfa_enabled

    # Recovery codes alone are not a second factor: they come with one.
    return is_mfa_enabled(user, types=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
