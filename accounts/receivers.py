"""What follows allauth's events: a signed-in browser becomes a known device, and a
password reset or a newly confirmed address ends the member's other sessions and revokes
their API keys.

Whoever holds an account before its address is proven (someone who signed up with another
person's address, or who knew the old password) keeps nothing past that proof: not a
session, not a key."""

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, password_reset, user_logged_in
from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts import lockout
from accounts.models import User


@receiver(user_logged_in)
def remember_device(
    sender: type, *, request: HttpRequest, response: HttpResponse, user: User, **kwargs
) -> None:
    lockout.remember_device(request, response, user)


@receiver(password_reset)
def secure_after_reset(sender: type, *, request: HttpRequest, user: User, **kwargs) -> None:
    lockout.unlock_unknown_devices(request, user)
    end_other_sessions_and_revoke_keys(request, user, because="Your password was reset")
    # An account with no confirmed address has only the one it signed up with (adding
    # another needs a log-in), and the reset link went there: that proves it as the
    # confirmation link would, so the owner logs in now instead of after a second email.
    addresses = list(user.emailaddress_set.all())
    if len(addresses) == 1 and not addresses[0].verified:
        get_account_adapter(request).confirm_email(request, addresses[0])


@receiver(email_confirmed)
def secure_after_confirmation(
    sender: type, *, request: HttpRequest, email_address: EmailAddress, **kwargs
) -> None:
    end_other_sessions_and_revoke_keys(
        request, email_address.user, because=f"You confirmed {email_address.email}"
    )


def end_other_sessions_and_revoke_keys(request: HttpRequest, user: User, *, because: str) -> None:
    moment = timezone.now()
    others = UserSession.objects.filter(user=user).exclude(session_key=request.session.session_key)
    usersessions_adapter().end_sessions(list(others))
    revoked = user.api_keys.revoke_made_before(moment)
    if revoked:
        names = ", ".join(f"“{key.name}” ({key.prefix}…)" for key in revoked)
        messages.warning(
            request,
            f"{because}, so the API keys made before it are revoked: {names}. "
            "Create new ones under Settings → API keys.",
        )
