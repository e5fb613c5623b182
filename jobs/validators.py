"""Checks on a job's settings, shared by the form and the API (both run model validators)."""

import re
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from jobs import variables
from jobs.outbound.addresses import allowed_port, internal_target
from jobs.schedules import Schedule, ScheduleError, validate_timezone

if TYPE_CHECKING:
    from accounts.models import Project

MAX_URL_LENGTH = 2048
MAX_HEADERS = 50
MAX_HEADER_VALUE_BYTES = 8 * 1024
MAX_BODY_BYTES = 64 * 1024
# The client sets these itself; letting a member set them would break or smuggle requests.
FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# RFC 9110 allows tab but no other control character in a value; PostgreSQL's jsonb
# cannot store NUL at all (it would be a 500, not a message).
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
INVALID_URL = "Enter a valid URL, e.g. https://example.com/cron."
MAX_SLUG_LENGTH = 40
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# Words a status page could pass itself off with (as ours, or as a page of the site).
RESERVED_SLUGS = frozenset(
    [
        "admin",
        "api",
        "status",
        "static",
        "login",
        "logout",
        "signup",
        "account",
        "accounts",
        "settings",
        "help",
        "support",
        "security",
        "www",
        "new",
        "edit",
        "official",
        "cronsvc",
    ]
)
NO_SIGNING_SECRET = (
    "Create a signing secret first (Project settings → Signing secret, or "
    "POST /api/v1/signing-secret/), then turn signing on."
)


def validate_schedule(expression: str) -> None:
    try:
        Schedule.parse(expression, "UTC")
    except ScheduleError as error:
        raise ValidationError(str(error)) from None


def validate_schedule_in_timezone(expression: str, timezone: str) -> None:
    """Each fine on its own, the pair may still never run: all its times skipped by DST."""
    try:
        Schedule.parse(expression, timezone)
    except ScheduleError as error:
        raise ValidationError(str(error)) from None


def validate_timezone_name(name: str) -> None:
    try:
        validate_timezone(name)
    except ScheduleError as error:
        raise ValidationError(str(error)) from None


def validate_job_url(url: str) -> None:
    """A job's URL: one we may call, with variables (if any) outside its host."""
    variables.validate_url(url)
    validate_target_url(url)


def validate_target_url(url: str) -> None:
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"URLs can be at most {MAX_URL_LENGTH} characters long.")
    if split_url(url).scheme.lower() not in ("http", "https"):
        raise ValidationError("Only http:// and https:// URLs can be called.")
    URLValidator(schemes=["http", "https"], message=INVALID_URL)(url)
    parts = split_url(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    if not allowed_port(port):
        raise ValidationError(
            f"Port {port} cannot be called; jobs may call ports {settings.ALLOWED_TARGET_PORTS}."
        )
    if settings.ALLOW_PRIVATE_TARGETS:
        return
    if (address := internal_target(url)) is not None:
        raise ValidationError(
            f"This URL points to an internal address ({address}); jobs can only call public hosts."
        )


def split_url(url: str) -> SplitResult:
    """The URL's parts, or the invalid-URL error where urlsplit raises instead."""
    try:
        parts = urlsplit(url)  # refuses a bad [IPv6] host
        port = parts.port  # refuses a port over 65535, but only when asked
    except ValueError:
        raise ValidationError(INVALID_URL) from None
    if port == 0:  # URLValidator lets it through; nothing can be called on it
        raise ValidationError(INVALID_URL)
    return parts


def validate_status_page_slug(slug: str) -> None:
    if not 3 <= len(slug) <= MAX_SLUG_LENGTH:
        raise ValidationError(f"Use 3 to {MAX_SLUG_LENGTH} characters.")
    if not SLUG.match(slug):
        raise ValidationError(
            "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit."
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"“{slug}” is reserved; choose another.")


def validate_auth_username(username: str) -> None:
    # Basic auth joins "user:password"; a colon in the name would split it wrongly.
    if ":" in username or CONTROL_CHARACTER.search(username):
        raise ValidationError("A basic auth username cannot contain a colon or control characters.")


def validate_headers(headers: object) -> None:
    if not isinstance(headers, dict):
        raise ValidationError("Headers must be an object of names and values.")
    if len(headers) > MAX_HEADERS:
        raise ValidationError(f"At most {MAX_HEADERS} headers are allowed.")
    for name, value in headers.items():
        if not isinstance(value, str):
            raise ValidationError(f"The value of header “{name}” must be text.")
        if not HEADER_NAME.match(name):
            raise ValidationError(f"“{name}” is not a valid header name.")
        if name.lower() in FORBIDDEN_HEADERS:
            raise ValidationError(f"The {name} header is set by cronsvc and cannot be changed.")
        if len(value.encode()) > MAX_HEADER_VALUE_BYTES:
            raise ValidationError(
                f"The value of header “{name}” can be at most {MAX_HEADER_VALUE_BYTES // 1024} KiB."
            )
        if "\r" in value or "\n" in value:
            raise ValidationError(f"The value of header “{name}” cannot contain line breaks.")
        if CONTROL_CHARACTER.search(value):
            raise ValidationError(
                f"The value of header “{name}” cannot contain control characters."
            )


def validate_body(body: str) -> None:
    if len(body.encode()) > MAX_BODY_BYTES:
        raise ValidationError(f"The request body can be at most {MAX_BODY_BYTES // 1024} KiB.")


def validate_expected_statuses(statuses: object) -> None:
    if not isinstance(statuses, list) or not all(is_integer(code) for code in statuses):
        raise ValidationError("Expected statuses must be a list of HTTP status codes.")
    for code in statuses:
        if not 100 <= code <= 599:
            raise ValidationError(f"{code} is not an HTTP status code (100 to 599).")


def is_integer(value: object) -> bool:
    # JSON's true arrives as a bool, which Python counts as the int 1.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_signing(sign_requests: bool, project: "Project") -> None:
    """A job signs its requests only once its project has a secret to sign them with."""
    if sign_requests and not project.has_signing_secret:
        raise ValidationError(NO_SIGNING_SECRET)


NO_TIMING = (
    "Enter a schedule (e.g. */5 * * * *), a time to run once (run_at), "
    "or a job to run after (after_job)."
)


def timing_problems(*, schedule: str, run_at: datetime | None, has_parent: bool) -> dict:
    """When a job runs: a schedule or one run_at, not both; either may be left out for a
    job that runs after another. Problems by field, as the form and the API show them."""
    if run_at and schedule:
        return {"run_at": ["A job runs on a schedule or once at run_at, not both."]}
    if not (schedule or run_at or has_parent):
        return {"schedule": [NO_TIMING]}
    return {}


def validate_run_at(run_at: datetime) -> None:
    """Only for a run_at being set: a one-off job that ran keeps its past one."""
    if run_at <= timezone.now():
        raise ValidationError("This time has passed: a one-off run must be in the future.")


MAX_TAGS = 10
MAX_TAG_LENGTH = 40
TAG = re.compile(r"^[a-z0-9._-]+$")


def normalize_tags(tags: object) -> list[str]:
    """Tags as stored: lowercased, in the order given, each once. Raises ValidationError
    naming every bad one (the form and the API both come through here)."""
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValidationError("Give tags as a list of labels.")
    normalized = list(dict.fromkeys(tag.strip().lower() for tag in tags if tag.strip()))
    problems = [tag_problem(tag) for tag in normalized]
    if problems := [problem for problem in problems if problem]:
        raise ValidationError(problems)
    if len(normalized) > MAX_TAGS:
        raise ValidationError(f"A job has at most {MAX_TAGS} tags.")
    return normalized


def tag_problem(tag: str) -> str:
    if len(tag) > MAX_TAG_LENGTH:
        return f"“{tag[:MAX_TAG_LENGTH]}…” is longer than {MAX_TAG_LENGTH} characters."
    if not TAG.match(tag):
        return f"“{tag}”: a tag has only letters, digits, “-”, “_” and “.”."
    return ""


def validate_tags(tags: object) -> None:
    if normalize_tags(tags) != tags:
        raise ValidationError("Tags are stored lowercased and each once.")


# It is part of a URL (/api/v1/ordering-keys/{key}/resume/): no slash, space or "?".
ORDERING_KEY = re.compile(r"^[A-Za-z0-9._:-]+$")


def validate_ordering_key(key: str) -> None:
    if key and not ORDERING_KEY.match(key):
        raise ValidationError("An ordering key has only letters, digits, “-”, “_”, “.” and “:”.")
