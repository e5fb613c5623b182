"""The email an email channel gets for a health change or a test: what it says."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from alerts import unsubscribe
from alerts.models import Delivery
from cronsvc import emails
from jobs.masking import shown_job_request
from jobs.models import Execution

EXCERPT_LENGTH = 500


def message(delivery: Delivery) -> EmailMultiAlternatives:
    recipient = delivery.channel.address
    if delivery.kind == Delivery.Kind.TEST:
        return emails.build("alerts/emails/channel-test", to=recipient, context={})
    change, job = delivery.change, delivery.job
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
        "Message-ID": f"<delivery-{delivery.id}@{urlsplit(settings.SITE_URL).hostname}>",
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
