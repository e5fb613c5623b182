"""A project's jobs as JSON, and jobs made in a project from that JSON, from crontab lines
that call curl, or from one curl command, all or none: the API's export and import, the
dashboard's Export and Import, and the export_jobs and import_jobs commands all come
through here.

Secrets (the basic-auth password, secret headers) never leave: each exported job lists the
ones it had in `secrets_omitted`, to be entered again after an import. Channels and
`after_job` name rows of the project by id, which mean nothing in another, so they are not
exported either (imported jobs get the project's default channels)."""

import json
from dataclasses import dataclass, field

from django.db import transaction

from accounts import audit
from accounts.models import ApiKey, Project, User
from jobs import auditing, crontab, curl
from jobs.api.serializers import CommandJobSerializer, ExportedJobSerializer, JobSerializer
from jobs.models import Job, JobLimitReached, room_for_a_job

FORMAT_VERSION = 1
MAX_IMPORT_JOBS = 1000
MAX_IMPORT_BYTES = 1024 * 1024
TOO_LARGE = "Import at most 1 MiB at once."
TOO_MANY = f"Import at most {MAX_IMPORT_JOBS} jobs at once."
FORMATS = {"json": "JSON (an export)", "crontab": "crontab lines", "curl": "one cURL command"}
NO_SCHEDULE = "Give the schedule for the cURL command's job, e.g. */5 * * * *."


class ImportFailed(Exception):
    """Nothing was made: {"jobs": {index: {field: [messages]}}} ({"lines": {number: …}} for
    crontab lines), {"jobs": [message]}, or a message on a field of the request's envelope."""

    def __init__(self, errors: dict) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass(frozen=True)
class ProjectOnly:
    project: Project


@dataclass(frozen=True)
class Caller:
    """What JobSerializer reads of an API request (the member, and the key's project), for
    the web page and the command that import without one."""

    user: User
    auth: ApiKey | ProjectOnly


def secrets_omitted(job: Job) -> list[str]:
    omitted = ["auth_password"] if job.auth_password_set else []
    return omitted + [f"secret_headers.{name}" for name in sorted(job.secret_headers)]


def export(project: Project) -> dict:
    jobs = project.jobs.order_by("pk")
    exported = [
        {**ExportedJobSerializer(job).data, "secrets_omitted": secrets_omitted(job)} for job in jobs
    ]
    return {"version": FORMAT_VERSION, "project": project.name, "jobs": exported}


@dataclass(frozen=True)
class Entry:
    """One job to make: its fields, where it came from (the export's index, or the crontab
    line's number) and what the parser noted about it."""

    where: str
    fields: dict
    notes: list[str] = field(default_factory=list)
    line: int | None = None


@dataclass(frozen=True)
class Source:
    """What an import would make, read from one format, and how: by which serializer (an
    export has no secrets; a curl command may), and under which key its problems are named."""

    entries: list[Entry]
    serializer: type[JobSerializer] = ExportedJobSerializer
    group: str = "jobs"
    problems: dict = field(default_factory=dict)  # {where: {field: [messages]}} found reading


@dataclass(frozen=True)
class Made:
    entry: Entry
    job: Job


def read(format: str, content: str, *, schedule: str = "") -> Source:
    """What to import from text in one of FORMATS (the curl format's job runs on
    `schedule`); raises ImportFailed on a field of the request, or naming the lines."""
    if len(content.encode()) > MAX_IMPORT_BYTES:
        raise ImportFailed({"content": [TOO_LARGE]})
    if format == "json":
        try:
            return from_document(json.loads(content))
        except json.JSONDecodeError as error:
            raise ImportFailed({"content": [f"This is not JSON: {error}."]}) from None
    if format == "crontab":
        return from_crontab(content)
    return from_curl(content, schedule)


def from_document(document: object) -> Source:
    items = job_list(document)
    return Source(entries=[Entry(where=str(i), fields=item) for i, item in enumerate(items)])


def from_crontab(content: str) -> Source:
    lines = crontab.read(content)
    if not lines:
        raise ImportFailed({"content": ["There is no crontab line with a job in it."]})
    if len(lines) > MAX_IMPORT_JOBS:
        raise ImportFailed({"content": [TOO_MANY]})
    entries = [
        Entry(where=str(line.number), fields=line.fields, notes=line.notes, line=line.number)
        for line in lines
        if not line.problem
    ]
    problems = {str(line.number): {"line": [line.problem]} for line in lines if line.problem}
    return Source(
        entries=entries, serializer=CommandJobSerializer, group="lines", problems=problems
    )


def from_curl(content: str, schedule: str) -> Source:
    if not schedule.strip():
        raise ImportFailed({"schedule": [NO_SCHEDULE]})
    try:
        fields, notes = curl.job_fields(curl.words_of(content))
    except curl.CurlError as error:
        raise ImportFailed({"content": [str(error)]}) from None
    fields = {"title": crontab.title_for(fields), "schedule": schedule.strip(), **fields}
    return Source(
        entries=[Entry(where="0", fields=fields, notes=notes)], serializer=CommandJobSerializer
    )


def import_jobs(
    project: Project,
    source: Source,
    *,
    member: User,
    actor: audit.Actor,
    dry_run: bool = False,
    key: ApiKey | None = None,
) -> list[Made]:
    """Make the source's jobs in the project, all or none, within the job caps; raises
    ImportFailed listing every problem where it is (the export's index, the crontab's line
    number). A dry run checks all of it, caps included, and makes nothing."""
    context = {"request": Caller(user=member, auth=key or ProjectOnly(project))}
    serializers = [
        source.serializer(data=entry.fields, context=context) for entry in source.entries
    ]
    problems = dict(source.problems)
    for entry, serializer in zip(source.entries, serializers, strict=True):
        if not serializer.is_valid():
            problems[entry.where] = serializer.errors
    if problems:
        raise ImportFailed({source.group: dict(sorted(problems.items(), key=by_number))})
    made = []
    try:
        # One check of the caps for them all: the owner's row stays locked until the end.
        with room_for_a_job(project, member, count=len(serializers)):
            for entry, serializer in zip(source.entries, serializers, strict=True):
                made.append(Made(entry, serializer.save(user=member, project=project)))
                auditing.created(made[-1].job, actor)
            if dry_run:
                transaction.set_rollback(True)
    except JobLimitReached as error:
        first_over = source.entries[error.room].where
        problem = {"non_field_errors": [str(error)]}
        raise ImportFailed({source.group: {first_over: problem}}) from None
    return made


def by_number(item: tuple[str, object]) -> int:
    return int(item[0])


def answer(made: list[Made], source: Source, *, dry_run: bool) -> dict:
    """The API's answer: the jobs made (or that would be), as the source's serializer shows
    them (never a secret), with their ids, lines and notes."""
    # One serializer for the list: its fields are built once, not per job.
    shown = source.serializer([each.job for each in made], many=True).data
    jobs = []
    for each, data in zip(made, shown, strict=True):
        if not dry_run:
            data["id"] = each.job.id
        if each.entry.line is not None:
            data["line"] = each.entry.line
        if each.entry.notes:
            data["notes"] = each.entry.notes
        jobs.append(data)
    return {"dry_run": dry_run, "created": 0 if dry_run else len(made), "jobs": jobs}


def unwrap(body: object) -> tuple[Source, bool]:
    """What to import and whether to dry-run, from an import request's body: an export
    itself, or the envelope {"format": "json" | "crontab" | "curl", "content": "…",
    "dry_run": false, "schedule": "…" (curl only)}. Raises ImportFailed naming the
    envelope's bad field."""
    if not isinstance(body, dict) or "format" not in body:
        return from_document(body), False
    if body["format"] not in FORMATS:
        raise ImportFailed({"format": [f"Choose one of {', '.join(FORMATS)}."]})
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ImportFailed({"dry_run": ["Use true or false."]})
    if not isinstance(body.get("content"), str):
        raise ImportFailed({"content": ["Give what to import as text."]})
    schedule = body.get("schedule", "")
    if not isinstance(schedule, str):
        raise ImportFailed({"schedule": ["Give the schedule as text, e.g. */5 * * * *."]})
    return read(str(body["format"]), body["content"], schedule=schedule), dry_run


def job_list(document: object) -> list:
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), list):
        raise ImportFailed({"jobs": ['Give {"jobs": [...]}, as the export writes it.']})
    items = document["jobs"]
    if not items:
        raise ImportFailed({"jobs": ["There are no jobs to import."]})
    if len(items) > MAX_IMPORT_JOBS:
        raise ImportFailed({"jobs": [TOO_MANY]})
    if not all(isinstance(item, dict) for item in items):
        raise ImportFailed({"jobs": ["Each job is an object of its fields."]})
    return items
