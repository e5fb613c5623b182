"""alerts/delivery.py through an email channel: the failing, recovered and disabled emails,
delivered from the health changes the engine writes, once each, even when the notifier
dies or SMTP is down."""

import html
import re
import threading
from datetime import UTC, datetime, timedelta
from email.message import Message
from functools import partial

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from alerts import delivery, email_message
from alerts.models import Channel, Delivery
from jobs import masking
from jobs.models import Execution, HealthChange, Job
from tests.conftest import (
    SCRIPT,
    add_confirmed_address,
    frozen_at,
    html_text,
    make_job,
    race,
    record_failures,
    record_result,
)

# A Tuesday, 10:00 in Berlin (CET).
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
Status, Kind = Delivery.Status, Delivery.Kind
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
clock = frozen_at(NOW)
# Its URL's query must not reach an email.
minutely_report = partial(
    make_job, url="https://example.com/report?token=secret", schedule="* * * * *"
)


@pytest.fixture
def job(alice) -> Job:
    return minutely_report(alice)


def html_part(message: mail.EmailMultiAlternatives) -> str:
    (alternative,) = message.alternatives
    assert alternative.mimetype == "text/html"
    return alternative.content


def hrefs(message: mail.EmailMultiAlternatives) -> set[str]:
    return {html.unescape(href) for href in re.findall(r'href="([^"]+)"', html_part(message))}


def unsubscribe_link(message: mail.EmailMultiAlternatives) -> str:
    (link,) = re.fullmatch(r"<(.+)>", message.extra_headers["List-Unsubscribe"]).groups()
    return link


def mime(message: mail.EmailMultiAlternatives) -> Message:
    return message.message()


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def assert_describes(message: mail.EmailMultiAlternatives, job: Job, execution: Execution):
    """Title, URL without its query, reason, status, escaped excerpt, time and links,
    in both parts; the headers mail systems act on."""
    site = django_settings.SITE_URL
    links = {
        f"{site}/jobs/executions/{execution.id}/",
        f"{site}/jobs/{job.id}/",
        f"{site}/jobs/{job.id}/edit/#notifications",
        unsubscribe_link(message),
    }
    assert unsubscribe_link(message).startswith(f"{site}/jobs/unsubscribe/")
    text, page = message.body, html_part(message)
    when = execution.scheduled_for.astimezone(job.parsed_schedule.tz)
    if execution.status == Execution.Status.SUCCEEDED:
        result = f"Succeeded, HTTP {execution.http_status}"
    else:
        result = f"Failed ({execution.get_failure_reason_display()}), HTTP {execution.http_status}"
    for part in (text, html_text(html_part(message))):
        assert "Nightly report" in part
        assert "GET https://example.com/report" in part
        assert result in part
        assert f"{when:%a} {when.day} {when:%b %Y, %H:%M:%S %Z}" in part
        assert "secret" not in part
        assert "token" not in part
    for link in links:
        assert link in text
    assert links <= hrefs(message)
    if execution.response_body == SCRIPT:
        assert SCRIPT in text  # plain text shows it as it came
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert message.to == ["alice@example.org"]
    headers = mime(message)
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["List-Unsubscribe"] == f"<{unsubscribe_link(message)}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"].startswith("<delivery-")


def test_a_job_walks_through_failing_recovered_failing_and_disabled_once_each(job, clock):
    record_result(job, clock, 200)
    delivery.deliver_pending()
    assert mail.outbox == []

    first_failure, _ = record_failures(job, clock, 2)
    delivery.deliver_pending()
    assert subjects() == ["Failing: Nightly report"]

    recovery = record_result(job, clock, 200)
    delivery.deliver_pending()
    assert subjects() == ["Failing: Nightly report", "Recovered: Nightly report"]

    streak = record_failures(job, clock, 25)
    delivery.deliver_pending()
    delivery.deliver_pending()

    assert subjects() == [
        "Failing: Nightly report",
        "Recovered: Nightly report",
        "Failing: Nightly report",
        "Disabled: Nightly report",
    ]
    failing, recovered, failing_again, disabled = mail.outbox
    assert_describes(failing, job, first_failure)
    assert_describes(recovered, job, recovery)
    assert_describes(failing_again, job, streak[0])
    assert_describes(disabled, job, streak[-1])
    assert "is working again" in recovered.body
    assert "has been disabled after 25 failures in a row" in disabled.body
    assert "has been disabled after 25 failures in a row" in html_text(html_part(disabled))
    job.refresh_from_db()
    assert (job.enabled, job.failing, job.consecutive_failures) == (False, True, 25)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENT}
    # Each email has its own Message-ID (the same one only for copies of one change).
    assert len({mime(message)["Message-ID"] for message in mail.outbox}) == 4


def test_a_failure_that_stops_an_ordering_key_says_how_to_resume(alice, clock):
    job = minutely_report(alice, ordering_key="billing", ordering_on_failure="stop")

    (failure,) = record_failures(job, clock)
    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report", "Queue stopped: Nightly report"]
    stopped = mail.outbox[1]
    assert_describes(stopped, job, failure)
    for part in (stopped.body, html_text(html_part(stopped))):
        assert "billing" in part
        assert "is stopped. Later runs of its jobs wait until you resume the queue" in part
        assert "POST /api/v1/ordering-keys/billing/resume/" in part


def test_changes_delivered_in_one_go_keep_their_order(job, clock):
    record_failures(job, clock)
    record_result(job, clock, 200)
    record_failures(job, clock, 25)

    report = delivery.deliver_pending()

    assert subjects() == [
        "Failing: Nightly report",
        "Recovered: Nightly report",
        "Failing: Nightly report",
        "Disabled: Nightly report",
    ]
    assert (report.sent, report.not_sent, report.failed) == (4, 0, 0)


def test_running_the_notifier_again_sends_nothing_twice(job, clock):
    record_failures(job, clock)
    delivery.deliver_pending()

    report = delivery.deliver_pending()

    assert len(mail.outbox) == 1
    assert (report.sent, report.not_sent, report.failed) == (0, 0, 0)


def test_a_claim_left_by_a_notifier_that_died_is_retried_only_after_it_expires(job, clock):
    """A notifier killed after claiming leaves the change as `sending`. It may have sent the
    email already (killed between sending and marking), so another run must not send it while
    the claim is fresh; once the claim is older than CLAIM_EXPIRES the notifier is taken to be
    dead and the email is sent, so it is never lost."""
    record_failures(job, clock)
    Delivery.objects.update(status=Status.SENDING, claimed_at=timezone.now())

    delivery.deliver_pending()
    assert mail.outbox == []

    clock.shift(delivery.CLAIM_EXPIRES - timedelta(seconds=1))
    delivery.deliver_pending()
    assert mail.outbox == []

    clock.shift(timedelta(seconds=2))
    delivery.deliver_pending()
    assert subjects() == ["Failing: Nightly report"]
    assert Delivery.objects.get().status == Status.SENT


class Killed(BaseException):
    """The worker process dying: nothing in the notifier catches it."""


def test_a_notifier_killed_between_sending_and_marking_resends_once_with_the_same_message_id(
    job, clock, monkeypatch
):
    """Sent, then killed before `finish` marked it: the claim stays. A run while the claim is
    fresh sends nothing; after CLAIM_EXPIRES the email goes again, once, with the same
    Message-ID, so the mail system folds the two copies into one."""
    record_failures(job, clock)

    def die(row: Delivery, status: str) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(delivery, "finish", die)
        with pytest.raises(Killed):
            delivery.deliver_pending()
    assert len(mail.outbox) == 1
    sending = Delivery.objects.get()
    assert (sending.status, sending.claimed_at) == (Status.SENDING, timezone.now())

    delivery.deliver_pending()
    assert len(mail.outbox) == 1

    clock.shift(delivery.CLAIM_EXPIRES + timedelta(seconds=1))
    delivery.deliver_pending()
    delivery.deliver_pending()

    first, second = mail.outbox
    assert mime(first)["Message-ID"] == mime(second)["Message-ID"]
    assert mime(first)["Message-ID"] == f"<delivery-{sending.id}@localhost>"
    assert Delivery.objects.get().status == Status.SENT


@pytest.fixture
def smtp_down(settings, closed_port):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def test_when_smtp_is_down_the_change_waits_with_growing_backoff_and_is_sent_once_later(
    job, clock, settings, smtp_down
):
    record_failures(job, clock)

    report = delivery.deliver_pending()

    assert (report.sent, report.failed) == (0, 1)
    waiting = Delivery.objects.get()
    assert (waiting.status, waiting.attempts, waiting.claimed_at) == (Status.PENDING, 1, None)
    assert waiting.retry_after == timezone.now() + timedelta(seconds=60)
    assert "Connection refused" in waiting.last_error

    clock.shift(timedelta(seconds=59))
    delivery.deliver_pending()
    assert Delivery.objects.get().attempts == 1  # not tried before its time

    clock.shift(timedelta(seconds=1))
    delivery.deliver_pending()
    waiting = Delivery.objects.get()
    assert (waiting.status, waiting.attempts) == (Status.PENDING, 2)
    assert waiting.retry_after == timezone.now() + timedelta(seconds=120)

    settings.EMAIL_BACKEND = LOCMEM
    clock.shift(timedelta(seconds=119))
    delivery.deliver_pending()
    assert mail.outbox == []

    clock.shift(timedelta(seconds=1))
    delivery.deliver_pending()
    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report"]
    sent = Delivery.objects.get()
    assert (sent.status, sent.attempts) == (Status.SENT, 2)


def test_the_backoff_doubles_up_to_an_hour():
    assert [delivery.backoff(attempts).total_seconds() for attempts in range(1, 10)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
        3600,
    ]
    assert delivery.backoff(30000) == timedelta(hours=1)


def test_a_recovery_waits_for_the_failure_email_that_could_not_go_yet(
    job, clock, settings, smtp_down
):
    record_failures(job, clock)
    delivery.deliver_pending()  # SMTP down: the failure email waits a minute
    record_result(job, clock, 200)  # a minute later the job works again
    settings.EMAIL_BACKEND = LOCMEM
    Delivery.objects.filter(kind=Kind.FAILING).update(
        retry_after=timezone.now() + timedelta(seconds=10)
    )

    delivery.deliver_pending()
    assert mail.outbox == []  # the recovery does not overtake it, nor go as "not sent"

    clock.shift(timedelta(seconds=10))
    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report", "Recovered: Nightly report"]


def test_a_later_change_of_a_job_whose_email_failed_in_the_same_run_waits_too(
    job, clock, settings, smtp_down
):
    record_failures(job, clock)
    record_result(job, clock, 200)

    report = delivery.deliver_pending()

    assert (report.sent, report.failed) == (0, 2)
    failing, recovered = Delivery.objects.order_by("id")
    assert (failing.attempts, recovered.attempts) == (1, 0)
    assert failing.retry_after == recovered.retry_after > timezone.now()

    settings.EMAIL_BACKEND = LOCMEM
    clock.shift(timedelta(seconds=60))
    delivery.deliver_pending()
    assert subjects() == ["Failing: Nightly report", "Recovered: Nightly report"]


def test_other_jobs_emails_go_while_one_waits(alice, clock, settings, smtp_down):
    waiting, other = minutely_report(alice, title="Waiting"), minutely_report(alice, title="Other")
    record_failures(waiting, clock)
    delivery.deliver_pending()
    Delivery.objects.update(retry_after=timezone.now() + timedelta(hours=1))
    settings.EMAIL_BACKEND = LOCMEM
    record_failures(other, clock)

    delivery.deliver_pending()

    assert subjects() == ["Failing: Other"]


def test_a_message_that_cannot_be_built_waits_with_backoff_instead_of_holding_the_batch(
    alice, clock, monkeypatch
):
    broken, fine = minutely_report(alice, title="Broken"), minutely_report(alice, title="Fine")
    record_failures(broken, clock)
    record_failures(fine, clock)
    real_message = email_message.message

    def message(row: Delivery) -> mail.EmailMultiAlternatives:
        if row.job_id == broken.id:
            raise ValueError("a template went wrong")
        return real_message(row)

    monkeypatch.setattr(email_message, "message", message)

    report = delivery.deliver_pending()

    assert (report.sent, report.failed) == (1, 1)
    assert subjects() == ["Failing: Fine"]
    waiting = Delivery.objects.get(job=broken)
    assert (waiting.status, waiting.attempts) == (Status.PENDING, 1)
    assert "a template went wrong" in waiting.last_error


def test_a_title_with_a_line_break_still_makes_a_one_line_subject(alice, clock):
    job = minutely_report(alice, title="Nightly\nreport")  # the API does not refuse one
    record_failures(job, clock)

    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report"]


def test_no_failure_email_when_it_is_turned_off_and_then_no_recovery_email(job, clock):
    Job.objects.filter(id=job.id).update(notify_on_failure=False)
    record_failures(job, clock)
    record_result(job, clock, 200)

    report = delivery.deliver_pending()

    assert mail.outbox == []
    assert (report.sent, report.not_sent) == (0, 2)
    assert list(Delivery.objects.order_by("id").values_list("kind", "status")) == [
        (Kind.FAILING, Status.NOT_SENT),
        (Kind.RECOVERED, Status.NOT_SENT),
    ]


def test_a_recovery_email_follows_only_a_sent_failure_email(job, clock):
    Job.objects.filter(id=job.id).update(notify_on_failure=False)
    record_failures(job, clock)
    delivery.deliver_pending()
    Job.objects.filter(id=job.id).update(notify_on_failure=True)
    record_result(job, clock, 200)  # recovers from a streak nobody was told about
    record_failures(job, clock)  # a new streak, emailed
    record_result(job, clock, 200)

    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report", "Recovered: Nightly report"]


def test_no_recovery_email_when_it_is_turned_off(job, clock):
    Job.objects.filter(id=job.id).update(notify_on_recovery=False)
    record_failures(job, clock)
    record_result(job, clock, 200)

    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report"]
    assert Delivery.objects.get(kind=Kind.RECOVERED).status == Status.NOT_SENT


def test_no_disabled_email_when_it_is_turned_off(job, clock):
    Job.objects.filter(id=job.id).update(notify_on_disable=False)
    record_failures(job, clock, 25)

    delivery.deliver_pending()

    assert subjects() == ["Failing: Nightly report"]
    assert Delivery.objects.get(kind=Kind.DISABLED).status == Status.NOT_SENT


def test_an_unconfirmed_address_gets_no_email(carol, clock):
    job = minutely_report(carol)
    record_failures(job, clock)

    report = delivery.deliver_pending()

    assert mail.outbox == []
    assert report.not_sent == 1
    assert Delivery.objects.get().status == Status.NOT_SENT


def test_the_email_goes_to_the_channels_address_a_member_confirmed(alice, job, clock):
    add_confirmed_address(alice, "alerts@example.org")
    Channel.objects.filter(project=job.project).update(address="alerts@example.org")
    record_failures(job, clock)

    delivery.deliver_pending()

    (message,) = mail.outbox
    assert message.to == ["alerts@example.org"]


def test_only_the_owner_is_emailed(alice, bob, job, clock):
    minutely_report(bob, title="Bob's job")
    record_failures(job, clock)

    delivery.deliver_pending()

    assert [message.to for message in mail.outbox] == [["alice@example.org"]]


def test_with_a_threshold_of_three_the_failure_email_comes_on_the_third_failure(alice, clock):
    job = minutely_report(alice, failure_threshold=3)
    record_failures(job, clock, 2)
    delivery.deliver_pending()
    assert mail.outbox == []

    (third,) = record_failures(job, clock)
    record_failures(job, clock)
    delivery.deliver_pending()

    (message,) = mail.outbox
    assert message.subject == "Failing: Nightly report"
    assert "is failing: 3 failures in a row" in message.body
    assert f"/jobs/executions/{third.id}/" in message.body


def test_the_failure_emails_streak_is_the_jobs_count_at_the_change(alice, clock):
    job = make_job(alice, failure_threshold=3)
    record_failures(job, clock, 3)
    count_at_change = Job.objects.get(id=job.id).consecutive_failures
    # Before the email goes: more failures, and the history that made the streak pruned.
    record_failures(job, clock, 2)
    Execution.objects.filter(job=job).exclude(id=job.health_changes.get().execution_id).delete()

    delivery.deliver_pending()

    (message,) = mail.outbox
    assert count_at_change == job.health_changes.get().failures_in_a_row == 3
    assert "is failing: 3 failures in a row" in message.body


def test_a_success_before_the_threshold_sends_nothing(alice, clock):
    job = minutely_report(alice, failure_threshold=3)
    record_failures(job, clock, 2)
    record_result(job, clock, 200)
    record_failures(job, clock, 2)

    delivery.deliver_pending()

    assert mail.outbox == []
    assert not HealthChange.objects.exists()


def test_the_excerpt_is_short(job, clock):
    record_failures(job, clock)
    Execution.objects.update(response_body="x" * 5000)

    delivery.deliver_pending()

    (message,) = mail.outbox
    assert "x" * email_message.EXCERPT_LENGTH + "…" in message.body
    assert "x" * (email_message.EXCERPT_LENGTH + 1) not in message.body


def test_credentials_in_the_url_are_left_out_as_well():
    assert (
        masking.url_without_query("https://user:pw@example.com:8443/a/b?token=secret#frag")
        == "https://example.com:8443/a/b"
    )


@pytest.mark.django_db(transaction=True)
def test_two_notifiers_at_once_send_each_email_once(alice, monkeypatch):
    """Both notifiers claim before either sends: the claim gives each change to one."""
    monkeypatch.setattr(delivery.celery_app, "send_task", lambda *args, **kwargs: None)
    jobs = [minutely_report(alice, title=f"Job {number}") for number in range(10)]
    with time_machine.travel(NOW, tick=False) as clock:
        for job in jobs:
            record_failures(job, clock)
    both_claimed = threading.Barrier(2, timeout=10)
    real_claim = delivery.claim
    first_claim = threading.local()

    def claim(now: datetime) -> list[Delivery]:
        changes = real_claim(now)
        if not getattr(first_claim, "done", False):
            first_claim.done = True
            both_claimed.wait()
        return changes

    monkeypatch.setattr(delivery, "claim", claim)

    reports = race(delivery.deliver_pending, seconds=30)

    assert sorted(subjects()) == sorted(f"Failing: Job {number}" for number in range(10))
    assert sum(report.sent for report in reports) == 10
