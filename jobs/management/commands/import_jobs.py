import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import audit
from jobs import transfer
from jobs.management.commands.export_jobs import project_named


class Command(BaseCommand):
    help = (
        "Make the jobs of an export file (export_jobs, or GET /api/v1/jobs/export/), of "
        "crontab lines that call curl, or of one curl command in a project, all or none, "
        "within its owner's job limits."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", required=True, help="The project's name (or id).")
        parser.add_argument("file", help="What to import; - reads standard input.")
        parser.add_argument(
            "--format", choices=list(transfer.FORMATS), default="json", help="The file's format."
        )
        parser.add_argument("--schedule", default="", help="The curl format's job's schedule.")
        parser.add_argument("--dry-run", action="store_true", help="Check it; make nothing.")

    def handle(
        self, *args, project: str, file: str, format: str, schedule: str, dry_run: bool, **options
    ) -> None:
        chosen = project_named(project)
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        # The jobs are the owner's, within the owner's limits, as if they had made them.
        try:
            source = transfer.read(format, text, schedule=schedule)
            made = transfer.import_jobs(
                chosen,
                source,
                member=chosen.owner,
                actor=audit.Actor(user=None, via=audit.Via.COMMAND),
                dry_run=dry_run,
            )
        except transfer.ImportFailed as error:
            raise CommandError(f"Nothing was imported: {json.dumps(error.errors)}") from None
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(f"{verb} {len(made)} job(s) into {chosen.name}.")
