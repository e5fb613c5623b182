"""Starting, stopping and measuring the processes under test (from /proc: no psutil needed)."""

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def procfile() -> dict[str, str]:
    """The Procfile's process types and commands, in order: the bench runs exactly those."""
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        kind, _, command = line.partition(":")
        if command.strip() and not kind.strip().startswith("#"):
            entries[kind.strip()] = command.strip()
    return entries


def procfile_command(name: str) -> str:
    try:
        return procfile()[name]
    except KeyError:
        raise LookupError(f"no {name!r} in the Procfile") from None


def worker_flag(name: str, default: str) -> str:
    """A flag's value on the Procfile's worker line (--pool, --concurrency)."""
    for token in shlex.split(procfile_command("worker")):
        if token.startswith(f"--{name}="):
            return token.split("=", 1)[1]
    return default


class Process:
    """A command run as honcho runs Procfile lines (through sh), in its own process group."""

    def __init__(self, name: str, command: str, env: dict, log: Path) -> None:
        self.name, self.command, self.log = name, command, log
        with log.open("wb") as output:
            self.popen = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 15) -> None:
        """SIGTERM to the process group (warm shutdown), SIGKILL after `grace` seconds."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        except ProcessLookupError:
            pass
        # Threads of a killed worker can leave children (prefork); end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def __repr__(self) -> str:
        return f"{self.name} (pid {self.pid}): {shlex.quote(self.command)}"


def stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes; zeros when the process is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rss, hwm


def all_parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = stat(int(entry))
            if found:
                parents[int(entry)] = found[0]
    return parents


def tree(root: int, parents: dict[int, int]) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        pids += frontier
    return pids


def pids_named(comm: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as file:
                    if file.read().strip() == comm:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


@dataclass
class Usage:
    """CPU seconds and peak memory of one process group, children included."""

    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    peak_rss: int = 0
    baseline: float = 0.0
    # The highest RSS in each minute of the measured window (0 is its first): is it flat?
    rss_by_minute: dict[int, int] = field(default_factory=dict)

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_by_pid.values())

    @property
    def cpu(self) -> float:
        return self.cpu_total - self.baseline


class Sampler:
    """Samples the CPU and RSS of named process groups twice a second, in a thread.

    A group is a Process (the process and its descendants) or a callable returning pids
    (PostgreSQL backends of the bench database, the Redis server). `mark()` starts the
    measured window: CPU seconds are counted from there, peak RSS over the whole life.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.groups: dict[str, object] = {}
        self.usage: dict[str, Usage] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.marked_at: float | None = None

    def add(self, name: str, source: object) -> None:
        with self.lock:
            self.groups[name] = source
            self.usage.setdefault(name, Usage())

    def start(self) -> "Sampler":
        self.thread.start()
        return self

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        parents = all_parents()
        with self.lock:
            for name, source in self.groups.items():
                if isinstance(source, Process):
                    pids = tree(source.pid, parents) if source.pid in parents else []
                else:
                    try:
                        pids = list(source())  # type: ignore[operator]
                    except Exception:
                        pids = []
                usage = self.usage[name]
                rss_sum = 0
                for pid in pids:
                    found = stat(pid)
                    if found:
                        usage.cpu_by_pid[pid] = found[1]
                        rss, hwm = memory(pid)
                        rss_sum += rss
                        if len(pids) == 1:
                            rss_sum = max(rss_sum, hwm)
                usage.peak_rss = max(usage.peak_rss, rss_sum)
                if self.marked_at is not None:
                    minute = int((time.monotonic() - self.marked_at) // 60)
                    usage.rss_by_minute[minute] = max(usage.rss_by_minute.get(minute, 0), rss_sum)

    def mark(self) -> None:
        self.sample()
        with self.lock:
            self.marked_at = time.monotonic()
            for usage in self.usage.values():
                usage.baseline = usage.cpu_total

    def stop(self) -> dict[str, Usage]:
        self.sample()
        self.stopping.set()
        self.thread.join(timeout=5)
        return self.usage


def wait_until(moment: float, *, check=None, step: float = 0.5) -> None:
    """Sleep until the wall-clock `moment`, calling check() every step (it may raise)."""
    while True:
        left = moment - time.time()
        if left <= 0:
            return
        if check:
            check()
        time.sleep(min(step, left))
