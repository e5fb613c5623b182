"""Markdown tables of the figures, and bench/RESULTS.md kept one section per scenario."""

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

MIB = 1024 * 1024
LIVE_COLUMNS = [
    "design",
    "jobs",
    "minutes",
    "expected",
    "arrived",
    "missed",
    "duplicated",
    "p50 s",
    "p99 s",
    "max s",
    "exec/s",
    "beat CPU s",
    "worker CPU s",
    "target CPU s",
    "postgres CPU s",
    "redis CPU s",
    "beat RSS MiB",
    "worker RSS MiB",
    "target RSS MiB",
]
FLAT_COLUMNS = [
    "design",
    "registered",
    "due",
    "claimed or sent",
    "ms to claim/send them",
    "min ms",
    "max ms",
    "SQL ms",
    "queries",
    "rows read",
    "rows updated",
    "blocks touched",
]


def number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


NOT_WORKERS = ("beat", "target", "postgres", "redis")


def chosen(name: str, kind: str) -> bool:
    # "worker": every Celery worker process (cronsvc's executions and system workers).
    return name not in NOT_WORKERS if kind == "worker" else name == kind


def cpu(usage: dict, kind: str) -> float:
    return sum(u.cpu for name, u in usage.items() if chosen(name, kind))


def rss(usage: dict, kind: str) -> float:
    return sum(u.peak_rss for name, u in usage.items() if chosen(name, kind)) / MIB


def live_row(result: dict) -> list[str]:
    usage = result["usage"]
    return [
        result["design"],
        number(result["jobs"]),
        number(result["minutes"]),
        number(result["expected"]),
        number(result["arrivals"]),
        number(result["missed"]),
        number(result["duplicated"]),
        number(result["p50"]),
        number(result["p99"]),
        number(result["max"]),
        number(result["per_second"], 0),
        number(cpu(usage, "beat"), 1),
        number(cpu(usage, "worker"), 1),
        number(cpu(usage, "target"), 1),
        number(cpu(usage, "postgres"), 1),
        number(cpu(usage, "redis"), 1),
        number(rss(usage, "beat"), 0),
        number(rss(usage, "worker"), 0),
        number(rss(usage, "target"), 0),
    ]


def table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def live_notes(result: dict) -> list[str]:
    notes = []
    if result["hanging"] or result["refusing"]:
        notes.append(
            f"{result['design']}: {result['hanging']} % of the jobs call targets that never"
            f" answer (each waits out its 30 s timeout) and {result['refusing']} % targets that"
            f' refuse connections; "expected" counts the slots of the other jobs, each of'
            " which must arrive in its own minute."
        )
    if result["flaky"]:
        notes.append(
            f"{result['design']}: {result['flaky']} % of the jobs call targets that answer 503"
            f" twice and then 200, with `retries: 2`: each of their slots counts as delivered"
            f" by its one 200, which must come in the slot's own minute; the target answered"
            f" {result['rejected']:,} 503s."
        )
    machine = result["machine"]
    ours = sum(u.cpu for u in result["usage"].values())
    notes.append(
        f"{result['design']}: measured window {machine['seconds']:.0f} s (from 20 s before the"
        f" first slot); the whole machine was busy {machine['busy']:.0f} CPU-s of"
        f" {machine['seconds'] * (os.cpu_count() or 1):.0f} available, this design's processes"
        f" (with PostgreSQL and Redis) {ours:.0f} CPU-s. Worst lateness per minute:"
        f" {result['per_minute_max']}. Arrivals before the first slot: {result['before_window']},"
        f" after the last minute: {result['after_window']}."
    )
    notes.append(
        f"{result['design']} by process: "
        + ", ".join(
            f"{name} {usage.cpu:.1f} CPU-s"
            + (f" / {usage.peak_rss / MIB:.0f} MiB" if name not in ("postgres", "redis") else "")
            for name, usage in result["usage"].items()
        )
        + f". Logs in the --out directory: {', '.join(Path(p).name for p in result['logs'])}."
    )
    notes.append(f"{result['design']} RSS by minute of the window: " + rss_by_minute(result))
    engine = result.get("engine")
    if engine and engine.get("keyed"):
        keyed = engine["keyed"]
        notes.append(
            f"{result['design']}: {result['keyed']:,} of the jobs on {result['keys']:,} ordering"
            f" keys, left out of the table above (it is the other jobs', which must hold their"
            f" minute). Their runs by status {keyed['statuses']}; {keyed['sent']:,} sent, queued"
            f" from their second to leaving: p50 {number(keyed['wait_p50'])} s, p99"
            f" {number(keyed['wait_p99'])} s, max {number(keyed['wait_max'])} s."
        )
    if engine:
        notes.append(
            f"cronsvc's own record: executions by status {engine['statuses']}, failure reasons"
            f" {engine['failure_reasons'] or 'none'}; exact lateness from each execution's"
            f" scheduled_for: max {number(engine['exact_max'])} s, {engine['exact_over_60']} over"
            f" 60 s; the same execution id arriving more than once: {engine['execution_repeated']}."
            + (
                " Most common errors: "
                + "; ".join(f"{count} x {text!r}" for text, count in engine["errors"])
                if engine.get("errors")
                else ""
            )
        )
    return notes


def flat_row(result: dict) -> list[str]:
    return [
        result["design"],
        number(result["registered"]),
        number(result["due"]),
        number(result["claimed"]),
        number(result["median_ms"], 1),
        number(result["min_ms"], 1),
        number(result["max_ms"], 1),
        number(result["sql_ms"], 1),
        number(result["queries"]),
        number(result["rows_read"]),
        number(result["rows_updated"]),
        number(result["blocks"]),
    ]


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as file:
        total_kib = int(file.readline().split()[1])
    return (
        f"{os.cpu_count()} cores ({model}), {total_kib / 1024 / 1024:.1f} GiB memory,"
        f" {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def section(key: str, heading: str, body: str, command: str, load: tuple) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!-- bench:{key} -->\n## {heading}\n\n"
        f"{stamp}, {machine()}. Load average (1 min) {load[0]:.2f} before and"
        f" {load[1]:.2f} after: other engineers' test runs share these 2 cores.\n\n"
        f"Command: `{command}` ({os.environ.get('BENCH_SOURCE', 'engine source unknown')})\n\n"
        f"{body.strip()}\n<!-- /bench:{key} -->\n"
    )


HEADER = """# Benchmark results

Written by `make bench` (bench/run.py): each scenario below is replaced by the next run of the
same scenario and size. How to read them: bench/README.md.
"""


def write_section(path: Path, key: str, text: str) -> None:
    current = path.read_text() if path.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(key)} -->.*?<!-- /bench:{re.escape(key)} -->\n", re.S
    )
    if pattern.search(current):
        current = pattern.sub(lambda _: text, current)
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def flat_notes(results: list[dict], sizes: list[int], naive_max: int) -> str:
    notes = [
        "cronsvc: in-process `jobs.engine.tick.tick(now=...)`, five times per size (the 1,000"
        " due jobs reset in between; median, min, max), with 1,000 jobs due within the horizon"
        " and the rest due in ten years. The time includes the commit's Celery sends to Redis."
        " Rows and blocks are jobs_job's, from PostgreSQL's statistics; queries from"
        " CaptureQueriesContext."
    ]
    naive = [r for r in results if r["design"] == "naive"]
    if naive:
        loads = ", ".join(f"{r['registered']:,}: {r['load_seconds']:.1f} s" for r in naive)
        notes.append(
            "naive: django-celery-beat's DatabaseScheduler in-process, 1,000 every-minute"
            " PeriodicTasks overdue and the rest hourly at half an hour from now (it skips"
            " loading crontabs whose hour is over two hours away, so daily jobs would partly"
            " escape it; hourly ones it must hold); the time is from the scheduler's first"
            " tick until it has sent the 1,000 due (ticking as soon as it asks to, at most 90 s)"
            f", after reading every entry at start ({loads}), which beat repeats whenever any"
            " PeriodicTask changes. Rows and blocks are the periodictask table's."
            + (
                " Capped before sending all 1,000: "
                + ", ".join(f"{r['registered']:,}" for r in naive if r["capped"])
                + " registered."
                if any(r["capped"] for r in naive)
                else ""
            )
        )
        skipped = [size for size in sizes if size > naive_max]
        if skipped:
            notes.append(
                "naive not run with "
                + ", ".join(f"{size:,}" for size in skipped)
                + f" registered (over --naive-max {naive_max:,}): beat would hold every entry"
                " in memory and re-read them all on each change."
            )
    plans = [r for r in results if r["design"] == "cronsvc"]
    text = "\n\n".join(f"- {note}" for note in notes)
    if plans:
        text += (
            f"\n\nThe claim query's plan with {plans[-1]['registered']:,} registered:\n\n"
            f"```\n{plans[-1]['plan']}\n```\n"
        )
    return text


def rss_by_minute(result: dict) -> str:
    """Each process's highest RSS per minute (MiB), and how it moved from minute 2 to the
    last whole minute: the memory target is flat within 10 %."""
    parts = []
    for name, usage in result["usage"].items():
        minutes = [usage.rss_by_minute[m] / MIB for m in sorted(usage.rss_by_minute)]
        if name in ("postgres", "redis") or not minutes:
            continue
        text = f"{name} " + " ".join(f"{m:.0f}" for m in minutes)
        if len(minutes) > 3:  # minute 2, and a whole minute after it before the last
            text += f" ({(minutes[-2] - minutes[2]) / minutes[2]:+.1%} from minute 2)"
        parts.append(text)
    return "; ".join(parts) + "."
