"""Real `celery worker`, `celery beat` and gunicorn (web) processes for the engine tests.

They are started as the Procfile starts them, pointed at the database pytest-django
made and at the test broker, and logged to files under the test's tmp_path. An
`Engine` stops whatever it started when its `with` block ends, however it ends; waits
poll the database (or a log) with a deadline, and a process that dies is reported
with its log instead of being waited for.

The fault campaign (bench/faults.py) uses the same `Engine` with `root=` another
checkout (its code and its .venv) and the URLs of private servers.
"""

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit

import psycopg
from django.conf import settings
from django.db import connection

QUEUE = settings.EXECUTIONS_QUEUE  # the Redis list execution batches wait in
START_SECONDS = 30
STOP_SECONDS = 10
T = TypeVar("T")


def database_url() -> str:
    """The URL of the database pytest-django made, for processes started by the test."""
    db = connection.settings_dict
    assert connection.vendor == "postgresql", "the processes need the test's PostgreSQL"
    credentials = quote(db["USER"])
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def broker_url() -> str:
    url = settings.CELERY_BROKER_URL
    assert url.startswith("redis://"), f"set CELERY_BROKER_URL to a Redis database, not {url}"
    return url


def redis_cli(*command: str) -> str:
    """Run a redis-cli command on the test broker's database (never the whole server)."""
    url = urlsplit(broker_url())
    database = url.path.lstrip("/") or "0"
    arguments = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379), "-n", database]
    result = subprocess.run(
        ["redis-cli", *arguments, *command], capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def queued_messages() -> int:
    return int(redis_cli("LLEN", QUEUE))


def flush_broker() -> None:
    """Lose every queued message, as a Redis restart without persistence does."""
    assert redis_cli("FLUSHDB") == "OK"


def engine_environment(directory: Path, **overrides: str) -> dict[str, str]:
    # The test's database and broker, unless the caller names others (private servers).
    servers = {
        "DATABASE_URL": overrides.get("DATABASE_URL") or database_url(),
        "CELERY_BROKER_URL": overrides.get("CELERY_BROKER_URL") or broker_url(),
    }
    return {
        **os.environ,
        **servers,
        "ALLOW_PRIVATE_TARGETS": "true",
        "ALLOWED_TARGET_PORTS": "1-65535",
        "DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "plain",
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
        **overrides,
    }


def answers(url: str) -> bool:
    """Whether anything answers HTTP at `url` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class EngineFailed(AssertionError):
    pass


class Engine:
    """Worker and beat processes for one test: `with Engine(tmp_path) as engine: ...`.
    `root` is the checkout whose code and .venv they run (this one by default)."""

    def __init__(self, directory: Path, *, root: Path = settings.BASE_DIR, **environment: str):
        self.directory = directory
        self.root = root
        (directory / "metrics").mkdir(parents=True, exist_ok=True)
        self.environment = engine_environment(directory, **environment)
        self.processes: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name in list(self.processes):
            self.stop(name)

    def manage(self, *command: str) -> str:
        """A manage.py command with the processes' settings (e.g. setup_schedules)."""
        result = subprocess.run(
            [self.program("python"), "manage.py", *command],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start_worker(
        self,
        name: str = "worker",
        *,
        concurrency: int = 4,
        # By default one process for both queues (production runs a worker for each).
        queues: str = f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.EXECUTIONS_QUEUE}",
        # Messages taken per thread; more than 1 leaves some taken but not started.
        prefetch_multiplier: int = 1,
    ) -> None:
        self.start(
            name,
            "worker",
            f"--hostname={name}-{uuid.uuid4().hex[:8]}@test",
            f"--queues={queues}",
            "--pool=threads",
            f"--concurrency={concurrency}",
            f"--prefetch-multiplier={prefetch_multiplier}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )
        self.wait_until(lambda: " ready." in self.log(name), what=f"{name} to be ready")

    def start_beat(self, name: str = "beat") -> None:
        """Beat with the system schedules (setup_schedules) at this engine's intervals.
        Any number may run, each under a name of its own; they share one heartbeat."""
        self.manage("setup_schedules")
        self.sql("DELETE FROM ops_heartbeat WHERE process = 'beat'")
        self.start(name, "beat")
        # Beat records its heartbeat on its first tick: it is up and reading the schedules.
        self.wait_until(
            lambda: self.sql("SELECT 1 FROM ops_heartbeat WHERE process = 'beat'"),
            what="beat to tick",
        )

    def sql(self, query: str, *params: object) -> list[tuple]:
        """A query on the processes' database (the test's, or a private one), committed."""
        with psycopg.connect(
            self.environment["DATABASE_URL"].replace("postgres://", "postgresql://", 1),
            autocommit=True,
        ) as database:
            cursor = database.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def start_web(self, port: int) -> str:
        """gunicorn as the Procfile starts it, with its gunicorn.conf.py (threaded workers,
        WEB_WORKERS and WEB_THREADS from this engine's environment); its base URL."""
        self.spawn("web", self.program("gunicorn"), "cronsvc.wsgi", f"--bind=127.0.0.1:{port}")
        url = f"http://127.0.0.1:{port}"
        self.wait_until(lambda: answers(f"{url}/healthz"), what="web to answer")
        return url

    def program(self, name: str) -> str:
        """A program of the checkout's own .venv."""
        return str(self.root / ".venv" / "bin" / name)

    def start(self, name: str, *arguments: str) -> None:
        self.spawn(name, self.program("celery"), "-A", "cronsvc", *arguments, "--loglevel=INFO")

    def spawn(self, name: str, *command: str) -> None:
        assert name not in self.processes, f"{name} is running already"
        with (self.directory / f"{name}.log").open("a") as log:
            self.processes[name] = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def pause(self, name: str) -> None:
        """SIGSTOP: the process stands still (threads and all) until resumed."""
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def kill(self, name: str) -> None:
        """SIGKILL: no warm shutdown, no acknowledgements, nothing finished."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)

    def stop_gracefully(self, name: str, *, seconds: float = 90) -> int:
        """SIGTERM, as an orchestrator stops a process, and wait for it to exit by itself
        (a worker finishes its batches first); its exit status. Fails with the logs if it
        is still running after `seconds`."""
        process = self.processes[name]
        process.terminate()
        try:
            code = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            still = f"{name} still running {seconds} s after SIGTERM"
            raise EngineFailed(f"{still}:\n{self.logs()}") from None
        del self.processes[name]
        return code

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.stem} ---\n{path.read_text(errors='replace')[-5000:]}"
            for path in sorted(self.directory.glob("*.log"))
        )

    def wait_until(self, found: Callable[[], T], *, what: str, seconds: float = 30) -> T:
        """Poll until found() returns something true; fail with the logs otherwise."""
        deadline = time.monotonic() + seconds
        while True:
            result = found()
            if result:
                return result
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise EngineFailed(f"{name} exited while waiting for {what}:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise EngineFailed(f"no {what} within {seconds} s:\n{self.logs()}")
            time.sleep(0.1)
