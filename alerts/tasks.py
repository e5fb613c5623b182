"""The alerts' Celery task: a thin shell around health.remind_due, quiet.release_ended and
delivery.deliver_pending."""

import structlog
from celery import shared_task
from django.utils import timezone

from alerts import delivery, quiet
from cronsvc import task_names
from jobs.engine import health

log = structlog.get_logger(__name__)


@shared_task(name=task_names.DELIVER_ALERTS, ignore_result=True)
def deliver_alerts() -> None:
    health.remind_due(timezone.now())
    quiet.release_ended(timezone.now())
    report = delivery.deliver_pending()
    if report.failed:
        log.warning("notify.retry_later", failed=report.failed, sent=report.sent)
