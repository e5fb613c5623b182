from django.core.management.base import BaseCommand
from django.db import transaction

from cronsvc import crypto
from jobs.models import Job


class Command(BaseCommand):
    help = "Re-encrypt stored target credentials under the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        rotated = 0
        with transaction.atomic():
            jobs = Job.objects.exclude(auth_password_encrypted="").select_for_update()
            for job in jobs.only("id", "auth_password_encrypted"):
                job.auth_password_encrypted = crypto.rotate(job.auth_password_encrypted)
                Job.objects.filter(id=job.id).update(
                    auth_password_encrypted=job.auth_password_encrypted
                )
                rotated += 1
        self.stdout.write(f"Re-encrypted the credentials of {rotated} job(s).")
