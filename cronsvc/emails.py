"""The one seam for outgoing email: every message is text plus HTML from templates."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def build(
    template: str, *, to: str, context: dict, headers: dict | None = None
) -> EmailMultiAlternatives:
    """templates/<template>-subject.txt, -body.txt and -body.html make the message
    (e.g. template="alerts/emails/job-failing")."""
    context = {**context, "SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL}
    subject = render_to_string(f"{template}-subject.txt", context).strip()
    text = render_to_string(f"{template}-body.txt", context)
    html = render_to_string(f"{template}-body.html", context)
    message = EmailMultiAlternatives(subject, text, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    return message


def send(template: str, *, to: str, context: dict, headers: dict | None = None) -> None:
    build(template, to=to, context=context, headers=headers).send()
