from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AuditEntry
from alerts.models import Channel
from jobs import assertions, badges, bulk, chaining, status_pages
from jobs.engine.ordering import KeyQueue
from jobs.models import Execution, Job, StatusPage, StatusPageEntry, TestRun
from jobs.validators import (
    MAX_TAG_LENGTH,
    MAX_TAGS,
    normalize_tags,
    timing_problems,
    validate_headers,
    validate_run_at,
    validate_schedule_in_timezone,
    validate_signing,
)

MAX_BULK_IDS = 1000
EXECUTION_SUMMARY_FIELDS = [
    "id",
    "scheduled_for",
    "trigger",
    "status",
    "failure_reason",
    "http_status",
    "duration_ms",
    "lateness_ms",
]


class ExecutionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Execution
        fields = EXECUTION_SUMMARY_FIELDS


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", help_text="A member's address or a key.")

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "via",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
        ]
        read_only_fields = fields


class SentRequestSerializer(serializers.Serializer):
    """The request an execution sent, secrets masked (null for one that sent nothing, or
    made before cronsvc recorded requests)."""

    method = serializers.CharField()
    url = serializers.CharField(help_text="Passwords and secret-looking query values masked.")
    headers = serializers.ListField(child=serializers.CharField(), help_text="Names only.")
    body_size = serializers.IntegerField(help_text="In bytes.")
    body_start = serializers.CharField(help_text="The first 200 bytes of the body.")


class ExecutionSerializer(serializers.ModelSerializer):
    request = SentRequestSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Execution
        fields = [
            "id",
            "job",
            "scheduled_for",
            "started_at",
            "sent_at",
            "finished_at",
            "duration_ms",
            "lateness_ms",
            "trigger",
            "status",
            "failure_reason",
            "http_status",
            "response_headers",
            "response_headers_omitted",
            "response_body",
            "response_truncated",
            "error",
            "request",
            "attempt",
            "retry_of",
            "next_attempt_at",
            "chained_from",
            "waiting_on",
        ]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    auth_password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        style={"input_type": "password"},
        help_text="Write-only. An empty string removes the saved password.",
    )
    auth_password_set = serializers.BooleanField(read_only=True)
    secret_headers = serializers.JSONField(
        write_only=True,
        required=False,
        validators=[validate_headers],
        help_text="Write-only object of header names and values stored encrypted "
        "(tokens, API keys). Replaces the saved ones; {} removes them.",
    )
    secret_header_names = serializers.SerializerMethodField()
    timezone = serializers.CharField(
        required=False, max_length=64, help_text="IANA name; defaults to the member's timezone."
    )
    schedule_description = serializers.CharField(source="describe_schedule", read_only=True)
    tags = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text=f"Up to {MAX_TAGS} labels of letters, digits, -, _ and . (at most "
        f"{MAX_TAG_LENGTH} characters each), stored lowercased, each once.",
    )
    # Job.next_runs is called with its default count (3); DateTimeField writes
    # these like every other time in the response (UTC, "Z").
    next_runs = serializers.ListField(child=serializers.DateTimeField(), read_only=True)
    last_execution = serializers.SerializerMethodField()
    badge_url = serializers.SerializerMethodField(
        help_text="Its status badge (SVG: up, paused or failing), public to anyone with the "
        "address; POST rotate-badge/ gives it a new one."
    )
    warnings = serializers.SerializerMethodField(
        help_text="What this change did that you may not expect, such as dropping the saved "
        "password and secret headers when the URL moved to another site (scheme, host or "
        "port) without them. Empty when reading."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "title",
            "url",
            "method",
            "headers",
            "secret_headers",
            "secret_header_names",
            "body",
            "auth_username",
            "auth_password",
            "auth_password_set",
            "schedule",
            "schedule_description",
            "run_at",
            "delete_after_run",
            "spread_seconds",
            "after_job",
            "after_outcome",
            "after_delay_seconds",
            "ordering_key",
            "ordering_on_failure",
            "timezone",
            "timeout_seconds",
            "expected_statuses",
            "follow_redirects",
            "sign_requests",
            "retries",
            "retry_delay_seconds",
            "assertions",
            "response_body_kib",
            "enabled",
            "failure_threshold",
            "notify_on_failure",
            "notify_on_recovery",
            "notify_on_disable",
            "remind_every_hours",
            "alerts_muted_until",
            "channels",
            "expires_at",
            "tags",
            "next_runs",
            "last_execution",
            "consecutive_failures",
            "created_at",
            "updated_at",
            "badge_url",
            "warnings",
        ]
        read_only_fields = ["consecutive_failures", "created_at", "updated_at"]
        extra_kwargs = {
            "schedule": {
                "help_text": "5-field cron or @hourly, @daily, …; empty for a one-off job "
                "(run_at) or one that runs only after another (after_job)."
            },
            "run_at": {
                "help_text": "Run once at this time (in the future) instead of on a schedule; "
                "the job is disabled after its run."
            },
            "delete_after_run": {
                "help_text": "Delete a one-off job after its run, with its history, when "
                "that history is pruned (RETENTION_DAYS)."
            },
            "spread_seconds": {
                "help_text": "0 to 300. Each run starts this job's fixed share of up to this "
                "many seconds after its slot (the same for every run)."
            },
            "after_job": {
                "help_text": "Run after each final outcome of this job (of the same project)."
            },
            "after_outcome": {"help_text": "Which outcomes of after_job trigger a run."},
            "after_delay_seconds": {
                "help_text": "0 to 3600: seconds after after_job's run finished."
            },
            "ordering_key": {
                "help_text": "Up to 100 letters, digits, -, _, . and :. Runs of the project's "
                "jobs with the same key execute one at a time, in order of scheduled time, "
                "then job id; empty: no key."
            },
            "ordering_on_failure": {
                "help_text": "continue: a failed final outcome lets the key's next run go; "
                "stop: it stops the key's queue until resumed "
                "(POST /api/v1/ordering-keys/{key}/resume/)."
            },
            "alerts_muted_until": {
                "help_text": "Hold its alerts until then; if it is still failing then, one "
                "failing alert sums it up. Null: not muted."
            },
            "retries": {"help_text": "Tries after a failed one worth another (0 to 5)."},
            "retry_delay_seconds": {
                "help_text": "Seconds before the first retry (1 to 600); each later one waits "
                "twice as long, with full jitter, at most 10 minutes."
            },
            "response_body_kib": {
                "help_text": "How much of each response body executions keep, in KiB: 0, 1, 8 "
                "or 64 (default 8). Assertions on the body read up to 64 KiB whatever is kept."
            },
            "sign_requests": {
                "help_text": "Sign each request with the project's signing secret (Standard "
                "Webhooks headers webhook-id, webhook-timestamp, webhook-signature). Needs a "
                "secret: POST /api/v1/signing-secret/."
            },
            "channels": {
                "help_text": "Ids of the project's channels its alerts go to; a new job "
                "selects the project's default channels unless this is given."
            },
            "assertions": {
                "help_text": "Up to 10 checks that must all hold for success, each one of "
                '{"kind": "body_contains" | "body_not_contains" | "body_matches" (RE2), '
                '"value": text}, {"kind": "json_equals", "path": "a.b.0", "value": any JSON}, '
                '{"kind": "max_duration_ms", "value": ms}.'
            },
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.warnings: list[str] = []
        # Model validators check the timezone name; the serializer field adds the default.
        self.fields["timezone"].validators = Job._meta.get_field("timezone").validators
        # validate_assertions names each bad item by its index instead.
        self.fields["assertions"].validators = []
        # Another project's job is not there to run after (no hint that it exists).
        if "after_job" in self.fields:
            self.fields["after_job"].queryset = Job.objects.filter(project=self.project)
        # Only the key's project's channels can be chosen: another's is "does not exist".
        if "channels" in self.fields:
            self.fields["channels"].child_relation.queryset = Channel.objects.filter(
                project=self.project
            )

    @property
    def project(self) -> object:
        request = self.context.get("request")
        return getattr(getattr(request, "auth", None), "project", None)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, job: Job) -> list[str]:
        return self.warnings

    def get_badge_url(self, job: Job) -> str:
        return badges.job_badge_url(job)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_secret_header_names(self, job: Job) -> list[str]:
        return sorted(job.secret_headers)

    @extend_schema_field(ExecutionSummarySerializer(allow_null=True))
    def get_last_execution(self, job: Job) -> dict | None:
        execution = job.last_execution
        return ExecutionSummarySerializer(execution).data if execution else None

    def validate_tags(self, value: list) -> list[str]:
        try:
            return normalize_tags(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate_assertions(self, value: object) -> list:
        """A 400 naming each bad item by its index: {"assertions": {"2": ["…"]}}."""
        if problem := assertions.list_problem(value):
            raise serializers.ValidationError(problem)
        if problems := assertions.item_problems(value):
            raise serializers.ValidationError({str(i): [p] for i, p in problems.items()})
        return value

    def validate(self, attrs: dict) -> dict:
        request = self.context["request"]
        if self.instance is None:
            attrs.setdefault("timezone", request.user.timezone)
        self.check_schedule_runs(attrs)
        project = self.instance.project if self.instance else request.auth.project
        try:
            validate_signing(attrs.get("sign_requests", False), project)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"sign_requests": error.messages}) from None
        self.check_timing(attrs)
        self.check_after_job(attrs)
        return attrs

    def current(self, attrs: dict, name: str) -> object:
        """The value a field will have: as given, else as saved (None on a new job)."""
        return attrs[name] if name in attrs else getattr(self.instance, name, None)

    def check_timing(self, attrs: dict) -> None:
        if attrs.get("run_at"):
            try:
                validate_run_at(attrs["run_at"])
            except DjangoValidationError as error:
                raise serializers.ValidationError({"run_at": error.messages}) from None
        problems = timing_problems(
            schedule=self.current(attrs, "schedule") or "",
            run_at=self.current(attrs, "run_at"),
            has_parent=self.current(attrs, "after_job") is not None,
        )
        if problems:
            raise serializers.ValidationError(problems)

    def check_after_job(self, attrs: dict) -> None:
        if attrs.get("after_job") is None:
            return
        problem = chaining.after_job_problem(
            job=self.instance, parent=attrs["after_job"], project_id=self.project.id
        )
        if problem:
            raise serializers.ValidationError({"after_job": [problem]})

    def check_schedule_runs(self, attrs: dict) -> None:
        # The field validators see the schedule and the timezone one at a time.
        if "schedule" not in attrs and "timezone" not in attrs:
            return
        expression = attrs.get("schedule", getattr(self.instance, "schedule", ""))
        if not expression:
            return  # no schedule: check_timing says whether the job needs one
        timezone = attrs.get("timezone", getattr(self.instance, "timezone", ""))
        try:
            validate_schedule_in_timezone(expression, timezone)
        except DjangoValidationError as error:
            field = "schedule" if "schedule" in attrs else "timezone"
            raise serializers.ValidationError({field: error.messages}) from None

    def create(self, validated_data: dict) -> Job:
        job = Job()
        self.set_secrets(job, validated_data)
        channels = validated_data.pop("channels", None)
        for name, value in validated_data.items():
            setattr(job, name, value)
        job.save()  # selects the project's default channels
        if channels is not None:
            job.channels.set(channels)
        return job

    def update(self, job: Job, validated_data: dict) -> Job:
        self.change_target(job, validated_data)
        return super().update(job, validated_data)

    def unsaved(self, **fields: object) -> Job:
        """The job as this request would make or change it, not saved (a test run)."""
        job = self.instance or Job(**fields)
        data = dict(self.validated_data)
        if self.instance is None:
            self.set_secrets(job, data)
        else:
            self.change_target(job, data)
        for name, value in data.items():
            setattr(job, name, value)
        return job

    def change_target(self, job: Job, validated_data: dict) -> None:
        """New credentials and URL onto the job; the saved credentials dropped when the URL
        moved to another site without them (a warning says so)."""
        saved_url = job.url
        given = [name for name in ("auth_password", "secret_headers") if name in validated_data]
        self.set_secrets(job, validated_data)
        job.url = validated_data.pop("url", job.url)
        if note := job.forget_credentials_elsewhere(saved_url, given):
            self.warnings.append(note)

    def set_secrets(self, job: Job, validated_data: dict) -> None:
        """Secrets are encrypted on the way in and only replaced when given."""
        if "auth_password" in validated_data:
            job.auth_password = validated_data.pop("auth_password")
        if "secret_headers" in validated_data:
            job.secret_headers = validated_data.pop("secret_headers")


# What a member sets on a job, less secrets and ids of other rows (channels, after_job).
EXPORTED_FIELDS = [
    "title",
    "url",
    "method",
    "headers",
    "body",
    "auth_username",
    "schedule",
    "run_at",
    "delete_after_run",
    "spread_seconds",
    "ordering_key",
    "ordering_on_failure",
    "timezone",
    "timeout_seconds",
    "expected_statuses",
    "follow_redirects",
    "sign_requests",
    "retries",
    "retry_delay_seconds",
    "assertions",
    "enabled",
    "failure_threshold",
    "notify_on_failure",
    "notify_on_recovery",
    "notify_on_disable",
    "remind_every_hours",
    "expires_at",
    "tags",
]


class ExportedJobSerializer(JobSerializer):
    """A job as exported and imported (jobs/transfer.py): what a member sets, without
    secrets, ids or other rows (channels, after_job)."""

    class Meta(JobSerializer.Meta):
        fields = EXPORTED_FIELDS


class OrderingKeySerializer(serializers.Serializer):
    """A key's queue (jobs/engine/ordering.py KeyQueue)."""

    key = serializers.CharField(source="name")
    stopped = serializers.BooleanField(source="is_stopped")
    stopped_at = serializers.DateTimeField(allow_null=True)
    stopped_by = serializers.IntegerField(
        source="stopped_by.id",
        allow_null=True,
        help_text="The execution whose failure stopped the queue.",
    )
    running = serializers.IntegerField(
        source="running.id",
        allow_null=True,
        help_text="The key's execution that runs now (or is released to run next).",
    )
    waiting = serializers.IntegerField(source="waiting_count", help_text="Runs waiting.")
    jobs = serializers.SerializerMethodField(help_text="The ids of the key's jobs.")

    def get_jobs(self, queue: KeyQueue) -> list[int]:
        return [job.id for job in queue.jobs]


class CommandJobSerializer(JobSerializer):
    """A job read from a curl command (jobs/transfer.py's crontab and curl formats): the
    exported fields and the secrets a command may carry (-u, an Authorization header),
    saved encrypted and shown back only as set or by name."""

    class Meta(JobSerializer.Meta):
        fields = [
            *EXPORTED_FIELDS,
            "auth_password",
            "auth_password_set",
            "secret_headers",
            "secret_header_names",
        ]


class TestRunSerializer(serializers.ModelSerializer):
    """A test run: `pending` until a worker has sent it, then `done` with what came back."""

    request = SentRequestSerializer(
        read_only=True,
        allow_null=True,
        help_text="The request as sent, its variables filled in; null until it is sent.",
    )

    url = serializers.SerializerMethodField(help_text="Where to read this test run.")
    target_url = serializers.CharField(source="url", help_text="The URL it calls.")
    failure_reason = serializers.CharField(
        help_text="Empty when it succeeded; else as on executions."
    )
    assertion_results = serializers.ListField(
        child=serializers.DictField(),
        help_text='Each check on the response: {"description", "passed", "found"}.',
    )

    class Meta:
        model = TestRun
        fields = [
            "id",
            "url",
            "status",
            "method",
            "target_url",
            "created_at",
            "started_at",
            "finished_at",
            "succeeded",
            "failure_reason",
            "http_status",
            "duration_ms",
            "response_headers",
            "response_headers_omitted",
            "response_body",
            "response_truncated",
            "error",
            "assertion_results",
            "request",
        ]
        read_only_fields = fields

    def get_url(self, test_run: TestRun) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("test-run-detail", args=[test_run.id])
        )


class TestRunStartedSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Poll this (GET) for the result.")

    class Meta:
        model = TestRun
        fields = ["id", "status", "url"]
        read_only_fields = fields

    get_url = TestRunSerializer.get_url


class SigningSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="whsec_ and the base64 of 32 random bytes: verify requests with it using a "
        "Standard Webhooks library. Shown in this answer only.",
    )


class BulkActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(bulk.ACTIONS))
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=MAX_BULK_IDS,
        help_text="Ids of the key's project's jobs; any other id answers 404 in its result.",
    )
    tag = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="For tag and untag."
    )

    def validate(self, attrs: dict) -> dict:
        try:
            attrs["tag"] = bulk.clean_tag(attrs["action"], attrs["tag"])
        except DjangoValidationError as error:
            raise serializers.ValidationError({"tag": error.messages}) from None
        return attrs


class BulkResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.IntegerField(
        help_text="As the id would have answered on its own: 200, 202 (a run started), 400 "
        "(a tag it cannot take), 404 (not a job of the key's project) or 429 (past the "
        "Run now limit)."
    )
    changed = serializers.BooleanField()
    error = serializers.CharField(required=False, help_text="Why not, when status is 400 or more.")
    execution = serializers.IntegerField(required=False, help_text="The run started (run).")

    def to_representation(self, result: bulk.Result) -> dict:
        data = {"id": result.id, "status": result.status, "changed": result.changed}
        if result.error:
            data["error"] = result.error
        if result.execution is not None:
            data["execution"] = result.execution
        return data


class BulkOutcomeSerializer(serializers.Serializer):
    action = serializers.CharField()
    selected = serializers.IntegerField(help_text="Ids that are jobs of the key's project.")
    changed = serializers.IntegerField(
        help_text="Of those, how many it changed (pausing a paused job changes nothing; a run "
        "started counts)."
    )
    results = BulkResultSerializer(many=True, help_text="One per id, in the order given.")


class TagBadgesSerializer(serializers.Serializer):
    tags = serializers.DictField(
        child=serializers.URLField(),
        help_text="Each tag of the project's jobs and its badge's public URL (SVG: failing if "
        "any of its jobs is failing, else paused if any is paused, else up).",
    )


class StatusPageEntrySerializer(serializers.ModelSerializer):
    job = serializers.PrimaryKeyRelatedField(
        queryset=Job.objects.none(), help_text="A job of the key's project."
    )

    class Meta:
        model = StatusPageEntry
        fields = ["job", "name"]
        extra_kwargs = {"name": {"help_text": "The name the public sees for it."}}


class StatusPageSerializer(serializers.ModelSerializer):
    """A status page and its jobs, in order, each under its public name."""

    jobs = StatusPageEntrySerializer(many=True, source="entries", required=False)
    url = serializers.SerializerMethodField(help_text="Its public address (404 until published).")

    class Meta:
        model = StatusPage
        fields = ["id", "title", "slug", "published", "url", "jobs", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "slug": {
                "required": False,
                "help_text": "3 to 40 lowercase letters, digits and hyphens; random (and "
                "unguessable) unless given.",
            }
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the key's project's jobs can be listed: another's is "does not exist".
        project = getattr(self.context.get("request"), "auth", None)
        jobs = Job.objects.filter(project=project.project) if project else Job.objects.none()
        self.fields["jobs"].child.fields["job"].queryset = jobs

    def get_url(self, page: StatusPage) -> str:
        return status_pages.public_url(page)

    def validate_jobs(self, entries: list[dict]) -> list[dict]:
        if len(entries) > status_pages.MAX_ENTRIES:
            raise serializers.ValidationError(
                f"A page lists at most {status_pages.MAX_ENTRIES} jobs."
            )
        ids = [entry["job"].id for entry in entries]
        if len(set(ids)) < len(ids):
            raise serializers.ValidationError("Each job can be listed once.")
        return entries

    def save_page(self, page: StatusPage, data: dict, *, by: object, created: bool) -> StatusPage:
        given = data.pop("entries", None)
        for name, value in data.items():
            setattr(page, name, value)
        entries = None if given is None else [(entry["job"], entry["name"]) for entry in given]
        status_pages.save(page, entries, by=by, created=created)
        return page

    def create(self, validated_data: dict) -> StatusPage:
        by, project = validated_data.pop("by"), validated_data.pop("project")
        return self.save_page(StatusPage(project=project), validated_data, by=by, created=True)

    def update(self, page: StatusPage, validated_data: dict) -> StatusPage:
        by = validated_data.pop("by")
        return self.save_page(page, validated_data, by=by, created=False)
