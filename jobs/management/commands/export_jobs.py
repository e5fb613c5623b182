import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Project
from jobs import transfer


class Command(BaseCommand):
    help = (
        "Write a project's jobs as JSON on standard output, as GET /api/v1/jobs/export/ "
        "does (without secrets; each job's secrets_omitted names them)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", required=True, help="The project's name (or id).")

    def handle(self, *args, project: str, **options) -> None:
        document = transfer.export(project_named(project))
        self.stdout.write(json.dumps(document, indent=2))


def project_named(name: str) -> Project:
    """The one project with this name; an id picks one of several with the same name."""
    found = list(Project.objects.filter(name=name))
    if not found and name.isdigit():
        found = list(Project.objects.filter(pk=int(name)))
    if len(found) != 1:
        problem = "No project is" if not found else "More than one project is"
        raise CommandError(f"{problem} named {name!r}; give its id instead.")
    return found[0]
