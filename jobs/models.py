import json
import secrets
import zlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import new_badge_key
from cronsvc import crypto
from jobs import assertions, validators, variables
from jobs.outbound.http import BODY_KEPT_KIB, same_origin
from jobs.schedules import Schedule, schedule_for

if TYPE_CHECKING:
    from accounts.models import Project

MAX_RETRIES = 5
MAX_SPREAD_SECONDS = 300
MAX_AFTER_DELAY_SECONDS = 3600
MAX_REMIND_EVERY_HOURS = 24 * 7
# A due job this far past its next run means dispatching is behind or stopped.
STALE_JOB_AFTER = timedelta(minutes=2)
# A test run still pending this long after the longest timeout is taken for lost.
TEST_RUN_GRACE_SECONDS = 60


class Method(models.TextChoices):
    # Labels as HTTP spells them (TextChoices would make "Get" of the name).
    GET = "GET", "GET"
    HEAD = "HEAD", "HEAD"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"
    PATCH = "PATCH", "PATCH"
    DELETE = "DELETE", "DELETE"


BODY_KEPT_LABELS = {
    0: "None (status and headers only)",
    1: "The first 1 KiB",
    8: "The first 8 KiB",
    64: "The first 64 KiB",
}


class JobQuerySet(models.QuerySet):
    def due(self, until: datetime) -> "JobQuerySet":
        # Served by the partial index jobs_due_idx: one range scan over enabled jobs.
        return self.filter(enabled=True, next_run_at__lte=until).order_by("next_run_at")

    def stale(self, now: datetime) -> "JobQuerySet":
        """Enabled jobs whose next run is well past: dispatching is not keeping up, or has
        stopped (the operator page and /metrics)."""
        return self.due(now - STALE_JOB_AFTER)

    def search(self, text: str) -> "JobQuerySet":
        return self.filter(Q(title__icontains=text) | Q(url__icontains=text))

    def tagged(self, tag: str) -> "JobQuerySet":
        # JSON containment (tags__contains) is PostgreSQL-only; SQLite (make run) has none.
        # A tag holds no quote or backslash (validators.TAG), so its JSON string, quotes
        # and all, appears in the stored list's text exactly when the list holds it. Always
        # within one project, so the scan is over at most MAX_JOBS_PER_PROJECT rows.
        return self.filter(tags__icontains=json.dumps(tag.strip().lower()))


class JobLimitReached(Exception):
    """No room for another job: the project's cap, or its owner's. `room` is how many of
    the jobs asked for would have fitted."""

    def __init__(self, message: str, *, room: int = 0) -> None:
        super().__init__(message)
        self.room = room


@contextmanager
def room_for_a_job(
    project: "Project", member: AbstractBaseUser, *, count: int = 1
) -> Iterator[None]:
    """Make a job (or `count` jobs, an import's) inside this block, or raise JobLimitReached
    saying which cap it would pass.

    The owner's cap counts the jobs of every project they own, so their row is the one lock
    for both caps: held while the jobs are counted and the new ones saved, parallel creates
    cannot pass a cap together."""
    with transaction.atomic():
        owner = (
            get_user_model()
            .objects.select_for_update(of=("self",))
            .get(memberships__project=project, memberships__role="owner")
        )
        room = settings.MAX_JOBS_PER_PROJECT - project.jobs.count()
        if room < count:
            limit = settings.MAX_JOBS_PER_PROJECT
            raise JobLimitReached(
                f"This project has reached the limit of {limit} jobs.", room=max(room, 0)
            )
        owned = Job.objects.filter(
            project__memberships__user=owner, project__memberships__role="owner"
        )
        room = settings.MAX_JOBS_PER_MEMBER - owned.count()
        if room < count:
            who = "You have" if owner == member else "The project's owner has"
            limit = settings.MAX_JOBS_PER_MEMBER
            raise JobLimitReached(f"{who} reached the limit of {limit} jobs.", room=max(room, 0))
        yield


class Credentials(models.Model):
    """A target's credentials, encrypted at rest (cronsvc/crypto.py): a job's, and the copy a
    test run keeps until it has sent them. Never stored or shown in plain text."""

    # Header values the member marked secret (tokens, API keys): encrypted JSON.
    secret_headers_encrypted = models.TextField(blank=True)
    auth_password_encrypted = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def auth_password(self) -> str:
        return crypto.decrypt(self.auth_password_encrypted)

    @auth_password.setter
    def auth_password(self, value: str) -> None:
        self.auth_password_encrypted = crypto.encrypt(value)

    @property
    def secret_headers(self) -> dict[str, str]:
        return json.loads(crypto.decrypt(self.secret_headers_encrypted) or "{}")

    @secret_headers.setter
    def secret_headers(self, headers: dict[str, str]) -> None:
        self.secret_headers_encrypted = crypto.encrypt(json.dumps(headers)) if headers else ""

    @property
    def auth_password_set(self) -> bool:
        return bool(self.auth_password_encrypted)


class PublicState(models.TextChoices):
    """A job's state as the public sees it (badges, status pages), best first."""

    UP = "up"
    PAUSED = "paused"
    FAILING = "failing"


class AfterOutcome(models.TextChoices):
    SUCCESS = "success", "succeeds"
    FAILURE = "failure", "fails"
    ANY = "any", "finishes"


class OrderingOnFailure(models.TextChoices):
    CONTINUE = "continue", "the queue goes on"
    STOP = "stop", "the queue stops until resumed"


class Job(Credentials):
    project = models.ForeignKey("accounts.Project", models.CASCADE, related_name="jobs")
    # Who made it; the job stays with its project when they leave.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    title = models.CharField(max_length=200)
    url = models.CharField(
        "URL", max_length=validators.MAX_URL_LENGTH, validators=[validators.validate_job_url]
    )
    method = models.CharField(max_length=6, choices=Method.choices, default=Method.GET)
    # The URL, header values and body may hold variables (jobs/variables.py), filled in per
    # attempt; secret header values and the password are sent as written.
    headers = models.JSONField(
        default=dict,
        blank=True,
        validators=[validators.validate_headers, variables.validate_header_values],
    )
    body = models.TextField(
        blank=True, validators=[validators.validate_body, variables.validate_text]
    )
    auth_username = models.CharField(
        "basic auth username",
        max_length=200,
        blank=True,
        validators=[validators.validate_auth_username],
    )
    # When it runs: a schedule, or once at run_at, or (with neither) only after after_job.
    schedule = models.CharField(
        max_length=100, blank=True, validators=[validators.validate_schedule]
    )
    run_at = models.DateTimeField(null=True, blank=True)
    # A one-off job that ran is disabled; with this set it is deleted, with its history,
    # when that history would be pruned anyway (jobs/engine/retention.py).
    delete_after_run = models.BooleanField(default=False)
    # Each run starts this job's fixed share of up to this many seconds after its slot,
    # so many jobs on one slot do not all call at its first second (Job.spread_offset).
    spread_seconds = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(MAX_SPREAD_SECONDS)]
    )
    # Each final outcome of this job's runs that matches after_outcome triggers one run of
    # this job, after_delay_seconds later (jobs/engine/chains.py).
    after_job = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="chained_jobs"
    )
    after_outcome = models.CharField(
        max_length=7, choices=AfterOutcome.choices, default=AfterOutcome.ANY
    )
    after_delay_seconds = models.PositiveIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(MAX_AFTER_DELAY_SECONDS)]
    )
    # Runs of the project's jobs with the same key execute one at a time, in order of
    # scheduled time then job id (jobs/engine/ordering.py); blank: no key.
    ordering_key = models.CharField(
        max_length=100, blank=True, validators=[validators.validate_ordering_key]
    )
    # What a failed final outcome of this job's run does to its key's queue.
    ordering_on_failure = models.CharField(
        max_length=8, choices=OrderingOnFailure.choices, default=OrderingOnFailure.CONTINUE
    )
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validators.validate_timezone_name]
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(settings.MAX_TIMEOUT_SECONDS)],
    )
    expected_statuses = models.JSONField(
        default=list, blank=True, validators=[validators.validate_expected_statuses]
    )
    follow_redirects = models.BooleanField(default=True)
    # Each request carries Standard Webhooks signature headers made with the project's
    # signing secret (jobs/outbound/signing.py), so the target can tell it came from us.
    sign_requests = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    notify_on_failure = models.BooleanField(default=True)
    notify_on_recovery = models.BooleanField(default=True)
    notify_on_disable = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Short labels to find and act on many jobs at once (JobQuerySet.tagged, jobs/bulk.py).
    tags = models.JSONField(default=list, blank=True, validators=[validators.validate_tags])
    next_run_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # A slot's failed attempt is tried again this many times (for reasons worth it),
    # the first retry after retry_delay_seconds, each later one after twice as long.
    retries = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(MAX_RETRIES)]
    )
    retry_delay_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    # Checks on the response, all of which must hold for success (jobs/assertions.py).
    assertions = models.JSONField(default=list, blank=True, validators=[assertions.validate])
    # How much of each response's body its executions keep: the database a job costs.
    response_body_kib = models.PositiveSmallIntegerField(
        "response body kept",
        choices=[(kib, BODY_KEPT_LABELS[kib]) for kib in BODY_KEPT_KIB],
        default=8,
    )
    # Where its alerts go; a new job selects its project's default channels.
    channels = models.ManyToManyField("alerts.Channel", blank=True, related_name="jobs")
    # Failing after this many failures in a row (and one alert per failing streak).
    failure_threshold = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    # While failing, a reminder every this many hours (0: none).
    remind_every_hours = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(MAX_REMIND_EVERY_HOURS)]
    )
    # Until then its alerts are held, and summed up once it ends (alerts/quiet.py).
    alerts_muted_until = models.DateTimeField(null=True, blank=True)
    # Moved only by jobs/engine/health.py; each move is recorded as a HealthChange.
    failing = models.BooleanField(default=False)
    # When the next reminder is due, while failing with reminders on (jobs/engine/health.py).
    remind_at = models.DateTimeField(null=True, blank=True)
    # The key in its badge's public URL (jobs/badges.py); an admin rotates it to revoke one.
    badge_key = models.CharField(max_length=32, unique=True, default=new_badge_key)
    # The latest finished execution, kept on the row so lists need no per-job query.
    last_execution = models.ForeignKey(
        "Execution", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            # The dispatch tick's query (Job.objects.due) reads only this.
            models.Index(fields=["next_run_at"], condition=Q(enabled=True), name="jobs_due_idx"),
            # The notifier's reminder query (health.remind_due) reads only this.
            models.Index(
                fields=["remind_at"], condition=Q(remind_at__isnull=False), name="jobs_remind_idx"
            ),
            # A key's jobs (jobs/engine/ordering.py): only jobs that have one.
            models.Index(
                fields=["project", "ordering_key"],
                condition=~Q(ordering_key=""),
                name="jobs_ordering_key_idx",
            ),
        ]

    # When the job runs, as last loaded or saved; None for a job not saved yet.
    saved_timing: tuple | None = None
    TIMING_FIELDS = frozenset(
        {"schedule", "run_at", "spread_seconds", "timezone", "enabled", "expires_at"}
    )
    # Its ordering key as last loaded or saved.
    saved_ordering_key = ""

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if self.pk is None:
            # A copy of a job must not share its original's badge.
            self.badge_key = new_badge_key()
        if self.pk is None and self.spread_seconds:
            # The spread offset comes from the id: insert first to have one.
            super().save(*args, **kwargs)
            args, kwargs = (), {"update_fields": ["next_run_at"]}
        # Only a change of when the job runs moves next_run_at: other edits must
        # not push a slot that is due now past the dispatcher.
        if self.timing != self.saved_timing or (self.enabled and self.next_run_at is None):
            self.next_run_at = self.compute_next_run(timezone.now())
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "next_run_at"}
        adding = self.pk is None  # a copy too: it was loaded, so _state.adding is False
        super().save(*args, **kwargs)
        self.saved_timing = self.timing
        if self.saved_ordering_key and not self.ordering_key:
            # Its waiting runs have no queue left to wait in (jobs/engine/ordering.py): they
            # go, as the tick sends retries.
            self.executions.filter(status="pending", waiting=True).update(
                waiting=False, waiting_on=None
            )
        self.saved_ordering_key = self.ordering_key
        if adding:
            # Every way a job is made (API, form, copy) starts from the project's defaults;
            # a form or API call that names channels sets them after this.
            self.channels.set(self.project.channels.filter(is_default=True))

    @classmethod
    def from_db(cls, db: str, field_names: list[str], values: list) -> "Job":
        job = super().from_db(db, field_names, values)
        # Deletion loads jobs with most fields deferred; reading them here would recurse.
        deferred = job.get_deferred_fields()
        if not cls.TIMING_FIELDS & deferred:
            job.saved_timing = job.timing
        if "ordering_key" not in deferred:
            job.saved_ordering_key = job.ordering_key
        return job

    @property
    def timing(self) -> tuple:
        return (
            self.schedule,
            self.run_at,
            self.spread_seconds,
            self.timezone,
            self.enabled,
            self.expires_at,
        )

    @property
    def state(self) -> str:
        """What its badge and status pages show: failing (even while paused, until a success
        says otherwise), else paused (by a member, or disabled for failing), else up."""
        if self.failing:
            return PublicState.FAILING
        return PublicState.UP if self.enabled else PublicState.PAUSED

    @property
    def parsed_schedule(self) -> Schedule:
        return schedule_for(self.schedule, self.timezone)

    def is_muted(self, now: datetime) -> bool:
        """Its alerts are muted at `now`: one half of "is it quiet?" (alerts/quiet.py)."""
        return self.alerts_muted_until is not None and self.alerts_muted_until > now

    @property
    def alerts_are_muted(self) -> bool:
        return self.is_muted(timezone.now())

    @property
    def spread_offset(self) -> timedelta:
        """This job's fixed delay after each slot: the same for every run, and spread
        evenly over the jobs (a checksum of the id, so every process agrees)."""
        if not self.spread_seconds or self.pk is None:
            return timedelta(0)
        return timedelta(seconds=zlib.crc32(str(self.pk).encode()) % (self.spread_seconds + 1))

    def slot_after(self, after: datetime) -> datetime | None:
        """The job's next slot strictly after `after`, before its spread; None when it has
        none: a one-off job past its time, or a job that runs only after another."""
        if self.run_at:
            return self.run_at if self.run_at > after else None
        if self.schedule:
            return self.parsed_schedule.next_after(after)
        return None

    def compute_next_run(self, after: datetime) -> datetime | None:
        """The next run strictly after `after`: the one place the spread is applied."""
        if not self.enabled:
            return None
        offset = self.spread_offset
        slot = self.slot_after(after - offset)
        if slot is None:
            return None
        run = slot + offset
        if self.expires_at and run > self.expires_at:
            return None
        return run

    def next_runs(self, count: int = 3) -> list[datetime]:
        if not self.enabled or self.next_run_at is None:
            return []
        runs = [self.next_run_at]
        while len(runs) < count and (run := self.compute_next_run(runs[-1])):
            runs.append(run)
        return runs

    def describe_schedule(self) -> str:
        if self.run_at:
            return "Once"
        if self.schedule:
            return self.parsed_schedule.describe()
        return "Only after another job"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def forget_credentials_elsewhere(self, saved_url: str, given: Collection[str]) -> str:
        """Credentials belong to the site they were given for: when the URL moves to another
        origin (scheme, host or port), the saved password and secret headers are dropped
        unless this same change gives them again (`given` names the fields it gives), as
        redirects drop them. Says what was dropped, for the member; empty when nothing was."""
        if not saved_url or same_origin(saved_url, self.url):
            return ""
        dropped = []
        if self.auth_password_set and "auth_password" not in given:
            self.auth_password = ""
            dropped.append("password")
        if self.secret_headers_encrypted and "secret_headers" not in given:
            self.secret_headers = {}
            dropped.append("secret headers")
        if not dropped:
            return ""
        return (
            f"The URL now points at another site, so the saved {' and '.join(dropped)} "
            f"{'was' if dropped == ['password'] else 'were'} removed. "
            "Enter them again if the new site needs them."
        )


class Execution(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        CATCH_UP = "catch_up"
        # Triggered by a final outcome of the job it runs after (Job.after_job).
        CHAIN = "chain"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"
        MISSED = "missed"

    class Reason(models.TextChoices):
        HTTP_STATUS = "http_status", "unexpected HTTP status"
        TIMEOUT = "timeout", "timeout"
        DNS = "dns", "DNS lookup failed"
        CONNECT = "connect", "could not connect"
        TLS = "tls", "TLS error"
        BLOCKED = "blocked", "blocked (internal address)"
        TOO_LARGE = "too_large", "response too large"
        INVALID_RESPONSE = "invalid_response", "invalid response"
        ASSERTION = "assertion", "a check on the response failed"
        # The worker died with the request in flight: the target may have had it.
        WORKER_LOST = "worker_lost", "worker lost"
        # The request could not be built, or an error we did not classify.
        INTERNAL = "internal", "internal error"

    job = models.ForeignKey(Job, models.CASCADE, related_name="executions")
    scheduled_for = models.DateTimeField()
    # 1 for a slot's first try; a retry is a row of its own, due at scheduled_for.
    attempt = models.PositiveSmallIntegerField(default=1)
    retry_of = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="retries"
    )
    # On a chain run: the parent's run whose final outcome triggered it.
    chained_from = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="chained_runs"
    )
    # How many chain runs led to this one (0 for a run of its own): a loop made despite the
    # checks (two edits at once) stops at the deepest chain allowed.
    chain_depth = models.PositiveSmallIntegerField(default=0)
    # A run of a job with an ordering key, waiting for its turn: not sent until the run
    # ahead of it in the key's queue has its final outcome (jobs/engine/ordering.py).
    waiting = models.BooleanField(default=False)
    # While waiting: the run it waits on (the key's running one, or the one that stopped it).
    waiting_on = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+")
    # On a failed attempt that will be tried again: when.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the request left: a connection was had and the request sent. None when it
    # never left (no connection in time, a DNS or connect failure, a blocked address).
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    lateness_ms = models.IntegerField(null=True, blank=True)
    failure_reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    # Headers past the cap (jobs/outbound/http.py kept_headers) are counted, not kept.
    response_headers_omitted = models.PositiveSmallIntegerField(default=0)
    response_body = models.TextField(blank=True)
    response_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    # The request as sent (jobs/masking.py request_record); None before it was recorded.
    request = models.JSONField(null=True, blank=True)
    # DNS, connect (with TLS) and first-byte times in ms, as far as the client saw them.
    timings = models.JSONField(default=dict, blank=True)
    # On a `missed` row: how many slots in a row it stands for.
    missed_count = models.PositiveIntegerField(default=0)
    # When it was last put on the broker; the recovery sweep re-sends lost ones.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # The worker process that claimed it (its Heartbeat instance); a run whose claimer
    # stopped proving it is alive was lost with it.
    claimed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-scheduled_for"]
        constraints = [
            # One execution per job and slot, whoever dispatches it.
            models.UniqueConstraint(fields=["job", "scheduled_for"], name="one_execution_per_slot"),
            # One chain run per parent run, however often its outcome is recorded.
            models.UniqueConstraint(
                fields=["job", "chained_from"],
                condition=Q(chained_from__isnull=False),
                name="one_chain_run_per_parent_run",
            ),
        ]
        indexes = [
            models.Index(fields=["job", "-scheduled_for"], name="execution_history_idx"),
            # Counts over the last hour or day (operator page, metrics) and pruning.
            models.Index(fields=["scheduled_for"], name="execution_scheduled_idx"),
            # The recovery sweep looks only at unfinished executions.
            models.Index(
                fields=["status", "enqueued_at"],
                condition=Q(status__in=["pending", "running"]),
                name="execution_unfinished_idx",
            ),
            # The dispatch tick's second query: retries, chain runs and released keyed runs
            # due and not yet sent.
            models.Index(
                fields=["scheduled_for"],
                condition=Q(status="pending", enqueued_at__isnull=True, waiting=False),
                name="execution_retry_due_idx",
            ),
            # A job's unfinished runs: the worker's busy check and an ordering key's queue.
            models.Index(
                fields=["job"],
                condition=Q(status__in=["pending", "running"]),
                name="execution_unfinished_job_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} at {self.scheduled_for:%Y-%m-%d %H:%M}: {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)


class OrderingKey(models.Model):
    """The lock and the state of one ordering key of a project: its row is locked whenever
    the key's queue moves (jobs/engine/ordering.py). Made when a run first uses the key."""

    project = models.ForeignKey("accounts.Project", models.CASCADE, related_name="ordering_keys")
    name = models.CharField(max_length=100)
    # Set while the queue is stopped by a failure (ordering_on_failure = stop).
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        Execution, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_ordering_key_per_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None


class HealthChange(models.Model):
    """A job went failing, recovered or was disabled (or is still failing: a reminder):
    written in the transaction of its cause, with a delivery to each of the job's channels
    (alerts/delivery.py)."""

    class Kind(models.TextChoices):
        FAILING = "failing"
        RECOVERED = "recovered"
        DISABLED = "disabled"
        REMINDER = "reminder"
        # A failure of this job stopped its ordering key's queue (jobs/engine/ordering.py).
        STOPPED = "stopped"

    job = models.ForeignKey(Job, models.CASCADE, related_name="health_changes")
    execution = models.ForeignKey(Execution, models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # The failures in a row when the change happened (for a recovery: the streak it
    # ended), kept because the job's own count moves on before a delayed alert goes.
    failures_in_a_row = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.job} {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class TestRun(Credentials):
    """One test run a member asked for (the job form's Test run, the API's test-run): the
    request as it was then, sent once by a worker (jobs/engine/test_runs.py), and what came
    back. Not a job's history: kept a day (jobs/engine/retention.py)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    project = models.ForeignKey("accounts.Project", models.CASCADE, related_name="test_runs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="test_runs"
    )
    # The request to send, as the form or the API gave it (validated there, and guarded
    # again at connect). Credentials are cleared once it has been sent.
    method = models.CharField(max_length=6, choices=Method.choices)
    url = models.CharField("URL", max_length=validators.MAX_URL_LENGTH)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    auth_username = models.CharField(max_length=200, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField()
    expected_statuses = models.JSONField(default=list, blank=True)
    follow_redirects = models.BooleanField(default=True)
    sign_requests = models.BooleanField(default=False)
    assertions = models.JSONField(default=list, blank=True)
    # As much of the body as the job keeps, so the test run shows what its history would.
    response_body_kib = Job._meta.get_field("response_body_kib").clone()

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set by the worker that sends it, compare-and-set: a second copy of the message sends nothing.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=20, choices=Execution.Reason.choices, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_headers_omitted = models.PositiveSmallIntegerField(default=0)
    response_body = models.TextField(blank=True)
    response_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    # Each check on the response: {"description", "passed", "found"}.
    assertion_results = models.JSONField(default=list, blank=True)
    # The request as sent, variables filled in (jobs/masking.py request_record).
    request = models.JSONField(null=True, blank=True)

    # Pytest would otherwise collect this model as a test class.
    __test__ = False

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Test run of {self.url} at {self.created_at:%Y-%m-%d %H:%M}: {self.status}"

    @classmethod
    def of(cls, job: Job, *, by: AbstractBaseUser) -> "TestRun":
        """A test run of the job as it stands (saved or not), for the member `by`."""
        return cls(
            project=job.project,
            user=by,
            method=job.method,
            url=job.url,
            headers=job.headers,
            secret_headers_encrypted=job.secret_headers_encrypted,
            body=job.body,
            auth_username=job.auth_username,
            auth_password_encrypted=job.auth_password_encrypted,
            timeout_seconds=job.timeout_seconds,
            expected_statuses=job.expected_statuses,
            follow_redirects=job.follow_redirects,
            sign_requests=job.sign_requests,
            assertions=job.assertions,
            response_body_kib=job.response_body_kib,
        )

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def is_lost(self) -> bool:
        """Still pending long after any worker would have finished it: its worker died with
        it, or no worker takes test runs. The page stops waiting and says so."""
        lost_after = timedelta(seconds=settings.MAX_TIMEOUT_SECONDS + TEST_RUN_GRACE_SECONDS)
        return not self.is_done and self.created_at < timezone.now() - lost_after

    @property
    def reason_label(self) -> str:
        return self.failure_reason and Execution.Reason(self.failure_reason).label


def new_status_page_slug() -> str:
    # Unguessable until a member chooses a slug, and within the rules for a chosen one.
    return secrets.token_hex(12)


class StatusPage(models.Model):
    """A project's public page (/status/<slug>/) with the state and daily uptime of the jobs
    a member put on it, each under the public name given here (jobs/status_pages.py)."""

    project = models.ForeignKey("accounts.Project", models.CASCADE, related_name="status_pages")
    title = models.CharField(max_length=100)
    slug = models.CharField(
        max_length=validators.MAX_SLUG_LENGTH,
        unique=True,
        default=new_status_page_slug,
        validators=[validators.validate_status_page_slug],
    )
    # Unpublished, its address answers 404 like any unknown one.
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class StatusPageEntry(models.Model):
    """One job on a status page, under the name the public sees (never its title or URL)."""

    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="entries")
    job = models.ForeignKey(Job, models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["page", "job"], name="one_entry_per_job_and_page")
        ]

    def __str__(self) -> str:
        return self.name
