"""CPU per execution on the hot path, in one process: the dispatch tick's claim and the
worker's batches (claim, fire at the local target, record), timed with the process's CPU
clock. The live bench (run.py) measures the whole service; this isolates the engine's own
cost per execution, which moves little with the machine's load, so each change to the hot
path can be measured in a minute.

    .venv/bin/python bench/hotpath.py --jobs 5000 --rounds 3 [--profile]

It makes a throw-away database, starts bench/target.py, and sends the tick's messages to an
in-memory broker (the worker's batches are run here, on a pool of threads as Celery's).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = f"cronsvc_hotpath_{os.getpid()}"
os.environ.update(
    DATABASE_URL=f"{SERVER_URL}/{DATABASE}",
    CELERY_BROKER_URL="memory://",
    ALLOW_PRIVATE_TARGETS="true",
    DJANGO_SETTINGS_MODULE="cronsvc.settings",
)
# As the Procfile's executions worker: --concurrency=64 threads.
WORKER_THREADS = 64


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs due in each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds measured (after a warm-up)")
    parser.add_argument("--ports", type=int, default=50, help="target ports (sites)")
    parser.add_argument("--per-project", type=int, default=100, help="jobs per project")
    parser.add_argument("--profile", action="store_true", help="py-spy this process")
    return parser.parse_args(argv)


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def start_target(ports: int, directory: Path) -> tuple[subprocess.Popen, list[int]]:
    from bench.target import ports_from

    log = directory / "target.log"
    command = [sys.executable, "-m", "bench.target", "--record", str(directory / "arrivals.tsv")]
    target = subprocess.Popen(
        [*command, "--ports", str(ports)], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if found := ports_from(log.read_text()):
            return target, found
        time.sleep(0.1)
    target.kill()
    raise RuntimeError(f"the target did not start: see {log}")


def create_jobs(count: int, per_project: int, ports: list[int]) -> None:
    from accounts.models import Membership, Project, Role, User
    from jobs.models import Job

    user = User(email="hotpath@example.org")
    user.set_unusable_password()
    user.save()
    projects = Project.objects.bulk_create(
        Project(name=f"hotpath {n}") for n in range(math.ceil(count / per_project))
    )
    Membership.objects.bulk_create(
        Membership(project=project, user=user, role=Role.OWNER) for project in projects
    )
    Job.objects.bulk_create(
        (
            Job(
                user=user,
                project=projects[key // per_project],
                title=f"hotpath {key}",
                url=f"http://127.0.0.1:{ports[key % len(ports)]}/j/{key}",
                schedule="* * * * *",
                timezone="UTC",
            )
            for key in range(count)
        ),
        batch_size=5000,
    )


def one_round() -> dict:
    """Make every job due two seconds from now, tick, and run the batches the tick sent."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from jobs.engine import tick, worker
    from jobs.models import Execution, Job

    slot = datetime.fromtimestamp(math.ceil(time.time()) + 2, UTC)
    Job.objects.update(next_run_at=slot)
    started = time.process_time()
    tick.tick(timezone.now())
    tick_cpu = time.process_time() - started
    ids = list(
        Execution.objects.filter(status=Execution.Status.PENDING, scheduled_for=slot)
        .order_by("id")
        .values_list("id", flat=True)
    )
    size = settings.EXECUTIONS_PER_MESSAGE
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]

    def run(batch: list[int]) -> None:
        try:
            worker.run_batch(batch)
        finally:
            connection.close()

    started = time.process_time()
    with ThreadPoolExecutor(WORKER_THREADS) as pool:
        for future in [pool.submit(run, batch) for batch in batches]:
            future.result()
    worker_cpu = time.process_time() - started
    succeeded = Execution.objects.filter(scheduled_for=slot, status="succeeded").count()
    return {
        "executions": len(ids),
        "succeeded": succeeded,
        "tick_cpu": tick_cpu,
        "worker_cpu": worker_cpu,
        "last_result_after_slot": (datetime.now(UTC) - slot).total_seconds(),
    }


def profiler(directory: Path) -> tuple[subprocess.Popen, Path] | None:
    py_spy = ROOT / ".venv" / "bin" / "py-spy"
    if not py_spy.exists():
        print("(py-spy is not installed: no profile)")
        return None
    output = directory / "hotpath.profile.txt"
    command = [str(py_spy), "record", "--format", "raw", "--rate", "200", "--nonblocking"]
    popen = subprocess.Popen(
        [*command, "--pid", str(os.getpid()), "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached before the rounds start
    return popen, output


def main(argv: list[str]) -> int:
    args = parse(argv)
    directory = Path(tempfile.mkdtemp(prefix="cronsvc-hotpath-"))
    admin(f"CREATE DATABASE {DATABASE}")
    target = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        target, ports = start_target(args.ports, directory)
        create_jobs(args.jobs, args.per_project, ports)
        one_round()  # warm-up: connections to the target, caches
        profile = profiler(directory) if args.profile else None
        rounds = [one_round() for _ in range(args.rounds)]
        if profile:
            profile[0].send_signal(2)
            profile[0].wait(timeout=30)
        report(args, rounds, profile[1] if profile else None)
        connection.close()
    finally:
        if target:
            target.terminate()
            target.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    return 0


def report(args: argparse.Namespace, rounds: list[dict], profile: Path | None) -> None:
    executions = sum(r["executions"] for r in rounds)
    succeeded = sum(r["succeeded"] for r in rounds)
    tick_cpu = sum(r["tick_cpu"] for r in rounds)
    worker_cpu = sum(r["worker_cpu"] for r in rounds)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"hot path at {commit} (+ working tree), {args.jobs} jobs x {args.rounds} rounds")
    print(f"  executions {executions}, succeeded {succeeded}")
    for name, cpu in (("tick", tick_cpu), ("worker", worker_cpu)):
        print(f"  {name} CPU {cpu:.2f} s = {1000 * cpu / executions:.3f} ms per execution")
    walls = ", ".join(f"{r['last_result_after_slot']:.2f}" for r in rounds)
    print(f"  seconds from the slot to the last result, per round: {walls}")
    print(f"  load average {os.getloadavg()[0]:.2f}")
    if profile:
        from bench.profile import summarise

        print(summarise(str(profile), top=40))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
