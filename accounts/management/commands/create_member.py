import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.models import User


class Command(BaseCommand):
    help = "Create a verified member (for instances that close sign-up with SIGNUP_OPEN=false)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--password", help="Defaults to a random one, printed once.")

    def handle(self, *args, email: str, password: str | None, **options) -> None:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        if User.objects.email_taken(email):
            raise CommandError(f"A member with the email {email} already exists.")
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        User.objects.create_user(email, password, verified=True)
        self.stdout.write(f"Created member {email}.")
        if generated:
            self.stdout.write(f"Password: {password}")
