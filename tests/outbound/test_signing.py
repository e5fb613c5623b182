"""Signed requests (jobs/outbound/signing.py): a job that signs its requests sends Standard
Webhooks headers, and the target verifies them with the `standardwebhooks` package's own
verify call, before a rotation of the project's signing secret, during the day after it
(either secret verifies), and after that day (only the new one)."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from accounts import audit, projects
from accounts.models import Project, User
from accounts.projects import personal_project
from jobs.engine import run_now, test_runs, tick, worker
from jobs.models import Execution, Job
from jobs.outbound import http
from jobs.outbound.signing import signature_headers
from tests.conftest import make_job, redirect, run_test_run, send
from tests.target import Arrival, Target
from tests.web.test_job_form import job_form_data

pytestmark = pytest.mark.usefixtures("engine_settings", "fresh_limits")
# Half a second before a minute's slot: the tick claims it and the worker sends it at once.
BEFORE_A_SLOT = datetime(2026, 5, 12, 10, 0, 59, 500_000, tzinfo=UTC)
BODY = '{"report": "nightly", "total": "12 €"}'
signing_job = partial(
    make_job,
    title="Signed report",
    method="POST",
    body=BODY,
    schedule="* * * * *",
    timezone="UTC",
    sign_requests=True,
)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    # Ticking: the worker waits for the slot's second on this clock.
    with time_machine.travel(BEFORE_A_SLOT, tick=True) as traveller:
        yield traveller


def new_secret(user: User) -> str:
    project = personal_project(user)
    return projects.new_signing_secret(project, by=audit.Actor(user=user, via=audit.Via.WEB))


def scheduled_run(job: Job, target: Target, clock, sent, capture) -> tuple[Execution, Arrival]:
    """The job's next slot as the engine runs it: half a second before it, the tick claims
    it; a worker sends it on its second. The execution, and its request as it arrived."""
    job.refresh_from_db()
    clock.move_to(job.next_run_at - timedelta(seconds=0.5))
    with capture(execute=True):
        assert tick.tick() == 1
    worker.run_batch(sent[-1])
    execution = Execution.objects.get(id__in=sent[-1], job=job)
    (arrival,) = [
        a for a in target.requests if a.headers[http.EXECUTION_HEADER] == str(execution.id)
    ]
    return execution, arrival


def verify(secret: str, arrival: Arrival) -> object:
    """The target's check, as the README shows it: the body, parsed, once it verifies."""
    return Webhook(secret).verify(arrival.body, dict(arrival.headers))


def signatures(arrival: Arrival) -> list[str]:
    return arrival.headers["webhook-signature"].split(" ")


def test_a_scheduled_run_is_signed_so_the_target_verifies_it(
    alice, target, clock, sent, django_capture_on_commit_callbacks
):
    secret = new_secret(alice)
    job = signing_job(alice, url=target.url("/echo"))

    execution, arrival = scheduled_run(job, target, clock, sent, django_capture_on_commit_callbacks)

    assert execution.status == Execution.Status.SUCCEEDED
    assert verify(secret, arrival) == json.loads(BODY)
    assert arrival.headers["webhook-id"] == str(execution.id)
    sent_at = int(arrival.arrived_at.timestamp())
    assert sent_at - 1 <= int(arrival.headers["webhook-timestamp"]) <= sent_at
    assert signatures(arrival)[0].startswith("v1,")
    assert len(signatures(arrival)) == 1
    # The execution's record names the headers, never their values.
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(
        execution.request["headers"]
    )
    assert arrival.headers["webhook-signature"] not in json.dumps(execution.request)


def test_during_a_rotation_both_secrets_verify_and_after_a_day_only_the_new_one(
    alice, target, clock, sent, django_capture_on_commit_callbacks
):
    run = partial(scheduled_run, target=target, clock=clock, sent=sent)
    capture = django_capture_on_commit_callbacks
    old = new_secret(alice)
    job = signing_job(alice, url=target.url("/echo"))
    _, before = run(job, capture=capture)
    assert verify(old, before) == json.loads(BODY)

    new = new_secret(alice)
    _, during = run(job, capture=capture)

    assert len(signatures(during)) == 2
    assert verify(new, during) == verify(old, during) == json.loads(BODY)

    job.delete()
    clock.shift(timedelta(hours=24))
    _, after = run(signing_job(alice, url=target.url("/echo")), capture=capture)

    assert len(signatures(after)) == 1
    assert verify(new, after) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify(old, after)


def test_a_run_now_is_signed(alice, target):
    secret = new_secret(alice)
    job = signing_job(alice, url=target.url("/echo"))

    execution = run_now.run_now(job)
    worker.run_batch([execution.id])

    (arrival,) = target.requests
    assert verify(secret, arrival) == json.loads(BODY)
    assert arrival.headers["webhook-id"] == str(execution.id)


def test_each_retry_is_signed_with_its_own_id(
    alice, target, sent, django_capture_on_commit_callbacks
):
    secret = new_secret(alice)
    target.flaky_failures = 1
    job = signing_job(
        alice, url=target.url("/flaky"), schedule="0 * * * *", retries=1, retry_delay_seconds=1
    )
    first = Execution.objects.create(
        job=job, scheduled_for=timezone.now(), enqueued_at=timezone.now()
    )

    worker.run_batch([first.id])
    retry = Execution.objects.get(retry_of=first)
    with django_capture_on_commit_callbacks(execute=True):
        tick.claim_retries(timezone.now(), retry.scheduled_for + timedelta(seconds=1))
    worker.run_batch(sent[-1])

    assert [a.headers["webhook-id"] for a in target.requests] == [str(first.id), str(retry.id)]
    for arrival in target.requests:
        verify(secret, arrival)
    retry.refresh_from_db()
    assert retry.status == Execution.Status.SUCCEEDED


def test_a_test_run_from_the_form_is_signed_with_an_id_of_its_own(alice_client, alice, target):
    secret = new_secret(alice)
    data = job_form_data(url=target.url("/echo"), method="POST", body=BODY, sign_requests="on")

    run_test_run(alice_client, data)
    run_test_run(alice_client, data)

    first, second = target.requests
    assert verify(secret, first) == verify(secret, second) == json.loads(BODY)
    assert first.headers["webhook-id"].startswith("test-run-")
    assert first.headers["webhook-id"] != second.headers["webhook-id"]


def test_an_api_test_run_of_a_saved_job_is_signed_as_the_job_is(alice_api, alice, target):
    secret = new_secret(alice)
    job = signing_job(alice, url=target.url("/echo"))

    started = alice_api.post(f"/api/v1/jobs/{job.id}/test-run/", {}, format="json").json()
    test_runs.send(started["id"])

    (arrival,) = target.requests
    assert verify(secret, arrival) == json.loads(BODY)
    assert arrival.headers["webhook-id"] == f"test-run-{started['id']}"


def test_a_job_that_does_not_sign_sends_no_signature(alice, target):
    new_secret(alice)
    job = make_job(alice, url=target.url("/ok"))
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())

    worker.run_batch([execution.id])

    (arrival,) = target.requests
    assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & set(arrival.headers)


def test_the_signature_follows_a_redirect_within_the_site_but_not_to_another(target):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    with Target(host="127.0.0.2") as other:
        send(redirect(target, "/echo"), signing_secrets=[secret])
        send(redirect(target, other.url("/echo")), signing_secrets=[secret])

        (elsewhere,) = other.requests
    for arrival in target.requests:  # both first hops, and the hop within the site
        Webhook(secret).verify(arrival.body, dict(arrival.headers), json_parse=False)
    assert len(target.requests) == 3
    # The other site could replay a signed request to the first one; it gets none.
    assert not {"webhook-id", "webhook-signature"} & set(elsewhere.headers)


def test_signing_adds_no_query_to_a_batch(alice, target):
    """The project's secrets come with the batch's jobs, not a query per request."""
    new_secret(alice)

    def queries_for_a_batch(**fields: object) -> int:
        jobs = [make_job(alice, url=target.url("/ok"), **fields) for _ in range(5)]
        now = timezone.now()
        ids = [Execution.objects.create(job=job, scheduled_for=now).id for job in jobs]
        with CaptureQueriesContext(connection) as queries:
            worker.run_batch(ids)
        return len(queries)

    assert queries_for_a_batch(sign_requests=True) == queries_for_a_batch(sign_requests=False)
    assert sum("webhook-signature" in a.headers for a in target.requests) == 5


# The README's Node check, with the npm package (a devDependency `make install` installs).
NODE_VERIFY = """
const { Webhook } = require("standardwebhooks");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const payload = new Webhook(input.secret).verify(input.body, input.headers);
process.stdout.write(JSON.stringify(payload));
"""


def node_verify(secret: str, arrival: Arrival) -> subprocess.CompletedProcess:
    given = {"secret": secret, "body": arrival.body.decode(), "headers": dict(arrival.headers)}
    return subprocess.run(
        ["node", "-e", NODE_VERIFY],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=30,
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_the_node_library_verifies_both_signatures_during_a_rotation(alice, target):
    # On the real clock: the Node library checks the timestamp against its own.
    old, new = new_secret(alice), new_secret(alice)
    execution = run_now.run_now(signing_job(alice, url=target.url("/echo")))
    worker.run_batch([execution.id])
    (arrival,) = target.requests

    for secret in (new, old):
        verified = node_verify(secret, arrival)
        assert verified.returncode == 0, verified.stderr
        assert json.loads(verified.stdout) == json.loads(BODY)
    stranger = node_verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", arrival)
    assert stranger.returncode != 0
    assert "No matching signature found" in stranger.stderr


def test_the_secret_is_stored_encrypted(alice):
    secret = new_secret(alice)
    project = personal_project(alice)

    stored = Project.objects.filter(id=project.id).values().get()
    assert not any(secret in str(value) for value in stored.values())
    assert not any(secret[len("whsec_") :] in str(value) for value in stored.values())
    assert project.signing_secrets(timezone.now()) == [secret]


def test_signature_headers_sign_once_per_secret():
    one, two = (
        "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_" + "c2VjcmV0LXR3by1zZWNyZXQtdHdv",
    )
    now = int(timezone.now().timestamp())

    headers = signature_headers([one, two], "msg_1", now, BODY.encode())

    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (one, two):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(one).verify(BODY + " ", headers)
