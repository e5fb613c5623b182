import hashlib
import hmac
import secrets
import zoneinfo
from datetime import datetime

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone


def confirmed_primary_address(*, of: str = "pk") -> Exists:
    """Whether the member in the outer query (at `of`) has confirmed their sign-in address."""
    return Exists(EmailAddress.objects.filter(user=OuterRef(of), primary=True, verified=True))


class UserQuerySet(models.QuerySet):
    def with_verification(self) -> "UserQuerySet":
        """Members with `is_verified` answered by the same query (see User.is_verified)."""
        return self.annotate(has_confirmed_address=confirmed_primary_address())


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        # Emails are unique regardless of case, so log-in ignores case too.
        return self.get(email__iexact=email)

    def create_user(
        self, email: str, password: str | None = None, *, verified: bool = False, **fields
    ) -> "User":
        """A member and their sign-in address (allauth's EmailAddress), confirmed or not."""
        with transaction.atomic(using=self._db):
            user = self.model(email=self.normalize_email(email), **fields)
            user.set_password(password)
            user.save(using=self._db)
            EmailAddress.objects.using(self._db).create(
                user=user, email=user.email.lower(), primary=True, verified=verified
            )
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, verified=True, **fields)

    def email_taken(self, email: str) -> bool:
        """Whether a member signs in with this address or has confirmed it."""
        return (
            self.filter(email__iexact=email).exists()
            or EmailAddress.objects.filter(email__iexact=email, verified=True).exists()
        )


class User(AbstractUser):
    """A member. Signs in with an email address; there is no username."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address")
    timezone = models.CharField(max_length=64, default="UTC")
    # Where job notifications go, one of the member's confirmed addresses; empty means
    # the sign-in address. alert_address applies the rule.
    notification_email = models.EmailField(blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="unique_email_ignoring_case"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_verified(self) -> bool:
        """Whether the member has confirmed their sign-in address. Members loaded for a
        request come with the answer (UserQuerySet.with_verification); others ask."""
        annotated = self.__dict__.get("has_confirmed_address")
        if annotated is not None:
            return annotated
        return self.confirmed_addresses().filter(primary=True).exists()

    def confirmed_addresses(self) -> models.QuerySet[EmailAddress]:
        return EmailAddress.objects.filter(user=self, verified=True)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def alert_address(self) -> str | None:
        """Where job alerts go: the chosen notification address while it is one of the
        member's confirmed addresses, else the sign-in address once it is confirmed; None
        until there is one."""
        confirmed = {address.email.lower(): address for address in self.confirmed_addresses()}
        chosen = confirmed.get(self.notification_email.lower())
        if chosen is None:
            chosen = next((address for address in confirmed.values() if address.primary), None)
        return chosen.email if chosen else None


def hash_key(key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)

    def revoke_made_before(self, moment: datetime) -> list["ApiKey"]:
        """Revoke the active keys made before `moment`; the keys it revoked."""
        keys = list(self.active().filter(created_at__lt=moment))
        for key in keys:
            key.revoke()
        return keys


class ApiKey(models.Model):
    """A REST API key. Only its HMAC is stored; the prefix finds it and is shown."""

    PREFIX = "csk_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, user: User, name: str, read_only: bool = False) -> tuple["ApiKey", str]:
        """Create a key; the plain key is returned once and never stored."""
        prefix = cls.PREFIX + secrets.token_hex(4)
        plain = f"{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            user=user, name=name, prefix=prefix, key_hash=hash_key(plain), read_only=read_only
        )
        return key, plain

    def matches(self, plain: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_key(plain))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
