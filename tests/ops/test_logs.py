"""Structured logs: the formatter settings.LOGGING configures renders the engine's lines
as JSON (LOG_FORMAT=json, the default) with the event name and the ids to find the job,
the execution and the member by; LOG_FORMAT=plain renders readable lines."""

import json
import logging
import runpy
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.models import User
from jobs.engine import run_now, worker
from jobs.models import Execution
from tests.conftest import make_job
from tests.target import Target

SETTINGS_FILE = Path(django_settings.BASE_DIR) / "cronsvc" / "settings.py"


def configured_formatter(monkeypatch: pytest.MonkeyPatch, log_format: str) -> logging.Formatter:
    """The "structured" formatter of settings.LOGGING as the settings build it for a LOG_FORMAT,
    instantiated the way logging.config.dictConfig does ("()" is the factory)."""
    with monkeypatch.context() as patch:
        patch.setenv("LOG_FORMAT", log_format)
        logging_config = runpy.run_path(str(SETTINGS_FILE))["LOGGING"]
    config = dict(logging_config["formatters"]["structured"])
    factory = config.pop("()")
    return factory(**config)


@pytest.fixture
def json_formatter(monkeypatch) -> logging.Formatter:
    return configured_formatter(monkeypatch, "json")


pytestmark = pytest.mark.usefixtures("engine_settings")


def run_failing(alice: User, target: Target) -> Execution:
    execution = run_now.run_now(make_job(alice, url=target.url("/status/500")))
    worker.run_batch([execution.id])
    return execution


def lines(caplog: pytest.LogCaptureFixture, formatter: logging.Formatter, event: str) -> list:
    """The captured records for one event, rendered by the formatter and parsed back."""
    rendered = [json.loads(formatter.format(record)) for record in caplog.records]
    return [line for line in rendered if line["event"] == event]


def test_a_failed_execution_is_one_json_line_with_its_ids(alice, target, caplog, json_formatter):
    with caplog.at_level(logging.INFO):
        execution = run_failing(alice, target)

    (line,) = lines(caplog, json_formatter, "execution.failed")
    assert line["job_id"] == execution.job_id
    assert line["execution_id"] == execution.id
    assert line["project_id"] == execution.job.project_id
    assert (line["reason"], line["http_status"]) == ("http_status", 500)
    assert line["level"] == "info"
    assert line["logger"] == "jobs.engine.worker"
    assert line["timestamp"].endswith("Z")


def test_a_health_change_line_carries_the_job_and_project(alice, target, caplog, json_formatter):
    with caplog.at_level(logging.INFO):
        execution = run_failing(alice, target)

    (line,) = lines(caplog, json_formatter, "job.health")
    assert (line["job_id"], line["project_id"]) == (execution.job_id, execution.job.project_id)
    assert line["change"] == "failing"


def test_a_succeeding_execution_logs_no_failure(alice, target, caplog, json_formatter):
    with caplog.at_level(logging.INFO):
        execution = run_now.run_now(make_job(alice, url=target.url("/ok")))
        worker.run_batch([execution.id])

    assert lines(caplog, json_formatter, "execution.failed") == []
    assert lines(caplog, json_formatter, "job.health") == []


def test_lines_from_the_standard_library_are_json_too(caplog, json_formatter):
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.request").warning("Not Found: %s", "/nowhere")

    (line,) = lines(caplog, json_formatter, "Not Found: /nowhere")
    assert (line["level"], line["logger"]) == ("warning", "django.request")


def test_an_exception_is_rendered_inside_the_json_line(caplog, json_formatter):
    with caplog.at_level(logging.INFO):
        try:
            raise RuntimeError("the database went away")
        except RuntimeError:
            logging.getLogger("jobs.engine.tasks").exception("tick failed")

    (line,) = lines(caplog, json_formatter, "tick failed")
    assert "RuntimeError: the database went away" in line["exception"]


def test_plain_format_renders_readable_lines(alice, target, caplog, monkeypatch):
    plain = configured_formatter(monkeypatch, "plain")
    with caplog.at_level(logging.INFO):
        execution = run_failing(alice, target)

    rendered = [plain.format(record) for record in caplog.records]
    (line,) = [text for text in rendered if "execution.failed" in text]
    assert f"job_id={execution.job_id}" in line
    assert f"project_id={execution.job.project_id}" in line
    assert not line.startswith("{")
