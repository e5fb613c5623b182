from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AuditEntry
from jobs import assertions
from jobs.models import Execution, Job, TestRun
from jobs.schedules import EMPTY_SCHEDULE
from jobs.validators import validate_headers, validate_schedule_in_timezone

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
    # Job.next_runs is called with its default count (3); DateTimeField writes
    # these like every other time in the response (UTC, "Z").
    next_runs = serializers.ListField(child=serializers.DateTimeField(), read_only=True)
    last_execution = serializers.SerializerMethodField()
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
            "timezone",
            "timeout_seconds",
            "expected_statuses",
            "follow_redirects",
            "retries",
            "retry_delay_seconds",
            "assertions",
            "response_body_kib",
            "enabled",
            "failure_threshold",
            "notify_on_failure",
            "notify_on_recovery",
            "notify_on_disable",
            "expires_at",
            "next_runs",
            "last_execution",
            "consecutive_failures",
            "created_at",
            "updated_at",
            "warnings",
        ]
        read_only_fields = ["consecutive_failures", "created_at", "updated_at"]
        # DRF refuses an empty schedule before the validators run: say what the form says.
        extra_kwargs = {
            "schedule": {"error_messages": {"blank": EMPTY_SCHEDULE}},
            "retries": {"help_text": "Tries after a failed one worth another (0 to 5)."},
            "retry_delay_seconds": {
                "help_text": "Seconds before the first retry (1 to 600); each later one waits "
                "twice as long, with full jitter, at most 10 minutes."
            },
            "response_body_kib": {
                "help_text": "How much of each response body executions keep, in KiB: 0, 1, 8 "
                "or 64 (default 8). Assertions on the body read up to 64 KiB whatever is kept."
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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, job: Job) -> list[str]:
        return self.warnings

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_secret_header_names(self, job: Job) -> list[str]:
        return sorted(job.secret_headers)

    @extend_schema_field(ExecutionSummarySerializer(allow_null=True))
    def get_last_execution(self, job: Job) -> dict | None:
        execution = job.last_execution
        return ExecutionSummarySerializer(execution).data if execution else None

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
        return attrs

    def check_schedule_runs(self, attrs: dict) -> None:
        # The field validators see the schedule and the timezone one at a time.
        if "schedule" not in attrs and "timezone" not in attrs:
            return
        expression = attrs.get("schedule", getattr(self.instance, "schedule", ""))
        timezone = attrs.get("timezone", getattr(self.instance, "timezone", ""))
        try:
            validate_schedule_in_timezone(expression, timezone)
        except DjangoValidationError as error:
            field = "schedule" if "schedule" in attrs else "timezone"
            raise serializers.ValidationError({field: error.messages}) from None

    def create(self, validated_data: dict) -> Job:
        job = Job()
        self.set_secrets(job, validated_data)
        for name, value in validated_data.items():
            setattr(job, name, value)
        job.save()
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


class TestRunSerializer(serializers.ModelSerializer):
    """A test run: `pending` until a worker has sent it, then `done` with what came back."""

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
