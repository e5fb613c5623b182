from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend

from accounts.models import User


class AuthenticationBackend(AllauthBackend):
    """allauth's sign-in by email. The member of each request is loaded with whether they
    have confirmed their address, which most pages ask (User.is_verified)."""

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.with_verification().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
