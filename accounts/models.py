import hashlib
import hmac
import secrets
import zoneinfo
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from cronsvc import crypto

# After a rotation the replaced signing secret still signs for this long, so targets have a
# day to take the new one.
SIGNING_SECRET_OVERLAP = timedelta(hours=24)


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

    def has_verified_address(self, email: str) -> bool:
        return self.confirmed_addresses().filter(email__iexact=email).exists()


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


def new_badge_key() -> str:
    """The secret part of a badge's public URL: unguessable, and replaced to revoke it."""
    return secrets.token_urlsafe(16)


class Project(models.Model):
    """What jobs, API keys and alert channels belong to; shared by its members."""

    name = models.CharField(max_length=100)
    # The one every member gets at sign-up.
    personal = models.BooleanField(default=False)
    # Every member must sign in with a second factor to work in it.
    require_2fa = models.BooleanField("require two-factor sign-in", default=False)
    # The secret jobs that sign their requests sign with (jobs/outbound/signing.py), and
    # the one it replaced, still signing until SIGNING_SECRET_OVERLAP after the rotation:
    # both encrypted like target credentials.
    signing_secret_encrypted = models.TextField(blank=True)
    previous_signing_secret_encrypted = models.TextField(blank=True)
    signing_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # The key in the public URLs of its tags' badges (jobs/badges.py); each job has its own.
    tag_badge_key = models.CharField(max_length=32, unique=True, default=new_badge_key)
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

    @property
    def has_signing_secret(self) -> bool:
        return bool(self.signing_secret_encrypted)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a request is signed with at `now`, newest first: the current one,
        and the one it replaced while the overlap after a rotation lasts."""
        if not self.has_signing_secret:
            return []
        signing = [crypto.decrypt(self.signing_secret_encrypted)]
        rotated = self.signing_secret_rotated_at
        if self.previous_signing_secret_encrypted and now < rotated + SIGNING_SECRET_OVERLAP:
            signing.append(crypto.decrypt(self.previous_signing_secret_encrypted))
        return signing


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
