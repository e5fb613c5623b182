"""The benchmark's smoke mode runs end to end and produces complete results (not how fast)."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

# The smoke run takes about a minute and a half (it waits for the top of a minute).
HARD_LIMIT_SECONDS = 240
DESIGNS = ("cronsvc", "naive")


def run_smoke(results: Path, out: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        str(settings.BASE_DIR / "bench" / "run.py"),
        "--scenario",
        "smoke",
        # Not the default databases 5 and 6: a bench run may be going on beside the tests.
        "--redis-db",
        "13",
        # The code under test, as pytest sees it.
        "--source",
        "worktree",
        "--results",
        str(results),
        "--out",
        str(out),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    process = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=HARD_LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the bench stop its processes and drop its databases; then kill.
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"the smoke bench ran over {HARD_LIMIT_SECONDS} s:\n{output[-5000:]}")
    return subprocess.CompletedProcess(command, process.returncode, output, "")


def table_rows(markdown: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    return header, rows


@pytest.mark.slow
def test_the_smoke_bench_produces_a_complete_row_per_design(tmp_path: Path):
    results = tmp_path / "RESULTS.md"

    finished = run_smoke(results, tmp_path / "out")

    assert finished.returncode == 0, finished.stdout[-5000:]
    assert re.search(r"Target alone .*: [\d,]+ req/s", finished.stdout)
    assert "dropped cronsvc_bench_" in finished.stdout
    text = results.read_text()
    assert "<!-- bench:smoke -->" in text and "Command: `" in text
    header, rows = table_rows(text)
    assert header[:3] == ["design", "jobs", "minutes"]
    assert sorted(row[0] for row in rows) == sorted(DESIGNS)
    for row in rows:
        assert len(row) == len(header), row
        for column, cell in zip(header[1:], row[1:], strict=True):
            assert re.fullmatch(r"-?[\d,]+(\.\d+)?", cell), f"{row[0]}: {column} is {cell!r}"


@pytest.mark.slow
def test_the_hot_path_bench_runs_every_execution_and_prints_cpu_per_execution():
    command = [sys.executable, str(settings.BASE_DIR / "bench" / "hotpath.py")]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}

    finished = subprocess.run(
        [*command, "--jobs", "20", "--rounds", "2", "--ports", "2"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=HARD_LIMIT_SECONDS,
    )

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "executions 40, succeeded 40" in finished.stdout
    for part in ("tick", "worker"):
        assert re.search(rf"{part} CPU [\d.]+ s = [\d.]+ ms per execution", finished.stdout)
