"""History pruning: older than RETENTION_DAYS goes, but each job keeps its latest runs."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from jobs.models import Execution

PRUNE_BATCH = 5000


def prune(now: datetime | None = None) -> int:
    """Delete old executions in batches; returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RETENTION_DAYS)
    deleted = 0
    while ids := prunable_ids(cutoff):
        Execution.objects.filter(id__in=ids).delete()
        deleted += len(ids)
    return deleted


def prunable_ids(cutoff: datetime) -> list[int]:
    ranked = Execution.objects.annotate(
        newest_first=Window(
            RowNumber(), partition_by=F("job_id"), order_by=F("scheduled_for").desc()
        )
    )
    old = ranked.filter(newest_first__gt=settings.KEEP_EXECUTIONS_PER_JOB, scheduled_for__lt=cutoff)
    return list(old.values_list("id", flat=True)[:PRUNE_BATCH])
