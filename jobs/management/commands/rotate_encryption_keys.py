from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

from cronsvc import crypto
from jobs.models import Job

SECRET_FIELDS = ["auth_password_encrypted", "secret_headers_encrypted"]


class Command(BaseCommand):
    help = "Re-encrypt stored target credentials under the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        has_secrets = Q(auth_password_encrypted__gt="") | Q(secret_headers_encrypted__gt="")
        rotated = 0
        with transaction.atomic():
            jobs = Job.objects.filter(has_secrets).select_for_update().only("id", *SECRET_FIELDS)
            for job in jobs:
                secrets = {field: crypto.rotate(getattr(job, field)) for field in SECRET_FIELDS}
                Job.objects.filter(id=job.id).update(**secrets)
                rotated += 1
        self.stdout.write(f"Re-encrypted the credentials of {rotated} job(s).")
