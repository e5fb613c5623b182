"""Private Redis and PostgreSQL servers for fault tests that kill or restart them, and a
tarpit (a port that accepts connections and never answers).

Each runs on a port of its own, from a directory of its own, and is removed when its
`with` block ends, however it ends: a test never restarts the shared servers.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

POSTGRES_BIN = next(Path("/usr/lib/postgresql").glob("*/bin"))
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(ready: "callable", what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start within {START_SECONDS} s")
        time.sleep(0.1)


class PrivateRedis:
    """`with PrivateRedis() as redis:` … `redis.kill()`, `redis.start()` (empty again)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="cronsvc-redis-"))

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> "PrivateRedis":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)

    def cli(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *command],
            capture_output=True,
            text=True,
            timeout=10,
        )

    def start(self) -> None:
        # As the shared one runs: nothing kept on disk, so a restart comes back empty.
        subprocess.run(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "yes",
             "--logfile", str(self.directory / "redis.log")],
            check=True,
            timeout=10,
        )  # fmt: skip
        wait_for(lambda: self.cli("ping").stdout.strip() == "PONG", "the private Redis")

    def kill(self) -> None:
        self.cli("shutdown", "nosave")
        wait_for(lambda: self.cli("ping").returncode != 0, "the private Redis to stop")


class PrivatePostgres:
    """A throw-away cluster (initdb) owned by the postgres user, with a `cronsvc` database.
    `restart()` is a fast-mode restart, which ends every session."""

    def __init__(self) -> None:
        self.port = free_port()
        # Outside pytest's tmp_path: the postgres user cannot enter root's 0700 folders.
        self.directory = Path(tempfile.mkdtemp(prefix="cronsvc-postgres-", dir="/tmp"))
        self.data = self.directory / "data"

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/cronsvc"

    def as_postgres(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=60, check=True
        )

    def __enter__(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self.as_postgres(
            str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"
        )
        self.start()
        self.as_postgres(
            str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "cronsvc"
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def pg_ctl(self, *command: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self.as_postgres(
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.directory / "postgres.log"), "-w", *command,
        )  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "fast")


class Tarpit:
    """A server on 127.0.0.1 that accepts every connection and never sends a byte, as a
    hostile target does: `with Tarpit() as tarpit:` … `tarpit.url`, `tarpit.connections`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.listener.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/"

    @property
    def connections(self) -> int:
        return len(self.held)

    def __enter__(self) -> "Tarpit":
        self.thread = threading.Thread(target=self.hold, name="tarpit", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.held:
            connection.close()
        self.listener.close()

    def hold(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.held.append(connection)
