"""How cronsvc adapts django-allauth: who may sign up, the lockout, and its emails, which
go through cronsvc.emails with links to SITE_URL."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailConfirmation
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse

from accounts import lockout
from cronsvc import emails

# allauth's emails and the cronsvc templates (emails/<name>-subject.txt, -body.txt and
# -body.html) that say them. The others are off: security notifications
# (ACCOUNT_EMAIL_NOTIFICATIONS), sign-in and reset codes, mail to unknown addresses.
EMAIL_TEMPLATES = {
    "account/email/email_confirmation_signup": "emails/verify-email",
    "account/email/email_confirmation": "emails/verify-email",
    "account/email/password_reset_key": "emails/password-reset",
    "account/email/account_already_exists": "emails/account-already-exists",
}


def site_url(path: str) -> str:
    return settings.SITE_URL + path


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": "The email address or the password is not correct.",
        "too_many_login_attempts": "Too many failed sign-ins. Try again in "
        f"{settings.LOGIN_COOLOFF_MINUTES} minutes, or reset your password.",
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.SIGNUP_OPEN

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # Instead of allauth's per-account count, which lets anyone lock a member out:
        # allauth's authenticate() rolls this usage back when the password was right.
        self._login_failed_rl_usage = lockout.count_attempt(request, credentials.get("email", ""))
        if self._login_failed_rl_usage is None:
            raise self.validation_error("too_many_login_attempts")

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        template = EMAIL_TEMPLATES.get(template_prefix)
        if template is None:
            raise ImproperlyConfigured(f"cronsvc has no email for allauth's {template_prefix}")
        emails.send(template, to=email, context={**context, "email": email})

    def get_email_confirmation_url(
        self, request: HttpRequest | None, emailconfirmation: EmailConfirmation
    ) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_reset_password_from_key_url(self, key: str) -> str:
        uid, _, token = key.partition("-")
        return site_url(
            reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": token})
        )

    def send_account_already_exists_mail(self, email: str) -> None:
        self.send_mail(
            "account/email/account_already_exists",
            email,
            {
                "login_url": site_url(reverse("account_login")),
                "password_reset_url": site_url(reverse("account_reset_password")),
            },
        )
