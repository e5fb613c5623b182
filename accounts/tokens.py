"""Signed, expiring links that confirm an email address belongs to a member."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.models import User

SALT = "accounts.verify-email"


class BadToken(Exception):
    pass


def verification_url(user: User, email: str) -> str:
    token = signing.dumps({"user": user.pk, "email": email.lower()}, salt=SALT)
    return settings.SITE_URL + reverse("verify_email", args=[token])


def read_verification_token(token: str) -> tuple[User, str]:
    """The member and the address the link confirms, or BadToken saying why not."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise BadToken("This link has expired. Log in and ask for a new one.") from None
    except signing.BadSignature:
        raise BadToken("This link is not valid. Check that you copied all of it.") from None
    user = User.objects.filter(pk=data["user"]).first()
    if user is None:
        raise BadToken("This link is for an account that no longer exists.")
    return user, data["email"]
