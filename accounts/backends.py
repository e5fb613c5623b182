from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend

from accounts.models import User


class AuthenticationBackend(AllauthBackend):
    """allauth's sign-in by email. A session counts only for a member who has confirmed
    their address: until then the account may be someone else's, who signed up with it
    (allauth signs no one in before that; this holds for sessions made any other way)."""

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.with_verification().filter(pk=user_id, has_confirmed_address=True)
        user = user.first()
        return user if user is not None and self.user_can_authenticate(user) else None
