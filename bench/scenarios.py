"""The scenarios: live runs (precision, capacity, smoke) and the in-process flat-dispatch one.

Django is set up by bench/run.py before this module is imported, on the throw-away database.
"""

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
    SolarSchedule,
)

from accounts.models import Membership, Project, Role, User
from bench import naive
from bench.processes import ROOT, Process, Sampler, pids_named, procfile, wait_until, worker_flag
from bench.target import ports_from, read_record
from jobs.engine import tick
from jobs.models import Execution, HealthChange, Job
from ops.models import Heartbeat

PYTHON = str(ROOT / ".venv" / "bin" / "python")
CELERY = ".venv/bin/celery"
NAIVE_BEAT = (
    f"{CELERY} -A bench.naive beat --loglevel=info "
    "-S django_celery_beat.schedulers:DatabaseScheduler"
)


def naive_worker() -> str:
    # The pool and concurrency of the Procfile's worker, so only the scheduling differs.
    pool, concurrency = worker_flag("pool", "prefork"), worker_flag("concurrency", "2")
    return (
        f"{CELERY} -A bench.naive worker --loglevel=info --pool={pool} --concurrency={concurrency}"
    )


MEMBER_EMAIL = "bench@example.org"
# A flaky site's jobs retry twice, a second apart (doubling, with jitter): the third attempt,
# the one the site answers, comes a few seconds after the slot.
FLAKY_RETRIES = {"retries": 2, "retry_delay_seconds": 1}
# Open connections for no proxy: every request of the bench goes to 127.0.0.1.
local = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Live:
    """A live run: `jobs` jobs, each due at the top of every minute for `minutes` minutes
    (or, with once=True, all due at the same single second)."""

    name: str
    jobs: int
    minutes: int
    once: bool = False
    workers: int = 1
    # Pin executions worker n to core n (taskset), to measure how the workers scale out.
    pin: bool = False
    ports: int = 50
    profile: bool = False
    out: Path = ROOT / "bench" / "out"
    # Jobs per project: each project has its own fair share of requests in flight.
    per_project: int = 100
    # Percent of the jobs whose target never answers (each waits out its timeout), and whose
    # target refuses connections: job n is one when n mod 100 falls in their share.
    hanging: int = 0
    refusing: int = 0
    # Percent of the jobs on flaky sites (503 twice, then 200), with `retries: 2`.
    flaky: int = 0
    # The first `keyed` jobs share `keys` ordering keys, consecutive jobs on the same key
    # (so within one project); their runs queue, and are measured apart (path /q/).
    keyed: int = 0
    keys: int = 0

    def kind(self, key: int) -> str:
        if key < self.keyed:
            return "keyed"
        share = key % 100
        for kind, bound in (
            ("hanging", self.hanging),
            ("refusing", self.hanging + self.refusing),
            ("flaky", self.hanging + self.refusing + self.flaky),
        ):
            if share < bound:
                return kind
        return "healthy"

    @property
    def healthy_keys(self) -> set[int]:
        """The jobs whose every slot must be delivered in its minute (flaky ones by retry)."""
        return {key for key in range(self.jobs) if self.kind(key) in ("healthy", "flaky")}

    def ordering_key(self, key: int) -> str:
        if self.kind(key) != "keyed":
            return ""
        return f"key-{key // (self.keyed // self.keys)}"


@dataclass
class Side:
    """One design under test during a live run: its database, target and processes."""

    design: str
    alias: str
    database: str
    target: Process | None = None
    # Target ports by kind of job: healthy, hanging, refusing.
    ports: dict[str, list[int]] = field(default_factory=dict)
    record: Path | None = None
    processes: list[Process] = field(default_factory=list)
    profiles: list[tuple[str, Path, subprocess.Popen]] = field(default_factory=list)


def bench_projects(alias: str, owner: User, count: int) -> list[Project]:
    """`count` projects owned by the bench member, standing for many members' projects."""
    projects = Project.objects.using(alias).bulk_create(
        Project(name=f"bench {number}") for number in range(count)
    )
    Membership.objects.using(alias).bulk_create(
        Membership(project=project, user=owner, role=Role.OWNER) for project in projects
    )
    return projects


def member(alias: str) -> User:
    user = User.objects.db_manager(alias).filter(email=MEMBER_EMAIL).first()
    if user is None:
        user = User(email=MEMBER_EMAIL)  # never signs in: no address to confirm
        user.set_unusable_password()
        user.save(using=alias)
    return user


def reset(alias: str) -> None:
    """Empty the job and schedule tables (the member stays)."""
    models = [
        Execution,
        HealthChange,
        Heartbeat,
        Job,
        Project,
        PeriodicTask,
        PeriodicTasks,
        CrontabSchedule,
        IntervalSchedule,
        ClockedSchedule,
        SolarSchedule,
    ]
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connections[alias].cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def ceil_minute(moment: float) -> int:
    return math.ceil(moment / 60) * 60


def start_target(side: Side, run: Live, env: dict) -> None:
    side.record = run.out / f"{run.name}-{run.jobs}-{side.design}-arrivals.tsv"
    log = run.out / f"{run.name}-{run.jobs}-{side.design}-target.log"
    # A few sites of each hostile kind, as a handful of members' dead hosts would be.
    hostile = f" --hanging {5 if run.hanging else 0} --refusing {5 if run.refusing else 0}"
    side.target = Process(
        f"{side.design} target",
        f"{PYTHON} -m bench.target --record {side.record} --ports {run.ports}{hostile}",
        env,
        log,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and side.target.alive():
        text = log.read_text()
        if ports := ports_from(text):
            side.ports = {
                "healthy": ports,
                "hanging": ports_from(text, "HANGING"),
                "refusing": ports_from(text, "REFUSING"),
            }
            return
        time.sleep(0.1)
    raise RuntimeError(f"the target did not start: see {side.target.log}")


def arrivals_so_far(port: int) -> int:
    with local.open(f"http://127.0.0.1:{port}/_bench/count", timeout=5) as response:
        return int(response.read())


def job_url(side: Side, run: Live, key: int) -> str:
    # Jobs spread over the target's ports of their kind, as over many sites.
    kind = run.kind(key)
    ports = side.ports["healthy" if kind in ("flaky", "keyed") else kind]
    path = {"flaky": "f", "keyed": "q"}.get(kind, "j")
    return f"http://127.0.0.1:{ports[key % len(ports)]}/{path}/{key}"


def create_cronsvc_jobs(side: Side, run: Live, first_slot: int) -> None:
    user = member(side.alias)
    slot = datetime.fromtimestamp(first_slot, UTC)
    schedule = f"{slot.minute} {slot.hour} * * *" if run.once else "* * * * *"
    # next_run_at computed once for all: they share the schedule.
    projects = bench_projects(side.alias, user, math.ceil(run.jobs / run.per_project))
    Job.objects.using(side.alias).bulk_create(
        (
            Job(
                user=user,
                project=projects[key // run.per_project],
                title=f"bench {key}",
                url=job_url(side, run, key),
                schedule=schedule,
                timezone="UTC",
                next_run_at=slot,
                ordering_key=run.ordering_key(key),
                **(FLAKY_RETRIES if run.kind(key) == "flaky" else {}),
            )
            for key in range(run.jobs)
        ),
        batch_size=5000,
    )
    call_command("setup_schedules", stdout=StringIO())


def create_naive_tasks(side: Side, run: Live, first_slot: int) -> None:
    slot = datetime.fromtimestamp(first_slot, UTC)
    crontab = CrontabSchedule.objects.using(side.alias).create(
        minute=str(slot.minute) if run.once else "*",
        hour=str(slot.hour) if run.once else "*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.using(side.alias).bulk_create(
        (
            PeriodicTask(
                name=f"bench job {key}",
                task=naive.TASK,
                crontab=crontab,
                args=json.dumps([job_url(side, run, key)]),
            )
            for key in range(run.jobs)
        ),
        batch_size=5000,
    )


def start_processes(side: Side, run: Live, env: dict) -> None:
    child_env = {**env, "DATABASE_URL": database_url(side.database)}
    if side.design == "naive":
        child_env["CELERY_BROKER_URL"] = env["BENCH_NAIVE_BROKER_URL"]
    log = run.out / f"{run.name}-{run.jobs}-{side.design}"
    if side.design == "cronsvc":
        # Every process of the Procfile but the web server, as honcho would start them.
        for kind, command in procfile().items():
            if kind == "web":
                continue
            copies = run.workers if kind == "worker" else 1
            for number in range(copies):
                name = kind if copies == 1 else f"{kind}{number}"
                line = command
                if copies > 1:
                    line = re.sub(r"--hostname=(\S+?)@", rf"--hostname=\g<1>{number}@", command)
                    if "--hostname" not in line:
                        line += f" --hostname={name}@%h"
                if run.pin and kind == "worker":
                    # Worker n on core n: worker groups that do not share a core.
                    line = f"taskset -c {number % os.cpu_count()} {line}"
                side.processes.append(Process(name, line, child_env, Path(f"{log}-{name}.log")))
    else:
        side.processes.append(Process("beat", NAIVE_BEAT, child_env, Path(f"{log}-beat.log")))
        for number in range(run.workers):
            name = "worker" if run.workers == 1 else f"worker{number}"
            command = naive_worker() + (f" --hostname=naive{number}@%h" if run.workers > 1 else "")
            side.processes.append(Process(name, command, child_env, Path(f"{log}-{name}.log")))


def database_url(name: str) -> str:
    return f"{os.environ['BENCH_SERVER_URL']}/{name}"


def backends(database: str):
    """A pid source for the Sampler: PostgreSQL backends connected to this database."""
    import psycopg

    state = {}

    def pids() -> list[int]:
        if "conn" not in state or state["conn"].closed:
            state["conn"] = psycopg.connect(database_url("postgres"), autocommit=True)
        rows = (
            state["conn"]
            .execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
            .fetchall()
        )
        return [row[0] for row in rows]

    return pids


def start_profiles(side: Side, run: Live, seconds: int) -> None:
    py_spy = shutil.which("py-spy", path=str(ROOT / ".venv" / "bin")) or shutil.which("py-spy")
    if not py_spy:
        print("  (py-spy is not installed: no profile)")
        return
    for process in side.processes:
        output = run.out / f"{run.name}-{run.jobs}-{side.design}-{process.name}.profile.txt"
        popen = subprocess.Popen(
            [
                py_spy,
                "record",
                "--format",
                "raw",
                "--rate",
                "50",
                "--subprocesses",
                # Without pausing the process for each sample: with 64 threads the pauses
                # slowed the worker enough to change the results.
                "--nonblocking",
                "--duration",
                str(seconds),
                "--pid",
                str(process.pid),
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        side.profiles.append((process.name, output, popen))


def check_alive(sides: list[Side]):
    def check() -> None:
        for side in sides:
            for process in [*side.processes, side.target]:
                if process and not process.alive():
                    raise RuntimeError(f"{side.design} {process.name} exited: see {process.log}")

    return check


def run_live(run: Live, designs: list[str], env: dict, databases: dict[str, str]) -> list[dict]:
    """Run the designs side by side (at the same time: smoke only) or one design at a time."""
    run.out.mkdir(parents=True, exist_ok=True)
    sides = [
        Side(
            design, alias="default" if design == "cronsvc" else "naive", database=databases[design]
        )
        for design in designs
    ]
    sampler = Sampler()
    started = time.time()
    try:
        for side in sides:
            reset(side.alias)
            start_target(side, run, env)
        # Enough time to create the jobs and start beat and the workers before the first slot.
        lead = (20 if run.name == "smoke" else 30) + run.jobs / 1500
        first_slot = ceil_minute(time.time() + lead)
        slots = [first_slot + 60 * minute for minute in range(1 if run.once else run.minutes)]
        print(
            f"  {run.name}: {run.jobs:,} jobs, slots from "
            f"{datetime.fromtimestamp(first_slot, UTC):%H:%M:%S} UTC"
            f" ({first_slot - time.time():.0f} s from now), designs: {', '.join(designs)}",
            flush=True,
        )
        for side in sides:
            t0 = time.monotonic()
            if side.design == "cronsvc":
                create_cronsvc_jobs(side, run, first_slot)
            else:
                create_naive_tasks(side, run, first_slot)
            print(f"  {side.design}: {run.jobs:,} jobs created in {time.monotonic() - t0:.1f} s")
        for side in sides:
            start_processes(side, run, env)
            for process in side.processes:
                sampler.add(f"{side.design} {process.name}", process)
            sampler.add(f"{side.design} target", side.target)
            sampler.add(f"{side.design} postgres", backends(side.database))
        sampler.add("redis", lambda: pids_named("redis-server"))
        sampler.start()
        check = check_alive(sides)
        # CPU is counted from 20 s before the first slot: the dispatch ticks that claim it
        # run in the 15 s before it.
        wait_until(first_slot - 20, check=check)
        sampler.mark()
        window_start = time.time()
        machine_before = machine_busy()
        end = slots[-1] + 60
        if run.profile:
            for side in sides:
                start_profiles(side, run, int(end - time.time()))
        healthy = run.healthy_keys
        # The keyed jobs' runs arrive too (at /q/, later: they queue): wait for them as well.
        expected = (len(healthy) + run.keyed) * len(slots)
        while time.time() < end:
            check()
            if time.time() > slots[-1] and all(
                arrivals_so_far(s.ports["healthy"][0]) >= expected for s in sides
            ):
                time.sleep(3)  # a little longer, for duplicates
                break
            time.sleep(1)
        window = time.time() - window_start
        machine = {"busy": machine_busy() - machine_before, "seconds": window}
        usage = sampler.stop()
    finally:
        sampler.stopping.set()
        for side in sides:
            for process in side.processes:
                process.stop()
            for _, _, popen in side.profiles:
                if popen.poll() is None:
                    popen.terminate()
                popen.wait(timeout=30)
            if side.target:
                side.target.stop()
    results = []
    for side in sides:
        arrivals = read_record(str(side.record))
        result = analyse(arrivals, healthy, slots)
        result.update(
            design=side.design,
            scenario=run.name,
            jobs=run.jobs,
            minutes=len(slots),
            window=window,
            hanging=run.hanging,
            refusing=run.refusing,
            flaky=run.flaky,
            keyed=run.keyed,
            keys=run.keys,
        )
        result["usage"] = {
            name.split(" ", 1)[1]: usage_of
            for name, usage_of in usage.items()
            if name.startswith(side.design + " ")
        }
        result["usage"]["redis"] = usage["redis"]
        result["machine"] = machine
        if side.design == "cronsvc":
            result["engine"] = engine_record(side.alias, arrivals)
        result["profiles"] = [(name, path) for name, path, _ in side.profiles]
        result["logs"] = [str(p.log) for p in side.processes]
        results.append(result)
    print(f"  took {time.time() - started:.0f} s")
    return results


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all processes, all cores)."""
    with open("/proc/stat") as file:
        fields = [int(value) for value in file.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def analyse(arrivals: list[tuple[float, str, str]], jobs: set[int], slots: list[int]) -> dict:
    """Check the target's record against the expected (job, minute) slots of the jobs given
    (the healthy and flaky ones: hanging and refusing targets record nothing, and a flaky
    site's 503s are counted as rejected, not as deliveries).

    An arrival counts for the minute it arrives in (the target: every execution starts within
    its own minute); lateness is its time past the top of that minute. A slot with no arrival
    in its minute is missed, one with more than one is duplicated.
    """
    first, last = slots[0], slots[-1] + 60
    per_slot: Counter = Counter()
    lateness_by_slot: dict[int, list[float]] = {slot: [] for slot in slots}
    before = after = foreign = rejected = keyed = 0
    for arrived, path, _ in arrivals:
        if path.startswith("/r/"):
            rejected += 1  # a flaky site's 503: the slot is delivered by a later attempt
            continue
        if path.startswith("/q/"):
            keyed += 1  # a run of a keyed job: it queues by design (engine_record measures it)
            continue
        if not path.startswith(("/j/", "/f/")):
            foreign += 1
            continue
        if arrived < first:
            before += 1
            continue
        if arrived >= last:
            after += 1
            continue
        slot = first + int((arrived - first) // 60) * 60
        key = (int(path[3:]), slot)
        per_slot[key] += 1
        if per_slot[key] == 1:
            lateness_by_slot[slot].append(arrived - slot)
    lateness = [value for values in lateness_by_slot.values() for value in values]
    served = sum(1 for (key, _) in per_slot if key in jobs)
    busy = sum(max(values) for values in lateness_by_slot.values() if values)
    return {
        "expected": len(jobs) * len(slots),
        "arrivals": sum(per_slot.values()),
        "missed": len(jobs) * len(slots) - served,
        "duplicated": sum(1 for count in per_slot.values() if count > 1),
        "before_window": before,
        "after_window": after,
        "foreign": foreign,
        "rejected": rejected,
        "keyed_arrivals": keyed,
        "p50": percentile(lateness, 0.50),
        "p99": percentile(lateness, 0.99),
        "max": max(lateness) if lateness else None,
        "per_second": len(lateness) / busy if busy > 0 else None,
        "per_minute_max": [round(max(v), 3) if v else None for v in lateness_by_slot.values()],
    }


def engine_record(alias: str, arrivals: list[tuple[float, str, str]]) -> dict:
    """What cronsvc itself recorded, and the exact lateness from each execution's slot."""
    statuses = dict(
        Counter(Execution.objects.using(alias).values_list("status", flat=True).iterator())
    )
    ids = {int(execution) for _, _, execution in arrivals if execution.isdigit()}
    slots = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 5000):
        slots.update(
            Execution.objects.using(alias)
            .filter(id__in=id_list[start : start + 5000])
            .values_list("id", "scheduled_for")
        )
    exact = [
        arrived - slots[int(execution)].timestamp()
        for arrived, _, execution in arrivals
        if execution.isdigit() and int(execution) in slots
    ]
    repeated = sum(count - 1 for count in Counter(e for _, _, e in arrivals).values() if count > 1)
    return {
        "keyed": keyed_record(alias),
        "statuses": statuses,
        "exact_max": max(exact) if exact else None,
        "exact_over_60": sum(1 for value in exact if value >= 60),
        "execution_repeated": repeated,
        "failure_reasons": dict(
            Counter(
                Execution.objects.using(alias)
                .exclude(failure_reason="")
                .values_list("failure_reason", flat=True)
            )
        ),
        # The database is dropped after the run: keep what the errors said.
        "errors": Counter(
            f"{status}: {error[:160]}"
            for status, error in Execution.objects.using(alias)
            .exclude(error="")
            .values_list("status", "error")
            .iterator()
        ).most_common(5),
    }


def keyed_record(alias: str) -> dict | None:
    """How long the keyed jobs' runs queued: from each run's scheduled second to its request
    leaving (sent_at), which holds the wait for the runs ahead of it in its key."""
    runs = Execution.objects.using(alias).exclude(job__ordering_key="")
    rows = list(runs.values_list("status", "scheduled_for", "sent_at").iterator())
    if not rows:
        return None
    waits = [(sent - slot).total_seconds() for _, slot, sent in rows if sent is not None]
    return {
        "statuses": dict(Counter(status for status, _, _ in rows)),
        "sent": len(waits),
        "wait_p50": percentile(waits, 0.50),
        "wait_p99": percentile(waits, 0.99),
        "wait_max": max(waits) if waits else None,
    }


# --- flat dispatch -------------------------------------------------------------------------

DUE = 1000


def table_counters(model=Job) -> dict[str, int]:
    with connection.cursor() as cursor:
        # Counters reach the shared statistics at the end of a transaction, at most once a
        # second unless forced: force it, then read without the cached snapshot.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT coalesce(s.seq_tup_read, 0) + coalesce(s.idx_tup_fetch, 0), s.n_tup_upd,"
            " coalesce(io.heap_blks_hit, 0) + coalesce(io.heap_blks_read, 0)"
            " + coalesce(io.idx_blks_hit, 0) + coalesce(io.idx_blks_read, 0)"
            " FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid)"
            " WHERE s.relname = %s",
            [model._meta.db_table],
        )
        read, updated, blocks = cursor.fetchone()
    return {"rows_read": read, "rows_updated": updated, "blocks": blocks}


def fill_jobs(registered: int, now: datetime) -> list[int]:
    """`registered` jobs: DUE of them due within the horizon, the rest years away (cronsvc
    reads only due rows, whatever the schedules of the others)."""
    user = member("default")
    (project,) = bench_projects("default", user, 1)
    far = Job(
        user=user,
        project=project,
        title="bench far",
        url="http://127.0.0.1:9/j/far",
        schedule="* * * * *",
        timezone="UTC",
        next_run_at=now + timedelta(days=3650),
    )
    Job.objects.bulk_create([far])
    copies = registered - DUE - 1
    if copies > 0:
        columns = [f.column for f in Job._meta.concrete_fields if f.column != "id"]
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Job._meta.db_table} ({names}) SELECT {names}"
                f" FROM {Job._meta.db_table}, generate_series(1, %s) WHERE id = %s",
                [copies, far.id],
            )
    due = Job.objects.bulk_create(
        Job(
            user=user,
            project=project,
            title=f"bench {key}",
            url=f"http://127.0.0.1:9/j/{key}",
            schedule="* * * * *",
            timezone="UTC",
            next_run_at=now + timedelta(seconds=5),
        )
        for key in range(DUE)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Job._meta.db_table}")
    return [job.id for job in due]


def claim_plan(now: datetime) -> str:
    horizon = now + timedelta(seconds=settings.DISPATCH_HORIZON_SECONDS)
    query = (
        Job.objects.due(horizon)
        .select_for_update(skip_locked=True)
        .only(*tick.CLAIM_FIELDS)[: settings.DISPATCH_BATCH_SIZE]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def run_flat(sizes: list[int], repeats: int = 5) -> list[dict]:
    results = []
    for registered in sizes:
        reset("default")
        # Five seconds before the top of a minute: the due jobs' slot is that minute, and
        # their next one is beyond the horizon (one slot each per tick, as in production).
        now = datetime.fromtimestamp(ceil_minute(time.time()) - 5, UTC)
        t0 = time.monotonic()
        due_ids = fill_jobs(registered, now)
        filled = time.monotonic() - t0
        print(f"  flat: {registered:,} jobs registered in {filled:.1f} s", flush=True)
        ticks = []
        for _ in range(repeats):
            Job.objects.filter(id__in=due_ids).update(next_run_at=now + timedelta(seconds=5))
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {Execution._meta.db_table}")
            before = table_counters()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                claimed = tick.tick(now=now)
                elapsed = time.perf_counter() - started
            after = table_counters()
            sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
            ticks.append(
                {
                    "ms": elapsed * 1000,
                    "sql_ms": sql_ms,
                    "claimed": claimed,
                    "queries": len(queries.captured_queries),
                    **{key: after[key] - before[key] for key in after},
                }
            )
        Job.objects.filter(id__in=due_ids).update(next_run_at=now + timedelta(seconds=5))
        plan = claim_plan(now)
        middle = sorted(ticks, key=lambda tick: tick["ms"])[len(ticks) // 2]
        results.append(
            {
                "design": "cronsvc",
                "registered": registered,
                "due": DUE,
                "median_ms": statistics.median(t["ms"] for t in ticks),
                "min_ms": min(t["ms"] for t in ticks),
                "max_ms": max(t["ms"] for t in ticks),
                "sql_ms": middle["sql_ms"],
                "claimed": middle["claimed"],
                "queries": middle["queries"],
                "rows_read": middle["rows_read"],
                "rows_updated": middle["rows_updated"],
                "blocks": middle["blocks"],
                "plan": plan,
                "fill_seconds": filled,
            }
        )
        print(
            f"  flat: {registered:,} registered: tick median {results[-1]['median_ms']:.0f} ms,"
            f" {middle['queries']} queries, {middle['rows_read']:,} job rows read",
            flush=True,
        )
    reset("default")
    return results


def fill_periodic_tasks(registered: int, now: datetime) -> None:
    """The naive design's registry: DUE every-minute PeriodicTasks due now, and the rest
    hourly at half an hour from now. Hourly, not daily or yearly: django-celery-beat 2.9 skips
    loading crontabs whose hour is more than two hours away, and most cron jobs run at least
    hourly; these it must hold."""
    crontab = dict(day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    every_minute = CrontabSchedule.objects.create(minute="*", hour="*", **crontab)
    hourly = CrontabSchedule.objects.create(minute=str((now.minute + 30) % 60), hour="*", **crontab)
    far = PeriodicTask.objects.create(
        name="far", task=naive.TASK, crontab=hourly, args="[]", last_run_at=now
    )
    copies = registered - DUE - 1
    if copies > 0:
        table = PeriodicTask._meta.db_table
        columns = [f.column for f in PeriodicTask._meta.concrete_fields if f.column != "id"]
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        select = ", ".join(
            "name || '-' || g" if c == "name" else connection.ops.quote_name(c) for c in columns
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {select}"
                f" FROM {table}, generate_series(1, %s) g WHERE id = %s",
                [copies, far.id],
            )
    PeriodicTask.objects.bulk_create(
        PeriodicTask(
            name=f"due {key}",
            task=naive.TASK,
            crontab=every_minute,
            args=json.dumps([f"http://127.0.0.1:9/j/{key}"]),
            last_run_at=now - timedelta(minutes=2),
        )
        for key in range(DUE)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {PeriodicTask._meta.db_table}")


def run_flat_naive(sizes: list[int], cap_seconds: float = 90) -> list[dict]:
    """django-celery-beat's DatabaseScheduler with the same counts: how long beat takes to send
    the 1,000 due entries (ticking as fast as it asks to), in-process, capped in time."""
    from django_celery_beat.schedulers import DatabaseScheduler

    class Counting(DatabaseScheduler):
        sent = 0

        def apply_async(self, entry, *args, **kwargs):
            result = super().apply_async(entry, *args, **kwargs)
            if entry.task == naive.TASK:
                self.sent += 1
            return result

    results = []
    for registered in sizes:
        reset("default")
        now = datetime.now(UTC).replace(microsecond=0)
        t0 = time.monotonic()
        fill_periodic_tasks(registered, now)
        print(f"  flat naive: {registered:,} PeriodicTasks in {time.monotonic() - t0:.1f} s")
        before = table_counters(PeriodicTask)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            scheduler = Counting(app=naive.app)  # reads every entry, as beat does at start
            loaded = time.perf_counter() - started
            ticks = 0
            deadline = started + cap_seconds
            while scheduler.sent < DUE and time.perf_counter() < deadline:
                wait = scheduler.tick()
                ticks += 1
                if wait > 0:
                    time.sleep(min(wait, 0.2))
            elapsed = time.perf_counter() - started
        after = table_counters(PeriodicTask)
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        results.append(
            {
                "design": "naive",
                "registered": registered,
                "due": DUE,
                "median_ms": (elapsed - loaded) * 1000,
                "min_ms": (elapsed - loaded) * 1000,
                "max_ms": (elapsed - loaded) * 1000,
                "sql_ms": sql_ms,
                "claimed": scheduler.sent,
                "queries": len(queries.captured_queries),
                **{key: after[key] - before[key] for key in after},
                "load_seconds": loaded,
                "ticks": ticks,
                "capped": scheduler.sent < DUE,
            }
        )
        print(
            f"  flat naive: {registered:,} registered: loaded in {loaded:.1f} s, then sent"
            f" {scheduler.sent:,} due in {elapsed - loaded:.1f} s ({ticks:,} ticks)",
            flush=True,
        )
        del scheduler
    reset("default")
    return results
