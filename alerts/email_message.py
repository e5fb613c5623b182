"""The email a member gets for a health change: who it goes to and what it says."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from alerts import unsubscribe
from cronsvc import emails
from jobs.masking import shown_job_request
from jobs.models import Execution, HealthChange

Kind = HealthChange.Kind
Delivery = HealthChange.Delivery
EXCERPT_LENGTH = 500


def recipient_for(change: HealthChange) -> str | None:
    """The alert address of the member who made the job, while they are in its project and
    want this kind of email; else None."""
    job, user = change.job, change.job.user
    if user is None or not job.project.memberships.filter(user=user).exists():
        return None
    wanted = {
        Kind.FAILING: job.notify_on_failure,
        Kind.RECOVERED: job.notify_on_recovery and failure_was_emailed(change),
        Kind.DISABLED: job.notify_on_disable,
    }[change.kind]
    return user.alert_address if wanted else None


def failure_was_emailed(change: HealthChange) -> bool:
    """A recovery email only follows a failure email the member actually got."""
    failure = (
        HealthChange.objects.filter(job=change.job, kind=Kind.FAILING, id__lt=change.id)
        .order_by("-id")
        .first()
    )
    return failure is not None and failure.delivery == Delivery.SENT


def message(change: HealthChange, recipient: str) -> EmailMultiAlternatives:
    job = change.job
    context = {
        "change": change,
        "job": job,
        "execution": change.execution,
        "target": shown_job_request(job, for_email=True).url,
        "excerpt": excerpt(change.execution),
        "job_url": absolute(reverse("job_detail", args=[job.id])),
        "settings_url": absolute(reverse("job_edit", args=[job.id])) + "#notifications",
        "execution_url": absolute(reverse("execution_detail", args=[change.execution_id]))
        if change.execution_id
        else "",
        "unsubscribe_url": absolute(unsubscribe.link_path(job)),
        "failures": change.failures_in_a_row,
        # A header cannot hold a line break, and a title from the API may have one.
        "subject_title": " ".join(job.title.split()),
    }
    headers = {
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # The same id on every copy, so a rare resend is folded into one.
        "Message-ID": f"<health-change-{change.id}@{urlsplit(settings.SITE_URL).hostname}>",
    }
    return emails.build(
        f"alerts/emails/job-{change.kind}", to=recipient, context=context, headers=headers
    )


def excerpt(execution: Execution | None) -> str:
    if execution is None or not execution.response_body:
        return ""
    body = execution.response_body
    return body[:EXCERPT_LENGTH] + ("…" if len(body) > EXCERPT_LENGTH else "")


def absolute(path: str) -> str:
    return settings.SITE_URL + path
