"""A project's jobs as JSON, and jobs made from that JSON in a project, all or none: the
API's export and import, the dashboard's Export and Import, and the export_jobs and
import_jobs commands all come through here.

Secrets (the basic-auth password, secret headers) never leave: each exported job lists the
ones it had in `secrets_omitted`, to be entered again after an import. Channels and
`after_job` name rows of the project by id, which mean nothing in another, so they are not
exported either (imported jobs get the project's default channels)."""

import json
from dataclasses import dataclass

from django.db import transaction

from accounts import audit
from accounts.models import ApiKey, Project, User
from jobs import auditing
from jobs.api.serializers import ExportedJobSerializer
from jobs.models import Job, JobLimitReached, room_for_a_job

FORMAT_VERSION = 1
MAX_IMPORT_JOBS = 1000
MAX_IMPORT_BYTES = 1024 * 1024
TOO_LARGE = "Import at most 1 MiB at once."


class ImportFailed(Exception):
    """Nothing was made: {"jobs": {index: {field: [messages]}}}, {"jobs": [message]}, or
    a message on a field of the request's envelope (unwrap)."""

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


def import_jobs(
    project: Project,
    document: object,
    *,
    member: User,
    actor: audit.Actor,
    dry_run: bool = False,
    key: ApiKey | None = None,
) -> list[Job]:
    """Make the document's jobs in the project, all or none, within the job caps; raises
    ImportFailed listing every problem by the job's index. A dry run checks all of it,
    caps included, and makes nothing."""
    items = job_list(document)
    context = {"request": Caller(user=member, auth=key or ProjectOnly(project))}
    serializers = [ExportedJobSerializer(data=item, context=context) for item in items]
    errors = {str(i): s.errors for i, s in enumerate(serializers) if not s.is_valid()}
    if errors:
        raise ImportFailed({"jobs": errors})
    made = []
    with transaction.atomic():
        for index, serializer in enumerate(serializers):
            try:
                with room_for_a_job(project, member):
                    made.append(serializer.save(user=member, project=project))
            except JobLimitReached as error:
                problem = {"non_field_errors": [str(error)]}
                raise ImportFailed({"jobs": {str(index): problem}}) from None
            auditing.created(made[-1], actor)
        if dry_run:
            transaction.set_rollback(True)
    return made


def unwrap(body: object) -> tuple[object, bool]:
    """The export document and whether to dry-run, from an import request's body: the export
    itself, or it as text in the issue's envelope {"format": "json", "content": "…",
    "dry_run": false}. Raises ImportFailed naming the envelope's bad field."""
    if not isinstance(body, dict) or "format" not in body:
        return body, False
    if body["format"] != "json":
        raise ImportFailed({"format": ["Only the json format can be imported so far."]})
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ImportFailed({"dry_run": ["Use true or false."]})
    if not isinstance(body.get("content"), str):
        raise ImportFailed({"content": ["Give the export as text."]})
    try:
        return json.loads(body["content"]), dry_run
    except json.JSONDecodeError as error:
        raise ImportFailed({"content": [f"This is not JSON: {error}."]}) from None


def job_list(document: object) -> list:
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), list):
        raise ImportFailed({"jobs": ['Give {"jobs": [...]}, as the export writes it.']})
    items = document["jobs"]
    if not items:
        raise ImportFailed({"jobs": ["There are no jobs to import."]})
    if len(items) > MAX_IMPORT_JOBS:
        raise ImportFailed({"jobs": [f"Import at most {MAX_IMPORT_JOBS} jobs at once."]})
    if not all(isinstance(item, dict) for item in items):
        raise ImportFailed({"jobs": ["Each job is an object of its fields."]})
    return items
