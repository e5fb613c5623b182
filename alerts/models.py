"""Where a project's alerts go (channels), and each alert on its way to one (deliveries)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts import apprise_guard
from cronsvc import crypto
from jobs.validators import validate_target_url, validate_timezone_name

# A weekly window lasts at most a week, so the day it started is one of the last eight.
MAX_WINDOW_MINUTES = 7 * 24 * 60
WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class Channel(models.Model):
    """One place a project's alerts go: an email address, a webhook, or any service Apprise
    speaks to (Slack, Discord, Telegram, Teams, ntfy, …)."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"
        APPRISE = "apprise"

    project = models.ForeignKey("accounts.Project", models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    # The webhook or Apprise URL, which holds its tokens: encrypted like target credentials.
    url_encrypted = models.TextField(blank=True)
    address = models.EmailField(blank=True)
    # When the address's owner opened the confirmation link (email channels only).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # New jobs of the project select the default channels.
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        """Each kind's settings, errors under the field they belong to (the form's and
        the API's): an email address, a webhook to a public http(s) host, or an Apprise URL
        of an accepted scheme (alerts/apprise_guard.py)."""
        if self.kind == self.Kind.EMAIL:
            if not self.address:
                raise ValidationError({"address": "Enter the address alerts go to."})
            return
        if not self.url_encrypted:
            raise ValidationError({"url": "Enter the URL alerts go to."})
        check = (
            validate_target_url if self.kind == self.Kind.WEBHOOK else apprise_guard.validate_url
        )
        try:
            check(self.url)
        except ValidationError as error:
            raise ValidationError({"url": error.messages}) from None

    @property
    def url(self) -> str:
        return crypto.decrypt(self.url_encrypted)

    @url.setter
    def url(self, value: str) -> None:
        self.url_encrypted = crypto.encrypt(value)

    @property
    def shown_url(self) -> str:
        """The URL with its secrets left out: scheme and host only, and the scheme alone
        for services whose "host" is a token (slack://T1JJ3T3L2/… names the workspace)."""
        if not self.url_encrypted:
            return ""
        parts = urlsplit(self.url)
        if parts.scheme in apprise_guard.FIXED_HOST_SCHEMES:
            return f"{parts.scheme}://…"
        return f"{parts.scheme}://{parts.hostname or ''}/…"

    @property
    def label(self) -> str:
        return self.name or self.address or self.shown_url

    def is_confirmed(self) -> bool:
        """Usable for alerts: webhooks and Apprise at once; an email address once its owner
        opened the confirmation link, or when a member of the project has confirmed it
        as one of their own addresses (as alerts went to members' addresses before)."""
        if self.kind != self.Kind.EMAIL or self.confirmed_at is not None:
            return True
        return EmailAddress.objects.filter(
            email__iexact=self.address, verified=True, user__memberships__project=self.project_id
        ).exists()


class Delivery(models.Model):
    """One alert (a health change, or a test) on its way to one channel: written with the
    change, claimed by the notifier, sent, then marked (alerts/outbox.py)."""

    class Kind(models.TextChoices):
        FAILING = "failing"
        RECOVERED = "recovered"
        DISABLED = "disabled"
        REMINDER = "reminder"
        STOPPED = "stopped"  # the job's ordering key's queue stopped
        TEST = "test"

    class Status(models.TextChoices):
        PENDING = "pending"
        HELD = "held"  # in the job's quiet time; summed up when it ends (alerts/quiet.py)
        SENDING = "sending"
        SENT = "sent"
        NOT_SENT = "not_sent"  # turned off for the job, an unconfirmed address, or held
        FAILED = "failed"  # given up after retrying for a day

    channel = models.ForeignKey(Channel, models.CASCADE, related_name="deliveries")
    # None for a test; a job's deliveries to a channel go out in order.
    job = models.ForeignKey("jobs.Job", models.CASCADE, null=True, blank=True, related_name="+")
    change = models.ForeignKey(
        "jobs.HealthChange", models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    # When a notifier claimed it; a claim left this long unfinished is retried.
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # After a failed send: not before this (backoff).
    retry_after = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The notifier's queue: only undelivered rows.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_undelivered_idx",
            ),
            # Jobs with alerts held in quiet time (alerts/quiet.py release_ended).
            models.Index(fields=["job"], condition=Q(status="held"), name="delivery_held_idx"),
            # A channel's last deliveries (its page and the API).
            models.Index(fields=["channel", "-id"], name="delivery_channel_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.channel}: {self.status}"


class MaintenanceWindow(models.Model):
    """A time the project's jobs run as ever but their alerts are held (alerts/quiet.py):
    once, from starts_at to ends_at, or every week on the weekdays (0 Monday … 6 Sunday)
    from start_time for duration_minutes, in the window's timezone."""

    project = models.ForeignKey(
        "accounts.Project", models.CASCADE, related_name="maintenance_windows"
    )
    name = models.CharField(max_length=100, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)]),
        default=list,
        blank=True,
    )
    start_time = models.TimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name or f"Maintenance window {self.id}"

    @property
    def description(self) -> str:
        """When it is on, in words, in its timezone (the Channels page)."""
        zone = ZoneInfo(self.timezone)
        if not self.is_weekly:
            start, end = (moment.astimezone(zone) for moment in (self.starts_at, self.ends_at))
            return f"From {start:%a %d %b %Y, %H:%M} to {end:%a %d %b %Y, %H:%M} ({self.timezone})"
        days = ", ".join(WEEKDAY_NAMES[day] for day in sorted(self.weekdays))
        return (
            f"Every {days} at {self.start_time:%H:%M} for {self.duration_minutes} minutes "
            f"({self.timezone})"
        )

    @property
    def is_weekly(self) -> bool:
        return self.starts_at is None and self.ends_at is None

    def clean(self) -> None:
        """Either a one-off window or a weekly one, with errors under each field."""
        errors = self.one_off_errors() if not self.is_weekly else self.weekly_errors()
        if errors:
            raise ValidationError(errors)

    def one_off_errors(self) -> dict[str, str]:
        if self.starts_at is None:
            return {"starts_at": "Enter when it starts."}
        if self.ends_at is None:
            return {"ends_at": "Enter when it ends."}
        if self.ends_at <= self.starts_at:
            return {"ends_at": "It must end after it starts."}
        if self.weekdays or self.start_time or self.duration_minutes:
            return {"weekdays": "A window with a start and an end has no weekdays."}
        return {}

    def weekly_errors(self) -> dict[str, str]:
        errors = {}
        if not self.weekdays:
            errors["weekdays"] = "Choose a weekday, or give a start and an end."
        if self.start_time is None:
            errors["start_time"] = "Enter the time it starts."
        if not self.duration_minutes or self.duration_minutes > MAX_WINDOW_MINUTES:
            errors["duration_minutes"] = f"Between 1 and {MAX_WINDOW_MINUTES} minutes (a week)."
        return errors

    def is_on(self, now: datetime) -> bool:
        """Whether `now` is within the window."""
        if not self.is_weekly:
            return self.starts_at <= now < self.ends_at
        zone = ZoneInfo(self.timezone)
        today = now.astimezone(zone).date()
        length = timedelta(minutes=self.duration_minutes)
        for days_back in range(8):
            day = today - timedelta(days=days_back)
            if day.weekday() in self.weekdays:
                # In UTC, so a window across a DST change lasts its minutes exactly.
                start = datetime.combine(day, self.start_time, zone).astimezone(UTC)
                if start <= now < start + length:
                    return True
        return False
