"""`make run` as a new user runs it: embedded defaults, a port of their choosing, and a
console they can read. The whole set of processes runs from a throw-away VAR_DIR."""

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow
START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """Just enough of a browser for Django's forms: cookies and the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def submit(self, path: str, fields: dict[str, str], *, page: str = "") -> str:
        """Post a form as the page holding it does (by default, the page at `path`)."""
        page = page or self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        request = urllib.request.Request(self.base + path, data=data)
        request.add_header("Referer", self.base + path)
        with self.opener.open(request, timeout=10) as response:
            return response.read().decode()


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`make run PORT=…` with nothing configured, stopped (all of it) afterwards."""
    port = free_port()
    log = tmp_path / "make-run.log"
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SITE_URL", "LOG_FORMAT")
    }
    environment.update(
        VAR_DIR=str(tmp_path / "var"),
        ALLOW_PRIVATE_TARGETS="true",  # the target is this test's local server
        DISPATCH_INTERVAL_SECONDS="1",  # so beat ticks many times while the test looks
    )
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_web(port, process, log)
        yield port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for_web(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make run exited:\n{log.read_text()[-5000:]}"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"web did not answer within {START_SECONDS} s:\n{log.read_text()[-5000:]}")


def wait_for(log: Path, pattern: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while not re.search(pattern, console := log.read_text()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {pattern!r} on the console within {seconds} s:\n{console[-5000:]}")
        time.sleep(0.2)
    return console


def worker_heartbeats(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT process, seen_at FROM ops_heartbeat WHERE process LIKE 'worker:%'"
        )
        return dict(rows.fetchall())


def two_rounds_of_heartbeats(database: Path, seconds: float = 30) -> None:
    """Both workers have run the heartbeat task twice, and beat has sent it and its ticks
    meanwhile: whatever Celery would log about them has been logged."""
    deadline = time.monotonic() + seconds
    first: dict[str, str] = {}
    while len(first) < 2:
        assert time.monotonic() < deadline, "the workers' heartbeats never came"
        first = worker_heartbeats(database)
        time.sleep(0.2)
    while any(seen == first[name] for name, seen in worker_heartbeats(database).items()):
        assert time.monotonic() < deadline, "the workers' heartbeats came only once"
        time.sleep(0.2)


def process_lines(console: str) -> list[str]:
    """What honcho shows of web, beat and the workers ("12:00:01 worker.1 | ...")."""
    return [line for line in console.splitlines() if re.match(r"\d\d:\d\d:\d\d \w+\.\d+ +\|", line)]


def test_a_new_member_reads_links_to_the_port_it_serves_and_one_line_per_run(make_run, target):
    port, log = make_run
    browser = Browser(f"http://127.0.0.1:{port}")

    browser.submit("/accounts/signup/", {"email": "dave@example.org", "password1": "plum tree 42"})
    console = wait_for(log, r"http://[^/\s]+/accounts/confirm-email/\S+")
    # The first is the plain-text part's; the HTML part repeats it, escaped.
    link = re.findall(r"http://[^/\s]+/accounts/confirm-email/[\w:/-]+", console)[0]
    assert link.startswith(f"http://127.0.0.1:{port}/accounts/confirm-email/")
    browser.submit(link.removeprefix(browser.base), {})
    job_page = browser.submit("/jobs/new/", job_form(target.url("/ok")))
    job_id = re.search(r'action="/jobs/(\d+)/run/"', job_page)[1]
    browser.submit(f"/jobs/{job_id}/run/", {}, page=job_page)

    wait_for(log, r"execution\.result.*Console check")
    two_rounds_of_heartbeats(log.parent / "var" / "cronsvc.sqlite3")
    lines = process_lines(log.read_text())
    (result,) = [line for line in lines if "Console check" in line]
    assert "status=succeeded" in result and "http_status=200" in result
    # Beat ticked and sent heartbeats every couple of seconds meanwhile; none of it shows.
    shown = "\n".join(lines)
    assert "Task cronsvc." not in shown
    assert "Sending due task" not in shown
    assert "[ops.tasks]" not in shown and "[ops.scheduler]" not in shown  # heartbeats
    assert "dispatch.tick" not in shown  # the job is hourly: no tick claimed anything


def executions_worker(var_dir: Path) -> int:
    """The pid of the executions worker this make run started (found by its VAR_DIR)."""
    return started_process(
        var_dir,
        lambda command: (
            b"--queues=executions" in command
            and any(part.endswith(b"bin/celery") for part in command)
            and not any(part.endswith(b"supervise.py") for part in command)
        ),
    )


def process_manager(var_dir: Path) -> int:
    """The pid of the honcho this make run started."""
    return started_process(
        var_dir, lambda command: any(part.endswith(b"scripts/procfile.py") for part in command)
    )


def started_process(var_dir: Path, wanted: Callable[[list[bytes]], bool]) -> int:
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if wanted(command) and f"VAR_DIR={var_dir}".encode() in environment:
            return int(entry.name)
    raise AssertionError("no such process is running")


def test_a_worker_that_dies_comes_back_by_itself(make_run, target):
    port, log = make_run
    browser = Browser(f"http://127.0.0.1:{port}")
    browser.submit("/accounts/signup/", {"email": "erin@example.org", "password1": "plum tree 42"})
    console = wait_for(log, "/confirm-email/")
    link = re.findall(r"http://[^/\s]+/accounts/confirm-email/[\w:/-]+", console)[0]
    browser.submit(link.removeprefix(browser.base), {})
    job_page = browser.submit("/jobs/new/", job_form(target.url("/ok")))
    job_id = re.search(r'action="/jobs/(\d+)/run/"', job_page)[1]

    os.kill(executions_worker(log.parent / "var"), signal.SIGKILL)
    wait_for(log, r"worker was killed by SIGKILL; starting it again in 1 s")
    browser.submit(f"/jobs/{job_id}/run/", {}, page=job_page)

    console = wait_for(log, r"execution\.result.*Console check", seconds=60)
    # web, beat and the system worker went on meanwhile: nothing else stopped.
    assert "stopped (rc=" not in console


def test_ctrl_c_lets_a_run_in_flight_finish_and_be_recorded(make_run, target):
    port, log = make_run
    var = log.parent / "var"
    browser = Browser(f"http://127.0.0.1:{port}")
    browser.submit("/accounts/signup/", {"email": "erin@example.org", "password1": "plum tree 42"})
    console = wait_for(log, "/confirm-email/")
    link = re.findall(r"http://[^/\s]+/accounts/confirm-email/[\w:/-]+", console)[0]
    browser.submit(link.removeprefix(browser.base), {})
    # Answered in 8 s: longer than honcho's own 5 s between SIGTERM and SIGKILL.
    job_page = browser.submit("/jobs/new/", job_form(target.url("/slow/8")))
    job_id = re.search(r'action="/jobs/(\d+)/run/"', job_page)[1]
    browser.submit(f"/jobs/{job_id}/run/", {}, page=job_page)
    deadline = time.monotonic() + 30
    while not target.requests:
        assert time.monotonic() < deadline, "the run never reached the target"
        time.sleep(0.1)

    # Ctrl-C: SIGINT to make's process group, honcho's too.
    os.killpg(os.getpgid(process_manager(var)), signal.SIGINT)

    console = wait_for(log, r"worker\.1 stopped", seconds=60)
    assert "sending SIGKILL" not in console
    assert target.requests[0].finished
    with sqlite3.connect(var / "cronsvc.sqlite3") as database:
        statuses = database.execute("SELECT status FROM jobs_execution").fetchall()
    assert statuses == [("succeeded",)]


def job_form(url: str) -> dict[str, str]:
    return {
        "title": "Console check",
        "method": "GET",
        "url": url,
        "preset": "daily",
        "at_time": "03:00",
        "timezone": "UTC",
        "timeout_seconds": "30",
        "failure_threshold": "1",
        "follow_redirects": "on",
    }
