from django.core.management.base import BaseCommand, CommandError

from accounts import audit, projects
from accounts.models import ApiKey, Project, User


class Command(BaseCommand):
    help = (
        "Create an API key for a member and print it (and nothing else) on standard output. "
        "It is for the member's personal project unless --project names another of theirs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--read-only", action="store_true", help="A key with the read scope.")
        parser.add_argument("--project", help="The name of one of the member's projects.")
        parser.add_argument("--name", default="created from the command line")

    def handle(
        self, *args, email: str, read_only: bool, project: str | None, name: str, **options
    ) -> None:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No member has the email {email}.")
        chosen = self.project(user, project)
        scope = ApiKey.Scope.READ if read_only else ApiKey.Scope.WRITE
        key, plain = ApiKey.issue(user=user, project=chosen, name=name, scope=scope)
        actor = audit.Actor(user=user, via=audit.Via.COMMAND)
        audit.record(chosen, actor, "key.created", key, {"scope": scope})
        self.stdout.write(plain)

    def project(self, user: User, name: str | None) -> Project:
        if name is None:
            return projects.personal_project(user)
        found = list(user.projects.filter(name=name))
        if len(found) != 1:
            problem = "is in no project" if not found else "is in more than one project"
            raise CommandError(f"{user.email} {problem} named {name!r}.")
        return found[0]
