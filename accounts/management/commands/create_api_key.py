from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiKey, User


class Command(BaseCommand):
    help = "Create an API key for a member and print it (and nothing else) on standard output."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--read-only", action="store_true")
        parser.add_argument("--name", default="created from the command line")

    def handle(self, *args, email: str, read_only: bool, name: str, **options) -> None:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No member has the email {email}.")
        _, plain = ApiKey.issue(user=user, name=name, read_only=read_only)
        self.stdout.write(plain)
