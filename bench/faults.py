"""The fault campaign of issue 12: what each fault costs, in slots per job lost.

    .venv/bin/python bench/faults.py                       # this checkout, all five faults
    .venv/bin/python bench/faults.py --code ../other-checkout --label before --fault kill

Each fault runs against a private PostgreSQL cluster and a private Redis (tests/servers.py)
and real processes (tests/processes.py's Engine): a system worker, one or two executions
workers and beat, run from the code under test, `--code` (a checkout with its own .venv, made
by `make install-dev`; this one by default), with its settings at their defaults. 20
every-minute jobs call a local target (tests/target.py), which records every request. Slot B
is set about 20 s ahead, so its batch is claimed and waiting when the fault comes at a chosen
second around it; the slots B, C (25 s later, the top of a minute) and D (a minute after C)
are counted from the target's record and the executions table. bench/README.md says what each
figure means; the tables go to bench/RESULTS.md.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The harness reads this checkout's settings (tests/processes.py needs them); the processes
# under test get the same environment and read their own checkout's settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronsvc.settings")
os.environ.setdefault("SECRET_KEY", "bench-faults-throw-away-key")

import psycopg  # noqa: E402

from bench.processes import wait_until  # noqa: E402
from bench.report import section, table, write_section  # noqa: E402
from tests.processes import Engine  # noqa: E402
from tests.servers import PrivatePostgres, PrivateRedis  # noqa: E402
from tests.target import Arrival, Target  # noqa: E402

JOBS = 20
ON_TIME = timedelta(seconds=2)  # an arrival later than this after its second is late
SETTLE = timedelta(seconds=15)  # after D's second, for its results and any catch-up
LONGEST_SETTLE = timedelta(seconds=60)  # for records the code under test writes late
EXECUTION_HEADER = "X-Cronsvc-Execution"
EXECUTE_BATCH = "cronsvc.execute_batch"
FINISHED = {"succeeded", "failed", "skipped", "missed"}
COLUMNS = [
    "fault",
    "slots due",
    "delivered on time",
    "delivered late",
    "caught up",
    "recorded missed",
    "skipped",
    "worker_lost",
    "other failures",
    "never recorded",
    "duplicates",
    "false records",
    "cost (slots per job lost)",
    "load",
]
# The jobs, made with the ORM of the code under test: before projects (issue 12's parent
# commit) a job belonged to its member alone. Due in a century until the run sets slot B.
MAKE_JOBS = """
from django.contrib.auth import get_user_model
from jobs.models import Job
member = get_user_model().objects.create_user("faults@example.org", "throw-away password")
owner = {{"user": member}}
try:
    from accounts.projects import personal_project
except ImportError:
    pass
else:
    owner["project"] = personal_project(member)
Job.objects.bulk_create(
    Job(title=f"Ping {{n}}", url={url!r}, schedule="* * * * *", timezone="UTC",
        timeout_seconds={timeout}, next_run_at="2100-01-01T00:00:00Z", **owner)
    for n in range({jobs})
)
"""


@dataclass
class Run:
    """One fault's servers and processes, and its first two slots."""

    engine: Engine
    postgres: PrivatePostgres
    redis: PrivateRedis
    b: datetime
    c: datetime
    notes: list[str] = field(default_factory=list)


def at(moment: datetime) -> None:
    wait_until(moment.timestamp())


def holder_of_b(run: Run) -> str:
    """The executions worker that received B's batch (every version logs the task)."""
    holders = [
        name
        for name in run.engine.processes
        if name not in ("system", "beat")
        and any(EXECUTE_BATCH in line and "received" in line for line in log_lines(run, name))
    ]
    assert len(holders) == 1, f"B's batch should be in one worker's hands, not {holders}"
    return holders[0]


def log_lines(run: Run, name: str) -> list[str]:
    return run.engine.log(name).splitlines()


def redis_lost(run: Run) -> None:
    at(run.b - timedelta(seconds=5))
    run.redis.kill()
    at(run.b + timedelta(seconds=5))
    run.redis.start()


def worker_killed(run: Run) -> None:
    holder = holder_of_b(run)
    at(run.b - timedelta(seconds=3))
    run.engine.kill(holder)


def postgres_restarted(run: Run) -> None:
    at(run.b - timedelta(seconds=2))
    run.postgres.restart()


def worker_stopped(run: Run) -> None:
    holder = holder_of_b(run)
    at(run.b - timedelta(seconds=3))
    run.engine.pause(holder)
    at(run.b + timedelta(seconds=97))
    run.engine.resume(holder)


def no_fault(run: Run) -> None:
    """The saturated pool is the jobs' target and the pool's size: nothing to inject."""


@dataclass(frozen=True)
class Fault:
    key: str
    title: str
    inject: Callable[[Run], None]
    workers: tuple[str, ...] = ("alpha",)
    path: str = "/ok"
    timeout: int = 10
    environment: dict[str, str] = field(default_factory=dict)


FAULTS = [
    Fault(
        "redis",
        "Redis killed 5 s before B's second (its batch waiting in a worker), restarted"
        " empty 10 s later",
        redis_lost,
    ),
    Fault(
        "kill",
        "the worker holding B's batch killed (SIGKILL) 3 s before its second (second 57);"
        " a second executions worker runs on",
        worker_killed,
        workers=("alpha", "bravo"),
    ),
    Fault(
        "postgres",
        "PostgreSQL restarted (fast mode) 2 s before B's second (second 58)",
        postgres_restarted,
    ),
    Fault(
        "stop",
        "the worker holding B's batch stopped (SIGSTOP) 3 s before its second, resumed"
        " 100 s later; a second executions worker runs on",
        worker_stopped,
        workers=("alpha", "bravo"),
    ),
    Fault(
        "pool",
        "a saturated pool: every job on a target that answers in 2 s, 2 connections per"
        " host (CONNECTIONS_PER_HOST), 10 s timeout",
        no_fault,
        path="/slow/2",
        environment={"CONNECTIONS_PER_HOST": "2"},
    ),
]


def two_slots() -> tuple[datetime, datetime]:
    """B about 20 s ahead (set directly as the jobs' next run), C the top of the minute
    25 s after it: the jobs' next slot by their schedule."""
    now = datetime.now(UTC)
    c = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while c - now < timedelta(seconds=45):
        c += timedelta(minutes=1)
    return c - timedelta(seconds=25), c


def start_processes(engine: Engine, workers: tuple[str, ...]) -> None:
    """As the Procfile runs them: a system worker, executions workers, beat."""
    engine.start_worker("system", queues="system", concurrency=4)
    for name in workers:
        engine.start_worker(name, queues="executions", concurrency=64)
    engine.start_beat()


def settle(run: Run, last_slot: datetime) -> None:
    """Until D's results are in and nothing is left pending or running, or the longest."""
    at(last_slot + SETTLE)
    deadline = last_slot + LONGEST_SETTLE
    while datetime.now(UTC) < deadline:
        try:
            unfinished = run.engine.sql(
                "SELECT count(*) FROM jobs_execution WHERE status IN ('pending', 'running')"
            )[0][0]
        except psycopg.OperationalError:
            unfinished = None  # the database is still on its way back
        if unfinished == 0:
            return
        time.sleep(1)
    run.notes.append(f"still unfinished {LONGEST_SETTLE.seconds} s after D: counted as such")


def run_fault(fault: Fault, code: Path, out: Path) -> dict:
    directory = out / fault.key
    directory.mkdir(parents=True, exist_ok=True)
    for old_log in directory.glob("*.log"):
        old_log.unlink()
    load = os.getloadavg()[0]
    with PrivatePostgres() as postgres, PrivateRedis() as redis, Target() as target:
        servers = {"DATABASE_URL": postgres.url(), "CELERY_BROKER_URL": redis.url()}
        # Production defaults, not the tests' 1 s tick and plain logs.
        defaults = {"DISPATCH_INTERVAL_SECONDS": "5", "LOG_FORMAT": "json"}
        with Engine(directory, root=code, **servers, **defaults, **fault.environment) as engine:
            engine.manage("migrate", "--noinput")
            url = target.url(fault.path)
            engine.manage(
                "shell", "-c", MAKE_JOBS.format(url=url, timeout=fault.timeout, jobs=JOBS)
            )
            start_processes(engine, fault.workers)
            run = Run(engine, postgres, redis, *two_slots())
            engine.sql("UPDATE jobs_job SET next_run_at = %s", run.b)
            engine.wait_until(
                lambda: (
                    engine.sql("SELECT count(*) FROM jobs_execution WHERE status = 'running'")[0][0]
                    == JOBS
                ),
                what="slot B's batch to be claimed",
                seconds=(run.b - datetime.now(UTC)).total_seconds(),  # B may be 80 s ahead
            )
            fault.inject(run)
            slots = [run.b, run.c, run.c + timedelta(minutes=1)]
            settle(run, slots[-1])
            jobs = [job for (job,) in engine.sql("SELECT id FROM jobs_job")]
            records = [Record(*row) for row in engine.sql(RECORDS)]
            run.notes += exits(engine)
        arrivals = target.requests
    return {
        "fault": fault,
        "slots": slots,
        "load": (load, os.getloadavg()[0]),
        **tally(jobs, slots, records, arrivals),
        "notes": run.notes,
    }


def exits(engine: Engine) -> list[str]:
    """Processes that ended by themselves, with the first critical (else error) event."""
    found = []
    for name, process in engine.processes.items():
        if process.poll() is not None:
            events = [event for event in log_events(engine.log(name)) if event.get("level")]
            worst = [e for e in events if e["level"] == "critical"] or [
                e for e in events if e["level"] == "error"
            ]
            why = f"`{worst[0]['event'][:200]}`" if worst else "no error logged"
            found.append(f"{name} exited (code {process.returncode}) and stayed down: {why}")
    return found


def log_events(log: str) -> list[dict]:
    """The JSON log's events (other lines, such as warnings printed at start, left out)."""
    events = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return events


RECORDS = """
    SELECT id, job_id, scheduled_for, trigger, status, failure_reason, error, lateness_ms,
           missed_count
    FROM jobs_execution ORDER BY id
"""


@dataclass
class Record:
    """One execution row, in the columns every version has."""

    id: int
    job_id: int
    scheduled_for: datetime
    trigger: str
    status: str
    failure_reason: str
    error: str
    lateness_ms: int | None
    missed_count: int


def tally(jobs: list[int], slots: list[datetime], records: list[Record], arrivals: list) -> dict:
    """The figures for every (job, slot): what reached the target and what was recorded."""
    arrived: dict[int, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        arrived[int(arrival.headers.get(EXECUTION_HEADER, 0))].append(arrival)
    counts: Counter = Counter()
    for job in jobs:
        mine = [r for r in records if r.job_id == job]
        missed = missed_slots(mine, slots)
        caught_up = caught_up_slots(mine, slots, arrived)
        for slot in slots:
            own = [r for r in mine if r.trigger == "schedule" and r.scheduled_for == slot]
            times = sorted(a.arrived_at for r in own for a in arrived[r.id])
            counts["due"] += 1
            if times and times[0] - slot < ON_TIME:
                counts["on time"] += 1
            elif times:
                counts["late"] += 1
            elif caught_up[slot]:
                counts["caught up"] += 1
            counts["missed"] += slot in missed
            counts["skipped"] += any(r.status == "skipped" for r in own)
            lost = [r for r in own if r.status == "failed" and r.failure_reason == "worker_lost"]
            counts["worker_lost"] += bool(lost)
            counts["other failures"] += not lost and any(r.status == "failed" for r in own)
            counts["never recorded"] += slot not in missed and not any(
                r.status in FINISHED for r in own
            )
            counts["duplicates"] += max(0, len(times) + caught_up[slot] - 1)
    counts["false records"] = sum(untrue(r, arrived[r.id]) for r in records)
    delivered = [(r, arrived[r.id]) for r in records if arrived[r.id] and r.lateness_ms is not None]
    return {
        "counts": counts,
        "jobs": len(jobs),
        "real lateness": max((seconds_late(r, a) for r, a in delivered), default=None),
        "recorded lateness": max((r.lateness_ms / 1000 for r, _ in delivered), default=None),
    }


def missed_slots(records: list[Record], slots: list[datetime]) -> set[datetime]:
    """Slots a `missed` row stands for: its own, and the next missed_count - 1 (the tick
    records a run of missed slots as one row)."""
    covered = set()
    for r in records:
        if r.status == "missed" and r.trigger == "schedule":
            covered.update([slot for slot in slots if slot >= r.scheduled_for][: r.missed_count])
    return covered


def caught_up_slots(
    records: list[Record], slots: list[datetime], arrived: dict
) -> dict[datetime, int]:
    """Catch-up requests that reached the target, by the slot they made up for: the latest
    slot at or before the catch-up's own time."""
    counts = dict.fromkeys(slots, 0)
    for r in records:
        earlier = [slot for slot in slots if slot <= r.scheduled_for]
        if r.trigger == "catch_up" and earlier:
            counts[earlier[-1]] += len(arrived[r.id])
    return counts


def seconds_late(record: Record, arrivals: list[Arrival]) -> float:
    return (min(a.arrived_at for a in arrivals) - record.scheduled_for).total_seconds()


def untrue(record: Record, arrivals: list[Arrival]) -> bool:
    """A finished record the target contradicts: an answered request recorded as a failure,
    a recorded lateness more than a second short of when the request arrived, a success
    that never arrived, or a timeout that does not say the request was never sent."""
    if record.status not in FINISHED:
        return False
    if arrivals:
        if any(a.finished for a in arrivals) and record.status != "succeeded":
            return True
        real_ms = seconds_late(record, arrivals) * 1000
        return record.lateness_ms is not None and record.lateness_ms < real_ms - 1000
    if record.status == "succeeded":
        return True
    return record.failure_reason == "timeout" and not record.error.startswith("Not sent")


def row(result: dict) -> list[str]:
    counts, jobs = result["counts"], result["jobs"]
    lost = counts["due"] - counts["on time"]
    return [
        result["fault"].key,
        *(
            str(counts[name])
            for name in (
                "due",
                "on time",
                "late",
                "caught up",
                "missed",
                "skipped",
                "worker_lost",
                "other failures",
                "never recorded",
                "duplicates",
                "false records",
            )
        ),
        f"**{lost / jobs:.2f}**",
        f"{result['load'][0]:.1f} to {result['load'][1]:.1f}",
    ]


def notes(result: dict) -> list[str]:
    found = [f"{result['fault'].key}: {result['fault'].title}"]
    b, c, d = result["slots"]
    found.append(f"slots B {b:%H:%M:%S}, C {c:%H:%M:%S}, D {d:%H:%M:%S} UTC")
    if result["real lateness"] is not None:
        found.append(
            f"latest arrival {result['real lateness']:.1f} s after its second, recorded"
            f" lateness at most {result['recorded lateness']:.1f} s"
        )
    return ["; ".join(found) + "."] + [f"{result['fault'].key}: {n}." for n in result["notes"]]


def describe(code: Path) -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", "-C", str(code), *arguments], capture_output=True, text=True, check=True
        ).stdout.strip()

    # The engine is everything but the bench (whose results this run is writing).
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
    return git("rev-parse", "--short", "HEAD") + (" with uncommitted edits" if dirty else "")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="the fault campaign (bench/README.md)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--label", default="after", help="names the section in RESULTS.md")
    parser.add_argument(
        "--fault",
        action="append",
        choices=[fault.key for fault in FAULTS],
        help="run only this fault (repeatable); all five by default",
    )
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "faults")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    code = args.code.resolve()
    if not (code / ".venv" / "bin" / "celery").exists():
        sys.exit(f"{code} has no .venv: run `make install-dev` there first")
    source = describe(code)
    load = os.getloadavg()[0]
    results = []
    for fault in FAULTS:
        if args.fault and fault.key not in args.fault:
            continue
        print(f"{fault.key}: {fault.title}", flush=True)
        results.append(run_fault(fault, code, args.out / args.label))
        print(table(COLUMNS, [row(results[-1])]), flush=True)
    body = table(COLUMNS, [row(result) for result in results])
    body += "\n\n" + "\n".join(f"- {note}" for result in results for note in notes(result))
    key = f"faults-{args.label}"
    heading = f"Fault campaign (issue 12), {args.label}: engine at {source}"
    command = ".venv/bin/python bench/faults.py " + " ".join(argv)
    os.environ["BENCH_SOURCE"] = f"the processes run {code} at {source}"
    text = section(key, heading, body, command, (load, os.getloadavg()[0]))
    print("\n" + text, flush=True)
    write_section(args.results, key, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
