"""The benchmark: how many jobs cronsvc holds on time, against the naive design.

    make bench ARGS="--scenario precision --jobs 1000"
    .venv/bin/python bench/run.py --scenario capacity --jobs 10000 --minutes 3 --design both

It makes a throw-away PostgreSQL database (and a copy for the naive design), uses a Redis
database number of its own (flushed at start and end), starts the target, beat and workers as
production does (the Procfile's commands), measures, prints a Markdown table, writes it to
bench/RESULTS.md, and drops everything in the end. bench/README.md says what each figure means.
"""

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
SCENARIOS = ["precision", "capacity", "flat", "all", "smoke"]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="cronsvc benchmark (see bench/README.md)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="smoke")
    parser.add_argument("--jobs", type=int, help="jobs per slot (default 1000; smoke 50)")
    parser.add_argument("--minutes", type=int, help="minutes of capacity (default 3; smoke 1)")
    parser.add_argument("--design", choices=["cronsvc", "naive", "both"], default="both")
    parser.add_argument(
        "--registered",
        default="1000,100000,1000000",
        help="flat: comma-separated numbers of registered jobs (1,000 of them due)",
    )
    parser.add_argument(
        "--naive-max",
        type=int,
        default=100_000,
        help="flat: the most registered entries the naive scheduler is loaded with",
    )
    parser.add_argument(
        "--ports",
        type=int,
        default=50,
        help="target ports the jobs are spread over, standing for that many sites",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes per design")
    parser.add_argument(
        "--pin", action="store_true", help="pin executions worker n to core n (taskset)"
    )
    parser.add_argument(
        "--per-project", type=int, default=100, help="jobs per project (each has a fair share)"
    )
    parser.add_argument(
        "--hanging", type=int, default=0, help="percent of jobs whose target never answers"
    )
    parser.add_argument(
        "--refusing", type=int, default=0, help="percent of jobs whose target refuses connections"
    )
    parser.add_argument(
        "--flaky",
        type=int,
        default=0,
        help="percent of jobs whose target answers 503 twice, then 200 (with retries: 2)",
    )
    parser.add_argument(
        "--keyed", type=int, default=0, help="capacity: jobs on ordering keys (cronsvc only)"
    )
    parser.add_argument("--keys", type=int, default=0, help="capacity: ordering keys they share")
    parser.add_argument("--profile", action="store_true", help="py-spy the beat and workers")
    parser.add_argument(
        "--redis-db", type=int, default=5, help="Redis database for cronsvc (naive: the next one)"
    )
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="logs and records")
    parser.add_argument(
        "--source",
        choices=["head", "worktree"],
        default="head",
        help="run the engine as committed (HEAD) or as in the working tree (with edits)",
    )
    args = parser.parse_args(argv)
    if args.jobs is not None and not 1 <= args.jobs <= 100_000:
        parser.error("--jobs must be between 1 and 100,000")
    if args.minutes is not None and not 1 <= args.minutes <= 15:
        parser.error("--minutes must be between 1 and 15")
    shares = (args.hanging, args.refusing, args.flaky)
    if min(shares) < 0 or sum(shares) >= 100:
        parser.error("--hanging, --refusing and --flaky: percents that leave some jobs healthy")
    if args.per_project < 1:
        parser.error("--per-project must be at least 1")
    if args.keyed:
        # Each key's jobs are consecutive, so they fall in one project (keys are per project).
        if not 1 <= args.keys <= args.keyed or args.keyed % args.keys:
            parser.error("--keyed must be a multiple of --keys (at least 1)")
        if args.per_project % (args.keyed // args.keys):
            parser.error("--per-project must be a multiple of --keyed / --keys")
        if args.keyed > (args.jobs or 1000):
            parser.error("--keyed cannot be more than --jobs")
    return args


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def terminate_on_sigterm() -> None:
    # A SIGTERM (the smoke test's time limit, a CI stop) runs the finally blocks too.
    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def snapshot(source: str) -> Path:
    """A copy of the code to measure, so edits made during a run (other engineers share this
    checkout) cannot change the engine under the bench. The harness (bench/) is always the
    working tree's; .venv is linked, not copied."""
    directory = Path(tempfile.mkdtemp(prefix="cronsvc-bench-"))
    if source == "head":
        archive = subprocess.run(
            ["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    else:
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        packed = subprocess.run(
            ["tar", "-c", "--null", "--ignore-failed-read", "-T", "-", "-f", "-"],
            cwd=ROOT,
            input=files,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(directory)], input=packed, check=True)
    shutil.rmtree(directory / "bench", ignore_errors=True)
    shutil.copytree(
        ROOT / "bench", directory / "bench", ignore=shutil.ignore_patterns("out", "__pycache__")
    )
    for name in (".venv", "node_modules"):
        if (ROOT / name).exists():
            (directory / name).symlink_to(ROOT / name)
    if (ROOT / ".secret_key").exists():
        shutil.copy(ROOT / ".secret_key", directory / ".secret_key")
    return directory


def describe_source(source: str) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    if source == "head":
        return f"engine as committed at {commit}"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"engine from the working tree at {commit}" + (
        " with uncommitted edits" if dirty else ""
    )


def main(argv: list[str]) -> int:
    args = parse(argv)
    if "BENCH_SNAPSHOT" not in os.environ:
        # Run again from a snapshot, with the results and logs where they would have gone.
        copy = snapshot(args.source)
        os.environ.update(
            BENCH_SNAPSHOT=str(copy),
            BENCH_COMMAND=".venv/bin/python bench/run.py " + shlex.join(argv),
            BENCH_SOURCE=describe_source(args.source),
        )
        os.chdir(copy)
        again = [*argv, "--results", str(Path(args.results).resolve())]
        again += ["--out", str(Path(args.out).resolve())]
        os.execv(sys.executable, [sys.executable, str(copy / "bench" / "run.py"), *again])
    try:
        return measured(args)
    finally:
        if Path(os.environ["BENCH_SNAPSHOT"]) == ROOT:
            shutil.rmtree(ROOT, ignore_errors=True)


def measured(args: argparse.Namespace) -> int:
    terminate_on_sigterm()
    command = os.environ["BENCH_COMMAND"]
    designs = ["cronsvc", "naive"] if args.design == "both" else [args.design]
    name = f"cronsvc_bench_{os.getpid()}"
    databases = {"cronsvc": name, "naive": f"{name}_naive"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # A Redis database per design: a worker takes every message of its queue, and would
    # drop the other design's tasks as unknown.
    brokers = {
        "cronsvc": f"{REDIS_SERVER}/{args.redis_db}",
        "naive": f"{REDIS_SERVER}/{args.redis_db + 1}",
    }
    broker = brokers["cronsvc"]
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER_URL}/{name}",
        "CELERY_BROKER_URL": broker,
        "ALLOW_PRIVATE_TARGETS": "true",
        "DJANGO_SETTINGS_MODULE": "cronsvc.settings",
        "BENCH_SERVER_URL": SERVER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    load_before = os.getloadavg()[0]

    import redis

    broker_dbs = [redis.Redis.from_url(url) for url in brokers.values()]
    created = []
    try:
        for broker_db in broker_dbs:
            broker_db.flushdb()
        admin(f'CREATE DATABASE "{name}"')
        created.append(name)

        import django
        from django.conf import settings

        settings.DATABASES  # noqa: B018 (loads the settings module from the environment)
        settings.DATABASES["naive"] = {**settings.DATABASES["default"], "NAME": databases["naive"]}
        django.setup()
        from django.core.management import call_command
        from django.db import connections

        started = time.monotonic()
        call_command("migrate", verbosity=0)
        connections.close_all()
        if "naive" in designs:
            admin(f'CREATE DATABASE "{databases["naive"]}" TEMPLATE "{name}"')
            created.append(databases["naive"])
        print(f"databases {', '.join(created)} ready in {time.monotonic() - started:.1f} s")
        env["BENCH_NAIVE_BROKER_URL"] = brokers["naive"]
        return run(args, designs, databases, env, out, command, load_before)
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        for database in reversed(created):
            admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for broker_db in broker_dbs:
            broker_db.flushdb()
        print(
            f"dropped {', '.join(created) or 'nothing'};"
            f" flushed Redis databases {args.redis_db} and {args.redis_db + 1}"
        )


def measure_target(env: dict, out: Path, quick: bool) -> str:
    from bench import target
    from bench.processes import Process
    from bench.scenarios import PYTHON

    log = out / "target-alone.log"
    log.write_text("")
    server = Process(
        "target", f"{PYTHON} -m bench.target --record {out / 'target-alone.tsv'}", env, log
    )
    try:
        deadline = time.monotonic() + 20
        while not target.ports_from(log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        port = target.ports_from(log.read_text())[0]
        figures = target.measure(
            port, requests=1500 if quick else 6000, seconds=10 if quick else 20
        )
    finally:
        server.stop()
    fresh, kept = figures["fresh"], figures["keep_alive"]
    line = (
        f"Target alone (aiohttp client, 100 concurrent, same 2 cores): "
        f"{fresh['per_second']:,.0f} req/s on fresh connections, "
        f"{kept['per_second']:,.0f} req/s with keep-alive "
        f"({fresh['failed'] + kept['failed']} failed)."
    )
    print(line, flush=True)
    return line


def run(args, designs, databases, env, out, command, load_before) -> int:
    from bench import report, scenarios

    results_path = Path(args.results)
    chosen = ["precision", "capacity", "flat"] if args.scenario == "all" else [args.scenario]
    target_line = ""
    if any(s != "flat" for s in chosen):
        target_line = measure_target(env, out, quick=args.scenario == "smoke")
    for scenario in chosen:
        if scenario == "flat":
            sizes = [int(size) for size in args.registered.split(",")]
            results = scenarios.run_flat(sizes) if "cronsvc" in designs else []
            naive_sizes = [size for size in sizes if size <= args.naive_max]
            if "naive" in designs:
                results += scenarios.run_flat_naive(naive_sizes)
            body = report.table(report.FLAT_COLUMNS, [report.flat_row(r) for r in results])
            body += "\n\n" + report.flat_notes(results, sizes, args.naive_max)
            heading, key = "flat dispatch: 1,000 due among many registered", "flat"
        else:
            once = scenario == "precision"
            jobs = args.jobs or (50 if scenario == "smoke" else 1000)
            minutes = 1 if once else (args.minutes or (1 if scenario == "smoke" else 3))
            live = scenarios.Live(
                name=scenario,
                jobs=jobs,
                minutes=minutes,
                once=once,
                workers=args.workers,
                pin=args.pin,
                ports=args.ports,
                profile=args.profile,
                out=out,
                per_project=args.per_project,
                hanging=args.hanging,
                refusing=args.refusing,
                flaky=args.flaky,
                keyed=args.keyed,
                keys=args.keys,
            )
            if scenario == "smoke":
                # Both designs at once (so it fits in two minutes): figures not comparable.
                results = scenarios.run_live(live, designs, env, databases)
            else:
                results = [
                    result
                    for design in designs
                    for result in scenarios.run_live(live, [design], env, databases)
                ]
            body = report.table(report.LIVE_COLUMNS, [report.live_row(r) for r in results])
            notes = [note for r in results for note in report.live_notes(r)]
            body += "\n\n" + target_line + "\n\n" + "\n\n".join(f"- {n}" for n in notes)
            if scenario == "precision":
                heading, key = (
                    f"precision: {jobs:,} jobs due in the same second",
                    f"precision-{jobs}",
                )
            elif scenario == "smoke":
                heading, key = "smoke (both designs at once: not a comparison)", "smoke"
            else:
                heading = f"capacity: {jobs:,} jobs every minute for {minutes} minutes"
                key = f"capacity-{jobs}"
                if args.hanging or args.refusing:
                    heading += (
                        f", {args.hanging} % of them on targets that never answer and"
                        f" {args.refusing} % on targets that refuse connections"
                    )
                    key += f"-hanging-{args.hanging}-refusing-{args.refusing}"
                if args.flaky:
                    heading += f", {args.flaky} % on targets that answer 503 twice, then 200"
                    key += f"-flaky-{args.flaky}"
                if args.workers > 1 or args.pin:
                    pinned = ", pinned to cores" if args.pin else ""
                    heading += f", {args.workers} executions worker(s){pinned}"
                    key += f"-workers-{args.workers}" + ("-pinned" if args.pin else "")
                if args.keyed:
                    heading += f", {args.keyed:,} of them on {args.keys:,} ordering keys"
                    key += f"-keyed-{args.keyed}-keys-{args.keys}"
            profiles = [(r["design"], n, p) for r in results for n, p in r["profiles"]]
            if profiles:
                body += (
                    "\n\nProfiles (py-spy raw, in the --out directory; summarise with"
                    " `python -m bench.profile FILE`): "
                    + ", ".join(f"{d} {n}: {Path(p).name}" for d, n, p in profiles)
                    + ". Sampling slows the processes a little: figures without --profile"
                    " are the ones to compare."
                )
        text = report.section(key, heading, body, command, (load_before, os.getloadavg()[0]))
        print("\n" + text, flush=True)
        report.write_section(results_path, key, text)
        print(f"written to {results_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
