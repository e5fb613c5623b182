"""jobs/engine/test_runs.py: a test run is sent once, by a worker that takes the test_runs
queue, never from the batches' queue."""

import re

import pytest
import yaml
from django.conf import settings

from cronsvc import task_names
from cronsvc.celery import app as celery_app
from jobs.engine import test_runs
from jobs.models import TestRun
from tests.conftest import make_job

pytestmark = pytest.mark.usefixtures("private_targets")


def pending_test_run(alice, url: str) -> TestRun:
    test_run = TestRun.of(make_job(alice, url=url), by=alice)
    test_run.save()
    return test_run


def test_a_second_copy_of_the_message_sends_nothing(alice, target):
    test_run = pending_test_run(alice, target.url("/ok"))

    test_runs.send(test_run.id)
    test_runs.send(test_run.id)

    assert len(target.requests) == 1
    test_run.refresh_from_db()
    assert (test_run.status, test_run.http_status) == (TestRun.Status.DONE, 200)


def test_a_test_run_that_is_gone_is_not_sent(alice, target):
    test_run = pending_test_run(alice, target.url("/ok"))
    test_run.delete()

    test_runs.send(test_run.id)

    assert target.requests == []


def test_a_blocked_address_is_a_result_not_a_request(alice, target, settings):
    test_run = pending_test_run(alice, target.url("/ok"))
    settings.ALLOW_PRIVATE_TARGETS = False  # guarded at connect, as every request

    test_runs.send(test_run.id)

    test_run.refresh_from_db()
    assert (test_run.succeeded, test_run.failure_reason) == (False, "blocked")
    assert target.requests == []


def test_a_test_run_keeps_what_its_job_would(alice, target):
    job = make_job(alice, url=target.url("/headers/150/10"), response_body_kib=0)
    test_run = TestRun.of(job, by=alice)
    test_run.save()

    test_runs.send(test_run.id)

    test_run.refresh_from_db()
    assert (test_run.response_body, test_run.response_truncated) == ("", True)
    assert len(test_run.response_headers) == 100
    assert test_run.response_headers_omitted >= 50


def test_the_task_goes_to_the_test_runs_queue():
    route = celery_app.amqp.router.route({}, task_names.TEST_RUN)

    assert route["queue"].name == settings.TEST_RUNS_QUEUE != settings.EXECUTIONS_QUEUE


def consumed_queues(command: str) -> set[str]:
    return set(re.search(r"--queues=(\S+)", command)[1].split(","))


def test_a_worker_of_their_own_takes_test_runs_under_make_run_and_compose():
    procfile = dict(
        line.split(": ", 1) for line in (settings.BASE_DIR / "Procfile").read_text().splitlines()
    )
    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())

    assert consumed_queues(procfile["testruns"]) == {settings.TEST_RUNS_QUEUE}
    assert consumed_queues(" ".join(compose["services"]["testruns"]["command"])) == {
        settings.TEST_RUNS_QUEUE
    }
    # A test run at a tarpit holds none of the clock's or the firing's threads.
    for process in ("system", "worker"):
        assert settings.TEST_RUNS_QUEUE not in consumed_queues(procfile[process])
