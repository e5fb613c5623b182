import json
from datetime import time
from zoneinfo import ZoneInfo

from cryptography.fernet import InvalidToken
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.forms import TIMEZONE_CHOICES
from accounts.models import Project, User
from cronsvc import crypto
from jobs import assertions, bulk, chaining, transfer, variables
from jobs.models import (
    MAX_AFTER_DELAY_SECONDS,
    MAX_REMIND_EVERY_HOURS,
    MAX_RETRIES,
    MAX_SPREAD_SECONDS,
    AfterOutcome,
    Job,
    OrderingOnFailure,
    StatusPage,
    StatusPageEntry,
)
from jobs.status_pages import MAX_ENTRIES as MAX_STATUS_PAGE_ENTRIES
from jobs.validators import (
    normalize_tags,
    validate_headers,
    validate_run_at,
    validate_schedule_in_timezone,
    validate_signing,
)
from jobs.web.presets import (
    PRESET_INPUTS,
    PRESETS,
    STEP_CHOICES,
    WEEKDAYS,
    PresetChoice,
    preset_for,
)


class ScheduleFields(forms.Form):
    """The preset picker; `schedule` holds the cron expression it builds (or a custom one)."""

    preset = forms.ChoiceField(
        label="Runs",
        choices=PRESETS,
        initial="every_n_minutes",
        # For job_form.js, which shows only the inputs the chosen preset reads.
        widget=forms.Select(attrs={"data-inputs": json.dumps(PRESET_INPUTS)}),
    )
    every_n = forms.TypedChoiceField(
        label="Every",
        coerce=int,
        initial=5,
        required=False,
        choices=[(n, f"{n} minutes") for n in STEP_CHOICES],
    )
    at_minute = forms.IntegerField(
        label="At minute", min_value=0, max_value=59, initial=0, required=False
    )
    at_time = forms.TimeField(
        label="At (HH:MM)",
        required=False,
        initial=time(0, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    weekday = forms.TypedChoiceField(
        label="On", coerce=int, choices=WEEKDAYS, initial=1, required=False
    )
    day_of_month = forms.IntegerField(
        label="On day", min_value=1, max_value=31, initial=1, required=False
    )
    schedule = forms.CharField(
        label="Cron expression",
        required=False,
        max_length=100,
        help_text="Five fields (minute hour day month weekday), or @hourly, @daily, @weekly, "
        "@monthly, @yearly.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    timezone = forms.ChoiceField(label="Timezone", choices=TIMEZONE_CHOICES)

    def preset_choice(self) -> PresetChoice:
        data = self.cleaned_data
        at_time = data.get("at_time") or time(0, 0)
        minute = at_time.minute if data["preset"] != "hourly" else data.get("at_minute") or 0
        return PresetChoice(
            preset=data["preset"],
            every_n=data.get("every_n") or 5,
            minute=minute,
            hour=at_time.hour,
            weekday=data.get("weekday") or 0,
            day_of_month=data.get("day_of_month") or 1,
            custom=data.get("schedule", ""),
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        if "preset" in cleaned:
            self.ignore_unused_inputs(cleaned["preset"])
            cleaned["schedule"] = self.preset_choice().expression()
        return cleaned

    def ignore_unused_inputs(self, preset: str) -> None:
        # A value left in a preset the member moved away from is hidden and no part of the
        # schedule: its error must not fail the form beside a field nobody sees.
        for names in PRESET_INPUTS.values():
            for name in set(names) - set(PRESET_INPUTS[preset]):
                self._errors.pop(name, None)

    @staticmethod
    def initial_for(job: Job) -> dict:
        choice = preset_for(job.schedule)
        return {
            "preset": choice.preset,
            "every_n": choice.every_n,
            "at_minute": choice.minute,
            "at_time": time(choice.hour, choice.minute),
            "weekday": choice.weekday,
            "day_of_month": choice.day_of_month,
            "schedule": job.schedule,
        }


class PreviewForm(ScheduleFields):
    """The live preview reads the same fields, leniently: missing ones take their defaults."""

    def __init__(self, data: dict) -> None:
        super().__init__(
            {**{name: field.initial for name, field in self.base_fields.items()}, **data.dict()}
        )


EXPECTATION_ROWS = 3
EXPECTATION_KINDS = [("", "—"), *assertions.KIND_LABELS.items()]


def typed_value(kind: str, text: str) -> object:
    """What a row's value box means: milliseconds for a duration, JSON for json_equals
    (plain text when it is not JSON, so ok means "ok"), text otherwise."""
    if kind == "max_duration_ms":
        return int(text) if text.strip().isdigit() else text
    if kind == "json_equals":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def parse_header_lines(text: str) -> dict[str, str]:
    headers = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValidationError(f"Line {number}: write headers as “Name: value”, one per line.")
        headers[name.strip()] = value.strip()
    return headers


def parse_statuses(text: str) -> list[int]:
    codes = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    if not all(code.isdigit() for code in codes):
        raise ValidationError("List status codes separated by commas, e.g. 200, 204.")
    return [int(code) for code in codes]


WHEN_CHOICES = [
    ("schedule", "On a schedule"),
    ("once", "Once, at a set time"),
    ("after", "Only after another job"),
]


# Entered as wall-clock times in the job's timezone.
LOCAL_TIMES = ("expires_at", "run_at", "alerts_muted_until")


def local_datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def in_its_timezone(cleaned: dict, names: tuple[str, ...]) -> None:
    """The browser sends wall-clock times; they mean the form's timezone field's zone."""
    if not cleaned.get("timezone"):
        return
    for name in names:
        if cleaned.get(name):
            wall = cleaned[name].replace(tzinfo=None)
            cleaned[name] = wall.replace(tzinfo=ZoneInfo(cleaned["timezone"]))


VARIABLES_HELP = (
    "The URL, header values and body may hold variables, filled in on each attempt: "
    + ", ".join(f"<code>{{{{{name}}}}}</code>" for name in variables.NAMES)
    + " (Unix seconds, the run's time in ISO 8601, the execution's id, a new UUID). "
    "Secret headers and the password are sent as written."
)


class JobForm(ScheduleFields, forms.ModelForm):
    when = forms.ChoiceField(
        label="How it runs", choices=WHEN_CHOICES, required=False, widget=forms.RadioSelect
    )
    run_at = forms.DateTimeField(
        label="Run once at",
        required=False,
        widget=local_datetime_input(),
        help_text="In the job's timezone. The job is paused after this run.",
    )
    spread_seconds = forms.IntegerField(
        label="Spread (seconds)",
        min_value=0,
        max_value=MAX_SPREAD_SECONDS,
        required=False,
        initial=0,
        help_text="0 to 300. Each run starts this job's fixed share of up to this many "
        "seconds after its time, so jobs on the same minute do not all call at once.",
    )
    after_job = forms.ModelChoiceField(
        label="Run after",
        queryset=Job.objects.none(),
        required=False,
        empty_label="— no other job —",
    )
    after_outcome = forms.ChoiceField(
        label="When it", choices=AfterOutcome.choices, required=False, initial=AfterOutcome.ANY
    )
    after_delay_seconds = forms.IntegerField(
        label="Delay (seconds)",
        min_value=0,
        max_value=MAX_AFTER_DELAY_SECONDS,
        required=False,
        initial=0,
        help_text="0 to 3600, counted from the end of that job's run.",
    )
    ordering_on_failure = forms.ChoiceField(
        label="When a run fails",
        choices=OrderingOnFailure.choices,
        required=False,
        initial=OrderingOnFailure.CONTINUE,
        help_text="A stopped queue holds its later runs until you resume it.",
    )
    headers = forms.CharField(
        label="Headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line, as Name: value. Values may hold variables, as the body may.",
    )
    secret_headers = forms.CharField(
        label="Secret headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
        help_text="For tokens and keys: stored encrypted and never shown again. "
        "One per line, as Name: value. Leave empty to keep the saved ones.",
    )
    clear_secret_headers = forms.BooleanField(
        label="Remove the saved secret headers", required=False
    )
    expected_statuses = forms.CharField(
        label="Expected statuses",
        required=False,
        help_text="Comma-separated. Empty means any 2xx status is a success.",
    )
    auth_password = forms.CharField(
        label="Basic auth password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the saved one.",
    )
    failure_threshold = forms.IntegerField(
        label="Failures in a row before the failure email",
        min_value=1,
        max_value=100,
        required=False,
        initial=1,
    )
    remind_every_hours = forms.IntegerField(
        label="Remind every (hours) while failing",
        min_value=0,
        max_value=MAX_REMIND_EVERY_HOURS,
        required=False,
        initial=0,
        help_text="0 for no reminders; at most a week (168).",
    )
    retries = forms.IntegerField(
        label="Retries after a failure",
        min_value=0,
        max_value=MAX_RETRIES,
        required=False,
        initial=0,
        help_text="0 to 5. Only for timeouts, DNS, connection and TLS failures and HTTP 408, "
        "425, 429 and 5xx; never past the next run.",
    )
    retry_delay_seconds = forms.IntegerField(
        label="First retry after (seconds)",
        min_value=1,
        max_value=600,
        required=False,
        initial=10,
        help_text="Each later retry waits twice as long (with jitter), at most 10 minutes; "
        "a Retry-After header is honoured.",
    )
    alerts_muted_until = forms.DateTimeField(
        label="Mute alerts until",
        required=False,
        widget=local_datetime_input(),
        help_text="Optional, in the job's timezone. Runs are recorded as ever; if it is still "
        "failing then, one alert sums it up.",
    )
    clear_auth_password = forms.BooleanField(label="Remove the saved password", required=False)
    tags = forms.CharField(
        label="Tags",
        required=False,
        help_text="Comma-separated, up to 10: letters, digits, -, _ and . (e.g. billing, nightly).",
    )
    expires_at = forms.DateTimeField(
        label="Stop running after",
        required=False,
        widget=local_datetime_input(),
        help_text="Optional, in the job's timezone.",
    )

    class Meta:
        model = Job
        fields = [
            "title",
            "url",
            "method",
            "schedule",
            "run_at",
            "delete_after_run",
            "spread_seconds",
            "after_job",
            "after_outcome",
            "after_delay_seconds",
            "ordering_key",
            "ordering_on_failure",
            "timezone",
            "headers",
            "body",
            "auth_username",
            "timeout_seconds",
            "expected_statuses",
            "follow_redirects",
            "response_body_kib",
            "sign_requests",
            "expires_at",
            "retries",
            "retry_delay_seconds",
            "failure_threshold",
            "notify_on_failure",
            "notify_on_recovery",
            "notify_on_disable",
            "remind_every_hours",
            "alerts_muted_until",
            "channels",
            "tags",
        ]
        widgets = {
            "channels": forms.CheckboxSelectMultiple,
            "url": forms.URLInput(attrs={"placeholder": "https://example.com/cron"}),
            "body": forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        }
        labels = {
            "timeout_seconds": "Timeout (seconds)",
            "response_body_kib": "Response body to keep",
            "sign_requests": "Sign requests (Standard Webhooks)",
            "delete_after_run": "Delete it after its run",
            "ordering_key": "Ordering key",
            "channels": "Alert channels",
        }
        help_texts = {
            "response_body_kib": "Of each run, in its history. Checks on the body read up to "
            "64 KiB whatever is kept.",
            "sign_requests": "Adds webhook-id, webhook-timestamp and webhook-signature headers "
            "made with the project's signing secret, so the target can check the request "
            "came from cronsvc.",
            "delete_after_run": "With its history, when that history is pruned.",
            "ordering_key": "Optional. Runs of this project's jobs with the same key go one at "
            "a time, in order of their time; letters, digits, -, _, . and : (up to 100).",
            "body": VARIABLES_HELP,
            "url": "Its path and query may hold variables, as the body may.",
        }

    def __init__(self, *args, user: User, project: Project, **kwargs) -> None:
        self.user = user
        self.project = project
        super().__init__(*args, **kwargs)
        # Where the saved credentials were given for (Job.forget_credentials_elsewhere).
        self.saved_url = self.instance.url if self.instance.pk else ""
        self.credentials_note = ""
        # Another project's job is not offered, nor the job itself.
        self.fields["after_job"].queryset = project.jobs.exclude(pk=self.instance.pk)
        self.initial["when"] = when_of(self.instance)
        # The project's channels only; a new job starts with the default ones ticked.
        self.fields["channels"].queryset = project.channels.all()
        self.fields[
            "channels"
        ].help_text = f'Where its alerts go. <a href="{reverse("channels")}">Manage channels</a>'
        if not self.instance.pk:
            self.initial["channels"] = list(project.channels.filter(is_default=True))
        if self.instance.pk:
            self.initial.update(self.initial_for(self.instance))
            self.initial["headers"] = "\n".join(
                f"{k}: {v}" for k, v in self.instance.headers.items()
            )
            self.initial["expected_statuses"] = ", ".join(map(str, self.instance.expected_statuses))
            self.initial["tags"] = ", ".join(self.instance.tags)
            for name in LOCAL_TIMES:
                if moment := getattr(self.instance, name):
                    local = moment.astimezone(ZoneInfo(self.instance.timezone))
                    self.initial[name] = local.replace(tzinfo=None)
        else:
            self.initial.setdefault("timezone", user.timezone)
        # Optional, as the other settings with a default: a post without it keeps the default.
        self.fields["response_body_kib"].required = False
        self.add_expectation_rows()

    def add_expectation_rows(self) -> None:
        """ "Expect in the response": a row (kind, path, value) per assertion, and room for
        more, up to the 10 allowed; no script needed."""
        saved = self.instance.assertions if self.instance.pk else []
        posted = sum(1 for name in self.data if name.startswith("expect_kind_"))
        count = min(assertions.MAX_ASSERTIONS, max(EXPECTATION_ROWS, len(saved) + 1, posted))
        for row in range(count):
            self.fields[f"expect_kind_{row}"] = forms.ChoiceField(
                label="Check", choices=EXPECTATION_KINDS, required=False
            )
            self.fields[f"expect_path_{row}"] = forms.CharField(
                label="JSON path", required=False, max_length=assertions.MAX_VALUE_LENGTH
            )
            self.fields[f"expect_value_{row}"] = forms.CharField(
                label="Value", required=False, strip=False
            )
        for row, assertion in enumerate(saved):
            value = assertion["value"]
            self.initial[f"expect_kind_{row}"] = assertion["kind"]
            self.initial[f"expect_path_{row}"] = assertion.get("path", "")
            self.initial[f"expect_value_{row}"] = (
                json.dumps(value) if assertion["kind"] == "json_equals" else value
            )

    def expectation_rows(self) -> list[tuple]:
        """(kind, path, value) bound fields of each row, for the template."""
        rows = sum(1 for name in self.fields if name.startswith("expect_kind_"))
        return [
            (self[f"expect_kind_{row}"], self[f"expect_path_{row}"], self[f"expect_value_{row}"])
            for row in range(rows)
        ]

    def clean_expectations(self) -> list[dict]:
        """The rows with a kind, as assertions; each problem shown at its row's value."""
        rows, chosen = [], []
        for row in range(len(self.expectation_rows())):
            kind = self.cleaned_data.get(f"expect_kind_{row}")
            if not kind:
                continue
            assertion = {
                "kind": kind,
                "value": typed_value(kind, self.cleaned_data.get(f"expect_value_{row}", "")),
            }
            if kind == "json_equals":
                assertion["path"] = self.cleaned_data.get(f"expect_path_{row}", "")
            rows.append(row)
            chosen.append(assertion)
        for index, problem in assertions.item_problems(chosen).items():
            self.add_error(f"expect_value_{rows[index]}", problem[0].upper() + problem[1:])
        return chosen

    def clean_headers(self) -> dict[str, str]:
        return parse_header_lines(self.cleaned_data["headers"])

    def clean_secret_headers(self) -> dict[str, str]:
        headers = parse_header_lines(self.cleaned_data["secret_headers"])
        validate_headers(headers)
        return headers

    def clean_response_body_kib(self) -> int:
        kib = self.cleaned_data["response_body_kib"]
        return Job._meta.get_field("response_body_kib").get_default() if kib == "" else kib

    def clean_failure_threshold(self) -> int:
        return self.cleaned_data["failure_threshold"] or 1

    def clean_remind_every_hours(self) -> int:
        return self.cleaned_data["remind_every_hours"] or 0

    def clean_retries(self) -> int:
        return self.cleaned_data["retries"] or 0

    def clean_retry_delay_seconds(self) -> int:
        return self.cleaned_data["retry_delay_seconds"] or 10

    def clean_expected_statuses(self) -> list[int]:
        return parse_statuses(self.cleaned_data["expected_statuses"])

    def clean_tags(self) -> list[str]:
        return normalize_tags(self.cleaned_data["tags"].split(","))

    def clean_spread_seconds(self) -> int:
        return self.cleaned_data["spread_seconds"] or 0

    def clean_after_outcome(self) -> str:
        return self.cleaned_data["after_outcome"] or AfterOutcome.ANY

    def clean_ordering_on_failure(self) -> str:
        return self.cleaned_data["ordering_on_failure"] or OrderingOnFailure.CONTINUE

    def clean_after_delay_seconds(self) -> int:
        return self.cleaned_data["after_delay_seconds"] or 0

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["assertions"] = self.clean_expectations()
        in_its_timezone(cleaned, LOCAL_TIMES)
        self.keep_one_way_of_running(cleaned)
        if cleaned.get("after_job"):
            self.check_after_job(cleaned["after_job"])
        try:
            validate_signing(cleaned.get("sign_requests", False), self.project)
        except ValidationError as error:
            self.add_error("sign_requests", error)
        return cleaned

    def keep_one_way_of_running(self, cleaned: dict) -> None:
        """The "Runs" choice keeps the one way of running it names: a schedule, one run_at,
        or none (only after another job)."""
        when = cleaned.get("when") or "schedule"
        if when == "schedule":
            cleaned["run_at"] = None
            if "preset" in cleaned:
                self.check_schedule(cleaned["schedule"], cleaned.get("timezone") or "UTC")
            return
        cleaned["schedule"] = ""
        if when == "after":
            cleaned["run_at"] = None
            if not cleaned.get("after_job"):
                self.add_error("after_job", "Choose the job this one runs after.")
        elif not cleaned.get("run_at"):
            self.add_error("run_at", "Enter when to run it.")
        elif cleaned["run_at"] != self.instance.run_at:
            try:
                validate_run_at(cleaned["run_at"])
            except ValidationError as error:
                self.add_error("run_at", error)

    def check_after_job(self, parent: Job) -> None:
        job = self.instance if self.instance.pk else None
        problem = chaining.after_job_problem(job=job, parent=parent, project_id=self.project.id)
        if problem:
            self.add_error("after_job", problem)

    def check_schedule(self, expression: str, timezone: str) -> None:
        # Checked here, not only by the model's validators: ModelForm skips them for an empty
        # value in a field the form calls optional, and they see the schedule without the
        # timezone, whose clock change may skip every time it names.
        try:
            validate_schedule_in_timezone(expression, timezone)
        except ValidationError as error:
            self.add_error("schedule", error)

    def save(self, commit: bool = True) -> Job:
        job = super().save(commit=False)
        job.assertions = self.cleaned_data["assertions"]
        if job.pk is None:
            job.project, job.user = self.project, self.user
        if self.cleaned_data["clear_auth_password"]:
            job.auth_password = ""
        elif self.cleaned_data["auth_password"]:
            job.auth_password = self.cleaned_data["auth_password"]
        if self.cleaned_data["clear_secret_headers"]:
            job.secret_headers = {}
        elif self.cleaned_data["secret_headers"]:
            job.secret_headers = self.cleaned_data["secret_headers"]
        given = [name for name in ("auth_password", "secret_headers") if self.cleaned_data[name]]
        self.credentials_note = job.forget_credentials_elsewhere(self.saved_url, given)
        if commit:
            job.save()
            self._save_m2m()
        return job


def when_of(job: Job) -> str:
    if job.run_at:
        return "once"
    if job.after_job_id and not job.schedule:
        return "after"
    return "schedule"


class BulkForm(forms.Form):
    """The dashboard's bulk action: on the checked jobs, or on all jobs matching the
    dashboard's filter (kept here as filter_tag and filter_q)."""

    action = forms.ChoiceField(choices=list(bulk.ACTIONS.items()))
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all_matching = forms.BooleanField(required=False)
    filter_tag = forms.CharField(required=False)
    filter_q = forms.CharField(required=False)
    tag = forms.CharField(required=False)
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any id is offered: bulk.apply says which are not the project's.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("ids") and not data.get("all_matching"):
            self.add_error("ids", "Select jobs first.")
        if "action" in data:
            try:
                data["tag"] = bulk.clean_tag(data["action"], data.get("tag", ""))
            except ValidationError as error:
                self.add_error("tag", error)
        return data

    def problems(self) -> list[str]:
        return [message for errors in self.errors.values() for message in errors]


class ImportForm(forms.Form):
    """What to import: a file or pasted text in one of transfer.FORMATS. The preview hands
    its text on encrypted (`pending`), so a password in a curl command is not written back
    into the page."""

    format = forms.ChoiceField(
        label="Format",
        choices=list(transfer.FORMATS.items()),
        initial="json",
        widget=forms.RadioSelect,
    )
    file = forms.FileField(label="File", required=False)
    content = forms.CharField(
        label="Or paste it", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    schedule = forms.CharField(
        label="Schedule (for a cURL command)",
        required=False,
        max_length=200,
        help_text="When the command's job runs, e.g. */5 * * * *. Crontab lines have their own.",
    )
    pending = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        if "format" not in data:
            return data
        text = self.text(data)
        try:
            data["source"] = transfer.read(data["format"], text, schedule=data.get("schedule", ""))
        except transfer.ImportFailed as error:
            for name, messages in error.errors.items():
                self.add_error(name if name in self.fields else None, messages)
        data["text"] = text
        return data

    def text(self, data: dict) -> str:
        if data.get("pending"):
            try:
                return crypto.decrypt(data["pending"])
            except InvalidToken:
                raise ValidationError("This preview has expired; start again.") from None
        upload = data.get("file")
        if upload and upload.size > transfer.MAX_IMPORT_BYTES:
            raise ValidationError(transfer.TOO_LARGE)
        text = upload.read().decode("utf-8", "replace") if upload else data.get("content", "")
        if not text.strip():
            raise ValidationError("Choose a file, or paste what to import.")
        return text


class StatusPageForm(forms.ModelForm):
    """A status page, and which of the project's jobs it lists under which public name: a
    checkbox and a name per job (the job's own title and URL are never shown there)."""

    class Meta:
        model = StatusPage
        fields = ["title", "slug", "published"]
        labels = {"slug": "Address"}
        help_texts = {
            "slug": "The page is at /status/ and this address. Keep the random one to make it hard "
            "to find, or choose 3 to 40 lowercase letters, digits and hyphens.",
            "published": "Anyone who has its address sees it; unpublished, it answers 404.",
        }

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.jobs = list(project.jobs.only("title"))
        listed = {e.job_id: e.name for e in self.instance.entries.all()} if self.instance.pk else {}
        for job in self.jobs:
            self.fields[f"job_{job.id}"] = forms.BooleanField(
                label=job.title, required=False, initial=job.id in listed
            )
            self.fields[f"name_{job.id}"] = forms.CharField(
                label=f"Public name of “{job.title}”",
                required=False,
                max_length=StatusPageEntry._meta.get_field("name").max_length,
                initial=listed.get(job.id, ""),
            )

    def job_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"job_{job.id}"], self[f"name_{job.id}"]) for job in self.jobs]

    def clean_slug(self) -> str:
        # Left empty: the address it has (a new page's is random).
        return self.cleaned_data["slug"] or self.instance.slug

    def clean(self) -> dict:
        data = super().clean()
        listed = self.entries()
        for job, name in listed:
            if not name.strip():
                self.add_error(f"name_{job.id}", "Give it the name the public sees.")
        if len(listed) > MAX_STATUS_PAGE_ENTRIES:
            raise ValidationError(f"A page lists at most {MAX_STATUS_PAGE_ENTRIES} jobs.")
        return data

    def entries(self) -> list[tuple[Job, str]]:
        data = self.cleaned_data
        return [
            (job, data.get(f"name_{job.id}", "").strip())
            for job in self.jobs
            if data.get(f"job_{job.id}")
        ]
