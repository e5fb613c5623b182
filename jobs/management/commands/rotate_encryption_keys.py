from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models import Q

from accounts.models import Project
from cronsvc import crypto
from jobs.models import Job

# Every encrypted column, by model: what a key rotation re-encrypts.
SECRET_FIELDS = {
    Job: ["auth_password_encrypted", "secret_headers_encrypted"],
    Project: ["signing_secret_encrypted", "previous_signing_secret_encrypted"],
}


class Command(BaseCommand):
    help = (
        "Re-encrypt stored target credentials and signing secrets under the first "
        "FIELD_ENCRYPTION_KEYS key."
    )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            jobs = rotate(Job)
            projects = rotate(Project)
        self.stdout.write(f"Re-encrypted the credentials of {jobs} job(s).")
        self.stdout.write(f"Re-encrypted the signing secrets of {projects} project(s).")


def rotate(model: type[models.Model]) -> int:
    """Re-encrypt the model's secret fields; how many rows had any."""
    fields = SECRET_FIELDS[model]
    has_secrets = Q()
    for field in fields:
        has_secrets |= Q(**{f"{field}__gt": ""})
    rows = model.objects.filter(has_secrets).select_for_update().only("id", *fields)
    rotated = 0
    for row in rows:
        secrets = {field: crypto.rotate(getattr(row, field)) for field in fields}
        model.objects.filter(id=row.id).update(**secrets)
        rotated += 1
    return rotated
