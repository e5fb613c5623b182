"""The disaster drill: lose everything but a backup, restore it, and measure what it cost.

    scripts/dr_drill                       # or `make drill`
    scripts/dr_drill --jobs 100 --after-backup 20

It runs on this machine, against PostgreSQL on 127.0.0.1:5432 (DRILL_SERVER_URL) in a
database of its own (`--database`, default cronsvc_drill, dropped and made again; never
another), a private Redis server on a port of its own (tests/servers.py, so flushing it
touches nobody's data), real processes started as tests/processes.py starts them (the
Procfile's system worker, executions worker and beat) and a local target that records every
request (tests/target.py). The target runs in the drill's own process: it outlives the kill.

1. Migrates the database, makes `--jobs` every-minute jobs spread over the minute, starts
   the processes and lets them run for `--warm-up` seconds.
2. Takes a backup the way the backup service does (deploy/backup.sh --once: pg_dump) and
   notes the moment.
3. `--after-backup` seconds later, notes the executions as recorded, kills every process
   (SIGKILL), drops the database and flushes Redis.
4. Restores as docs/OPERATIONS.md says (createdb, pg_restore --no-owner, the empty broker,
   migrate and setup_schedules as compose's migrate service) and starts the processes again.
5. Measures RTO, from the kill to the first request after the restore that reached the
   target on time (within ON_TIME of its second), and RPO: the executions recorded after
   the backup that the restored database lacks, and from the backup to the last of them.
6. Counts, per job and slot, the target's requests and the restored database's rows. Each
   slot of the outage (the kill to the restart) must have been sent once, late or as the
   job's catch-up, or be recorded missed: none silent, none sent twice. The slots between
   the backup and the kill ran before it; the restore forgot them, and how many were sent
   again is counted apart.

It prints the figures, writes them into docs/OPERATIONS.md ("Disaster drill results", with
the date and commit), and exits 1 when a check fails.
"""

import argparse
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("DRILL_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
ON_TIME = timedelta(seconds=2)
RTO_TARGET = timedelta(minutes=5)
SETTLE_SECONDS = 180  # after the restart, for the outage's slots to be sent or recorded
# The engine at its production settings, not the tests' 1 s tick.
ENGINE_SETTINGS = {"DISPATCH_INTERVAL_SECONDS": "5", "LOG_FORMAT": "json"}
EXECUTIONS = (
    "SELECT id, job_id, scheduled_for, status, trigger, missed_count, finished_at"
    " FROM jobs_execution"
)
EXECUTION_HEADER = "X-Cronsvc-Execution"


@dataclass(frozen=True)
class Row:
    """An execution as a database recorded it."""

    id: int
    job_id: int
    scheduled_for: datetime
    status: str
    trigger: str
    missed_count: int
    finished_at: datetime | None


@dataclass
class Tally:
    """What became of each job's slots in one window."""

    slots: int = 0
    on_time: int = 0
    late: int = 0
    caught_up: int = 0
    missed: int = 0
    silent: int = 0
    doubled: int = 0
    sent_again: int = 0  # run before the kill and once more after the restore
    examples: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/dr_drill", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=300, help="every-minute jobs (default 300)")
    parser.add_argument("--database", default="cronsvc_drill", help="dropped and made again")
    parser.add_argument("--warm-up", type=int, default=45, help="seconds before the backup")
    parser.add_argument(
        "--after-backup", type=int, default=30, help="seconds from the backup to the kill"
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "drill"), help="logs")
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures only, not into OPERATIONS.md"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if not args.database.startswith("cronsvc_drill"):
        sys.exit("the drill drops its database: name one starting with cronsvc_drill")
    from tests.servers import PrivateRedis

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    database_url = f"{SERVER_URL}/{args.database}"
    with PrivateRedis() as redis:
        # The drill's own ORM (making the jobs, reading schedules) uses the drill's servers.
        os.environ.update(
            DJANGO_SETTINGS_MODULE="cronsvc.settings",
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=redis.url(),
        )
        import django

        django.setup()
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # a line a request
        figures = Drill(args, out, database_url, redis).run()
    print(report(figures))
    if not args.no_write:
        write(figures)
    return 0 if passed(figures) else 1


class Drill:
    def __init__(self, args: argparse.Namespace, out: Path, database_url: str, redis) -> None:
        from tests.processes import Engine

        self.args, self.out, self.redis = args, out, redis
        for old_log in out.glob("*.log"):
            old_log.unlink()
        self.engine = Engine(
            out,
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=redis.url(),
            **ENGINE_SETTINGS,
        )

    def run(self) -> dict:
        from tests.target import Target

        with Target() as target, self.engine:
            self.replace_database()
            self.engine.manage("migrate", "--noinput")
            jobs = self.make_jobs(target)
            self.start("")
            say(f"{len(jobs)} jobs running; warming up for {self.args.warm_up} s")
            time.sleep(self.args.warm_up)  # the load runs meanwhile

            backed_up_at, dump = self.back_up()
            say(f"backup {dump.name} taken at {backed_up_at:%H:%M:%S}")
            time.sleep(self.args.after_backup)

            before_kill = self.executions()
            killed_at = now()
            for name in list(self.engine.processes):
                self.engine.kill(name)
            self.replace_database()
            assert self.redis.cli("FLUSHALL").stdout.strip() == "OK"
            say(f"killed every process, dropped the database, flushed Redis at {killed_at:%X}")

            self.restore(dump)
            restored = self.executions()
            self.engine.manage("migrate", "--noinput")
            self.start("-restored")
            restarted_at = now()
            say(f"restored and started again at {restarted_at:%H:%M:%S}")
            self.settle(restarted_at)
            after = self.executions()
            arrivals = [(a.arrived_at, int(a.headers[EXECUTION_HEADER])) for a in target.requests]
        return measure(
            jobs=jobs,
            arrivals=arrivals,
            before_kill=before_kill,
            restored=restored,
            after=after,
            backed_up_at=backed_up_at,
            killed_at=killed_at,
            restarted_at=restarted_at,
        )

    def client(self, *command: str, database: str = "postgres", **environment: str) -> str:
        """A PostgreSQL client program (dropdb, pg_restore, backup.sh's pg_dump) run against
        the drill's server, on `database`; its output."""
        result = subprocess.run(
            command,
            env={**os.environ, **libpq(SERVER_URL), "PGDATABASE": database, **environment},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode:
            sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def replace_database(self) -> None:
        from django.db import connections

        connections.close_all()
        self.client("dropdb", "--if-exists", "--force", self.args.database)
        self.client("createdb", self.args.database)

    def make_jobs(self, target) -> list:
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from accounts.projects import personal_project
        from jobs.models import Job

        member = get_user_model().objects.create_user("drill@example.org", "a throw-away password")
        project = personal_project(member)
        jobs = Job.objects.bulk_create(
            Job(
                user=member,
                project=project,
                title=f"Drill {n}",
                url=target.url("/ok"),
                schedule="* * * * *",
                timezone="UTC",
                spread_seconds=59,
            )
            for n in range(self.args.jobs)
        )
        first = timezone.now() + timedelta(seconds=10)
        for job in jobs:
            job.next_run_at = job.compute_next_run(first)
        Job.objects.bulk_update(jobs, ["next_run_at"])
        return jobs

    def start(self, suffix: str) -> None:
        """As the Procfile runs them: the system worker, an executions worker, beat."""
        self.engine.start_worker(f"system{suffix}", queues="system")
        self.engine.start_worker(f"executions{suffix}", queues="executions", concurrency=64)
        self.engine.start_beat(f"beat{suffix}")

    def back_up(self) -> tuple[datetime, Path]:
        at = now()
        output = self.client(
            "sh",
            str(ROOT / "deploy" / "backup.sh"),
            "--once",
            database=self.args.database,
            BACKUP_DIR=str(self.out / "backups"),
        )
        return at, Path(output.split("backup: ", 1)[1].strip())

    def restore(self, dump: Path) -> None:
        """docs/OPERATIONS.md's step 3, into the database made again."""
        self.client("pg_restore", "--no-owner", f"--dbname={self.args.database}", str(dump))

    def executions(self) -> list[Row]:
        return [Row(*row) for row in self.engine.sql(EXECUTIONS)]

    def settle(self, restarted_at: datetime) -> None:
        """Until the slots due before the restart are all sent or recorded."""
        self.engine.wait_until(
            lambda: (
                now() > restarted_at + timedelta(seconds=20)
                and not self.engine.sql(
                    "SELECT 1 FROM jobs_execution WHERE status IN ('pending', 'running')"
                    " AND scheduled_for < %s",
                    restarted_at + timedelta(seconds=5),
                )
            ),
            what="the outage's slots to be sent or recorded",
            seconds=SETTLE_SECONDS,
        )


def libpq(server_url: str) -> dict[str, str]:
    url = urlsplit(server_url)
    return {
        "PGHOST": url.hostname or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGPASSWORD": url.password or "",
    }


def now() -> datetime:
    return datetime.now(UTC)


def say(line: str) -> None:
    print(f"{now():%H:%M:%S} {line}", flush=True)


def measure(
    *,
    jobs: list,
    arrivals: list[tuple[datetime, int]],
    before_kill: list[Row],
    restored: list[Row],
    after: list[Row],
    backed_up_at: datetime,
    killed_at: datetime,
    restarted_at: datetime,
) -> dict:
    """The figures, from the target's requests and the executions as recorded before the
    kill, right after the restore and at the end."""
    sends = Sends.count(arrivals, before_kill, after, killed_at)
    first_on_time = sends.first_on_time()
    lost = lost_records(before_kill, restored)
    schedules = {job.id: job for job in jobs}
    missed = missed_slots(after, schedules)
    return {
        "jobs": len(jobs),
        "backed_up_at": backed_up_at,
        "killed_at": killed_at,
        "restarted_at": restarted_at,
        "rto": first_on_time - killed_at if first_on_time else None,
        "lost": len(lost),
        "lost_until": max((row.finished_at for row in lost), default=None),
        "forgotten": tally(schedules, backed_up_at, killed_at, sends, missed),
        "outage": tally(schedules, killed_at, restarted_at, sends, missed),
        "extra_catch_ups": extra_catch_ups(sends, schedules),
    }


@dataclass
class Sends:
    """Requests that reached the target, per (job, slot), before the kill and after it.

    A request's execution id names its slot: before the kill in the executions as recorded
    then, after it in the restored database's. The ids went back with the restore, so one
    id may name two executions, one on each side of the kill."""

    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    # The slots sent after the kill: (arrival, execution) of the first request.
    first: dict = field(default_factory=dict)

    @classmethod
    def count(cls, arrivals, before_kill: list[Row], after: list[Row], killed_at) -> "Sends":
        sends = cls()
        earlier, later = {r.id: r for r in before_kill}, {r.id: r for r in after}
        for arrived_at, execution_id in sorted(arrivals):
            side = arrived_at < killed_at
            row = (earlier if side else later)[execution_id]
            slot = (row.job_id, row.scheduled_for)
            (sends.before if side else sends.after)[slot] += 1
            if not side:
                sends.first.setdefault(slot, (arrived_at, row))
        return sends

    def first_on_time(self) -> datetime | None:
        """When the first request after the kill reached the target on time."""
        on_time = [
            arrived_at
            for arrived_at, row in self.first.values()
            if row.trigger == "schedule" and arrived_at - row.scheduled_for <= ON_TIME
        ]
        return min(on_time, default=None)


def lost_records(before_kill: list[Row], restored: list[Row]) -> list[Row]:
    """Executions finished before the kill that the restored database has unfinished or
    not at all: recorded after the backup."""
    kept = {row.id for row in restored if row.finished_at}
    return [row for row in before_kill if row.finished_at and row.id not in kept]


def missed_slots(after: list[Row], schedules: dict) -> set[tuple[int, datetime]]:
    """The slots recorded missed: a missed execution stands for `missed_count` slots of its
    job from its own (jobs/engine/tick.py)."""
    slots = set()
    for row in after:
        if row.status != "missed":
            continue
        slot = row.scheduled_for
        for _ in range(row.missed_count):
            slots.add((row.job_id, slot))
            slot = schedules[row.job_id].compute_next_run(slot)
    return slots


def slots_between(job, start: datetime, end: datetime) -> list[datetime]:
    """The job's slots from `start` (included) to `end`."""
    slots, slot = [], job.compute_next_run(start - timedelta(microseconds=1))
    while slot < end:
        slots.append(slot)
        slot = job.compute_next_run(slot)
    return slots


def tally(schedules: dict, start: datetime, end: datetime, sends: Sends, missed: set) -> Tally:
    """Each job's slots from `start` to `end`: sent (once, or twice), recorded missed, or
    neither (silent)."""
    result = Tally()
    for job in schedules.values():
        for slot in slots_between(job, start, end):
            key = (job.id, slot)
            before, after = sends.before[key], sends.after[key]
            result.slots += 1
            if before > 1 or after > 1:
                result.doubled += 1
                result.examples.append(f"job {job.id} {slot:%H:%M:%S} sent {before + after}x")
            elif before and after:
                result.sent_again += 1
            elif before or after:
                count_sent(result, key, sends)
            elif key in missed:
                result.missed += 1
            else:
                result.silent += 1
                result.examples.append(f"job {job.id} {slot:%H:%M:%S} neither sent nor recorded")
    return result


def count_sent(result: Tally, key: tuple, sends: Sends) -> None:
    if key not in sends.first:
        result.on_time += 1  # before the kill: the engine at work
        return
    arrived_at, row = sends.first[key]
    if row.trigger == "catch_up":
        result.caught_up += 1
    elif arrived_at - row.scheduled_for <= ON_TIME:
        result.on_time += 1
    else:
        result.late += 1


def extra_catch_ups(sends: Sends, schedules: dict) -> int:
    """Catch-up runs sent after the restore at no slot of their job: for a run the restored
    database shows claimed by a worker that is gone (it ran before the kill), recorded
    missed at the restart and made up for."""
    return sum(
        1
        for (job_id, scheduled_for), (_, row) in sends.first.items()
        if row.trigger == "catch_up" and not on_schedule(schedules[job_id], scheduled_for)
    )


def on_schedule(job, moment: datetime) -> bool:
    return job.compute_next_run(moment - timedelta(microseconds=1)) == moment


def passed(figures: dict) -> bool:
    outage, forgotten = figures["outage"], figures["forgotten"]
    since_backup = figures["killed_at"] - figures["backed_up_at"]
    return (
        figures["rto"] is not None
        and figures["rto"] < RTO_TARGET
        and (figures["lost_until"] is None or rpo(figures) <= since_backup)
        and not (outage.silent or outage.doubled or forgotten.silent or forgotten.doubled)
    )


def rpo(figures: dict) -> timedelta:
    """From the backup to the last execution recorded after it that the restore lost."""
    return figures["lost_until"] - figures["backed_up_at"]


def describe(window: Tally) -> str:
    parts = [
        f"{window.on_time} on time",
        f"{window.late} late",
        f"{window.caught_up} as the catch-up",
        f"{window.missed} recorded missed",
        f"{window.sent_again} sent before the kill and again after the restore",
        f"**{window.silent} silent**",
        f"**{window.doubled} sent twice**",
    ]
    return f"{window.slots}: " + ", ".join(parts)


def report(figures: dict) -> str:
    since_backup = figures["killed_at"] - figures["backed_up_at"]
    rto = figures["rto"]
    lost = figures["lost"]
    rows = [
        (
            "RTO: kill → first on-time request after the restore",
            f"{rto.total_seconds():.1f} s (target < 5 min)" if rto else "**none on time**",
        ),
        (
            "RPO: executions recorded after the backup, lost",
            f"{lost}, the last {rpo(figures).total_seconds():.1f} s after the backup"
            if lost
            else "0",
        ),
        ("Backup → kill (the most a restore may lose)", f"{since_backup.total_seconds():.1f} s"),
        (
            "Kill → processes running again",
            f"{(figures['restarted_at'] - figures['killed_at']).total_seconds():.1f} s",
        ),
        ("Outage slots (kill → restart)", describe(figures["outage"])),
        ("Slots between the backup and the kill", describe(figures["forgotten"])),
        ("Catch-ups after the restore for runs it forgot", str(figures["extra_catch_ups"])),
    ]
    examples = figures["outage"].examples + figures["forgotten"].examples
    lines = [
        f"{figures['jobs']} every-minute jobs spread over the minute; "
        f"checks {'passed' if passed(figures) else '**failed**'}.",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        *(["", "Examples: " + "; ".join(examples[:10])] if examples else []),
    ]
    return "\n".join(lines)


def write(figures: dict) -> None:
    """Replace the previous results in docs/OPERATIONS.md."""
    from bench.report import machine, write_section

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    text = (
        "<!-- bench:drill -->\n## Disaster drill results\n\n"
        f"`scripts/dr_drill` on {figures['killed_at']:%Y-%m-%d %H:%M} UTC at commit {commit}"
        f" ({machine()}; shared with other work).\n\n{report(figures)}\n<!-- /bench:drill -->\n"
    )
    write_section(OPERATIONS, "drill", text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
