"""A failure email end to end through a real SMTP server (aiosmtpd on 127.0.0.1), read back
the way a mail client reads it."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from alerts import delivery
from alerts.models import Delivery
from alerts.unsubscribe import link_path
from jobs.engine import worker
from jobs.models import Execution, Job
from jobs.outbound import http
from tests.conftest import free_port, make_job

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    # The Controller checks it started by connecting to its port, so port 0 will not do.
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    yield handler
    controller.stop()


@pytest.fixture
def failing_job(alice) -> Job:
    """Alice's job after one failed execution, with its health change waiting to be emailed."""
    job = make_job(alice, url="https://example.com/report?token=secret")
    with time_machine.travel(NOW, tick=False):
        execution = Execution.objects.create(
            job=job, scheduled_for=NOW, status=Execution.Status.RUNNING, started_at=NOW
        )
        outcome = http.Outcome(
            started_at=NOW,
            finished_at=NOW + timedelta(milliseconds=300),
            failure_reason="http_status",
            http_status=503,
            response_body="<script>alert(1)</script>",
        )
        worker.record_results([execution], [outcome])
    return job


def test_a_failure_email_arrives_as_text_and_html_with_its_headers(inbox, failing_job, settings):
    report = delivery.deliver_pending()

    assert report.sent == 1
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["alice@example.org"]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Failing: Nightly report"
    assert message["To"] == "alice@example.org"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Auto-Submitted"] == "auto-generated"
    sent = Delivery.objects.get()
    assert message["Message-ID"] == f"<delivery-{sent.id}@localhost>"
    unsubscribe = settings.SITE_URL + link_path(failing_job)
    # A long value is folded onto the next line; unfolded it keeps a leading space (RFC 5322).
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert message.get_content_type() == "multipart/alternative"
    text, page = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert page.get_content_type() == "text/html"
    for part in (text.get_content(), page.get_content()):
        assert "Nightly report" in part
        assert "https://example.com/report" in part
        assert "secret" not in part
        assert "HTTP 503" in part
        assert unsubscribe in part
        assert f"/jobs/executions/{sent.change.execution_id}/" in part
    assert "<script>alert(1)</script>" in text.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.get_content()
    assert "<script" not in page.get_content()
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_nothing_is_sent_twice_through_smtp(inbox, failing_job):
    delivery.deliver_pending()
    delivery.deliver_pending()

    assert len(inbox.envelopes) == 1
