import hashlib
import hmac
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        # Emails are unique regardless of case, so log-in ignores case too.
        return self.get(email__iexact=email)

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, email_verified_at=timezone.now())
        return self.create_user(email, password, **fields)


class User(AbstractUser):
    """A member. Signs in with an email address; there is no username."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Where job notifications go; empty means the sign-in address.
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
        return self.email_verified_at is not None

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def alert_address(self) -> str | None:
        """Where job alerts go: the notification address (stored only once confirmed),
        else the sign-in address once it is confirmed; None until there is one."""
        if self.notification_email:
            return self.notification_email
        return self.email if self.is_verified else None

    def mark_verified(self) -> None:
        if not self.is_verified:
            self.email_verified_at = timezone.now()
            self.save(update_fields=["email_verified_at"])


def hash_key(key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


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
