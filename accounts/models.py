import hashlib
import hmac
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
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

    def has_verified_address(self, email: str) -> bool:
        return self.is_verified and self.email.lower() == email.lower()

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
    """A REST API key of a project. Only its HMAC is stored; the prefix finds it and is
    shown. It acts as the member who made it, within its scope and their role."""

    PREFIX = "csk_"

    class Scope(models.TextChoices):
        READ = "read", "read (list and read, not change)"
        WRITE = "write", "write"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_keys")
    project = models.ForeignKey("Project", models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.WRITE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, *, user: User, project: "Project", name: str, scope: str = Scope.WRITE
    ) -> tuple["ApiKey", str]:
        """Create a key; the plain key is returned once and never stored."""
        prefix = cls.PREFIX + secrets.token_hex(4)
        plain = f"{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            user=user,
            project=project,
            name=name,
            prefix=prefix,
            key_hash=hash_key(plain),
            scope=scope,
        )
        return key, plain

    def matches(self, plain: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_key(plain))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def read_only(self) -> bool:
        return self.scope == self.Scope.READ

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class Role(models.TextChoices):
    """What a member may do in a project; each role may do what the ones before it may."""

    VIEWER = "viewer", "viewer (read only)"
    MEMBER = "member", "member (jobs)"
    ADMIN = "admin", "admin (members and keys)"
    OWNER = "owner", "owner"

    @classmethod
    def rank(cls, role: str) -> int:
        return cls.values.index(role)


class Project(models.Model):
    """What jobs, API keys and alert channels belong to; shared by its members."""

    name = models.CharField(max_length=100)
    # The one every member gets at sign-up.
    personal = models.BooleanField(default=False)
    # Every member must sign in with a second factor to work in it.
    require_2fa = models.BooleanField("require two-factor sign-in", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def owner(self) -> User:
        return self.memberships.get(role=Role.OWNER).user


class Membership(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=6, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_each"),
            # A project always has exactly one owner: at most one here, and the
            # operations that move ownership keep at least one.
            models.UniqueConstraint(
                fields=["project"], condition=Q(role="owner"), name="one_owner_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}: {self.role}"

    def may(self, role: str) -> bool:
        """Whether this member has at least `role`."""
        return Role.rank(self.role) >= Role.rank(role)


class Invitation(models.Model):
    """An owner or admin asked someone, by email address, to join a project."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=6, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True)
    # The link's secret, stored hashed like an API key.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.project} as {self.role}"


class AuditEntry(models.Model):
    """One change to a project's jobs, keys, members, roles or channels: who, what, when.
    Secret values are never recorded, only that they changed."""

    class Via(models.TextChoices):
        WEB = "web"
        API = "api"
        COMMAND = "command"

    project = models.ForeignKey(Project, models.CASCADE, related_name="audit_entries")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True)
    # The member's address, or the API key's prefix: kept as it was when they acted.
    actor_label = models.CharField(max_length=254)
    via = models.CharField(max_length=7, choices=Via.choices)
    action = models.CharField(max_length=40)  # e.g. job.updated, key.created, member.removed
    object_type = models.CharField(max_length=20)
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=200)
    # {field: [old, new]}; secrets as "(changed)".
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["project", "-at"], name="audit_project_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
