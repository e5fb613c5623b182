"""Bytes per execution row in PostgreSQL at each response body setting.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DBNAME .venv/bin/python -m bench.storage

Migrates the database DATABASE_URL names, then for each body setting (0, 1, 8, 64 KiB) fills
a temporary copy of jobs_execution (its columns, indexes and TOAST table) with --rows finished
executions as the worker records them: typical response headers, a JSON body that fills what
the setting keeps, the request record and timings. It is filled twice: once with whole rows,
then VACUUM (the live data), and once as the engine writes (a pending row, then the claim and
the results as two updates; before a vacuum, so with the dead versions). Prints a table with
the bytes per row and what 1,000 every-minute jobs need per day and at 30 days' retention,
and writes it to --results (bench/RESULTS.md) as its "storage" section. Nothing but the
migrations is written outside the temporary tables, which go with the connection.
"""

import argparse
import json
import os
import random
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronsvc.settings")
django.setup()

# After setup: they need the settings.
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.db.models import Field  # noqa: E402

from bench import report  # noqa: E402
from jobs.engine.worker import RESULT_FIELDS  # noqa: E402
from jobs.models import Execution  # noqa: E402

SETTINGS_KIB = (0, 1, 8, 64)
JOBS = 1000
RUNS_PER_DAY = 24 * 60
RETENTION_DAYS = 30
TABLE = "storage_bench"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


@dataclass
class Sizes:
    body: float  # bytes of response body stored, per row (as text)
    row: float  # pg_column_size of the whole row (compressed values inline)
    headers: float  # pg_column_size of response_headers
    request: float  # pg_column_size of the request record
    heap: float
    toast: float
    indexes: float

    @property
    def total(self) -> float:
        return self.heap + self.toast + self.indexes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="executions per setting")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "RESULTS.md")
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    call_command("migrate", verbosity=0)
    load_before = os.getloadavg()[0]
    results = {kib: measure(kib, arguments.rows) for kib in SETTINGS_KIB}
    body = f"{server()}, {arguments.rows:,} rows per setting.\n\n{table(results)}\n\n"
    body += notes(results[0][0])
    print(body)
    os.environ["BENCH_SOURCE"] = f"working tree at {commit()}"
    command = f".venv/bin/python -m bench.storage --rows {arguments.rows}"
    heading = "storage: bytes per execution row at each response body setting"
    load = (load_before, os.getloadavg()[0])
    report.write_section(
        arguments.results, "storage", report.section("storage", heading, body, command, load)
    )


def server() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('default_toast_compression')")
        version, compression = cursor.fetchone()
    return f"{version.split(' on ')[0]}, TOAST compression {compression}"


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()


def measure(kib: int, rows: int) -> tuple[Sizes, Sizes]:
    """The sizes per row of whole rows after VACUUM, and as the engine writes them."""
    rng = random.Random(kib)
    executions = [finished_execution(rng, kib, n) for n in range(rows)]
    compact = fill_whole(executions)
    as_written = fill_as_the_engine_does(executions)
    return compact, as_written


def finished_execution(rng: random.Random, kib: int, n: int) -> Execution:
    slot = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n)
    body = json_body(rng, kib * 1024)
    return Execution(
        job_id=1,
        scheduled_for=slot,
        status=Execution.Status.SUCCEEDED,
        enqueued_at=slot - timedelta(seconds=5),
        started_at=slot - timedelta(milliseconds=300),
        sent_at=slot + timedelta(milliseconds=12),
        finished_at=slot + timedelta(milliseconds=180),
        duration_ms=480,
        lateness_ms=12,
        http_status=200,
        response_headers=typical_headers(rng, len(body)),
        response_body=body,
        response_truncated=True,
        request={
            "method": "POST",
            "url": "https://app.example.com/cron/nightly-report?token=***",
            "headers": [
                "Content-Type",
                "Authorization",
                "User-Agent",
                "X-Cronsvc-Execution",
                "X-Cronsvc-Attempt",
            ],
            "body_size": 21,
            "body_start": '{"report": "nightly"}',
        },
        timings={"dns_ms": 3, "connect_ms": 14, "first_byte_ms": 160},
        claimed_by="worker-1@host-a:4242",
    )


def json_body(rng: random.Random, size: int) -> str:
    """An API's JSON answer (records with ids, names, times, amounts), cut at `size` bytes
    as capture cuts it: about as compressible as real ones."""
    parts, length = ['{"status": "ok", "items": ['], 0
    while length < size:
        item = (
            f'{{"id": "{uuid.UUID(int=rng.getrandbits(128))}", '
            f'"name": "{rng.choice(WORDS)} {rng.choice(WORDS)}", '
            f'"created_at": "2026-11-{rng.randint(1, 28):02}T{rng.randint(0, 23):02}:'
            f'{rng.randint(0, 59):02}:{rng.randint(0, 59):02}Z", '
            f'"amount": {rng.uniform(0, 10_000):.2f}, "done": {json.dumps(rng.random() < 0.5)}}}, '
        )
        parts.append(item)
        length += len(item)
    return "".join(parts)[:size]


def typical_headers(rng: random.Random, length: int) -> dict[str, str]:
    return {
        "Server": "nginx/1.24.0",
        "Date": "Sun, 01 Nov 2026 09:00:00 GMT",
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": str(length),
        "Connection": "keep-alive",
        "Vary": "Accept-Encoding",
        "Cache-Control": "no-store, no-cache, must-revalidate",
        "ETag": f'W/"{rng.getrandbits(64):x}"',
        "X-Request-Id": str(uuid.UUID(int=rng.getrandbits(128))),
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def fill_whole(executions: list[Execution]) -> Sizes:
    with temporary_table() as cursor:
        empty = sizes(cursor)
        insert(cursor, executions, columns())
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        return per_row(sizes(cursor), empty, len(executions))


def fill_as_the_engine_does(executions: list[Execution]) -> Sizes:
    """The tick inserts a pending row; the worker's claim and its results are updates."""
    pending = [
        Execution(
            job_id=e.job_id,
            scheduled_for=e.scheduled_for,
            enqueued_at=e.enqueued_at,
            request=None,
        )
        for e in executions
    ]
    with temporary_table() as cursor:
        empty = sizes(cursor)
        insert(cursor, pending, columns())
        cursor.execute(f"SELECT id FROM {TABLE} ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.executemany(
            f"UPDATE {TABLE} SET status = 'running', started_at = %s, claimed_by = %s "
            "WHERE id = %s",
            [(e.started_at, e.claimed_by, id_) for e, id_ in zip(executions, ids, strict=True)],
        )
        fields = [Execution._meta.get_field(name) for name in RESULT_FIELDS]
        assignments = ", ".join(f"{field.column} = %s" for field in fields)
        cursor.executemany(
            f"UPDATE {TABLE} SET {assignments} WHERE id = %s",
            [(*prepared(e, fields), id_) for e, id_ in zip(executions, ids, strict=True)],
        )
        return per_row(sizes(cursor), empty, len(executions))


@contextmanager
def temporary_table() -> Iterator[CursorWrapper]:
    """A cursor, and an empty copy of jobs_execution (dropped on the way out)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {TABLE} (LIKE jobs_execution INCLUDING ALL)")
        try:
            yield cursor
        finally:
            cursor.execute(f"DROP TABLE {TABLE}")


def columns() -> list[Field]:
    return [field for field in Execution._meta.concrete_fields if not field.primary_key]


def prepared(execution: Execution, fields: list[Field]) -> list:
    return [
        field.get_db_prep_save(getattr(execution, field.attname), connection) for field in fields
    ]


def insert(cursor: CursorWrapper, executions: list[Execution], fields: list[Field]) -> None:
    names = ", ".join(field.column for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    cursor.executemany(
        f"INSERT INTO {TABLE} ({names}) VALUES ({marks})",
        [prepared(execution, fields) for execution in executions],
    )


def sizes(cursor: CursorWrapper) -> Sizes:
    """The table's bytes (the heap with its free-space and visibility maps; TOAST with its
    index; the indexes), and its rows' average body and whole-row size."""
    cursor.execute(
        f"SELECT coalesce(avg(octet_length(response_body)), 0), "
        f"coalesce(avg(pg_column_size(t.*)), 0), "
        f"coalesce(avg(pg_column_size(response_headers)), 0), "
        f"coalesce(avg(pg_column_size(request)), 0) FROM {TABLE} t"
    )
    body, row, headers, request = cursor.fetchone()
    cursor.execute(
        "SELECT pg_table_size(oid) - pg_total_relation_size(reltoastrelid), "
        "pg_total_relation_size(reltoastrelid), pg_indexes_size(oid) "
        "FROM pg_class WHERE oid = %s::regclass",
        [TABLE],
    )
    return Sizes(*map(float, (body, row, headers, request, *cursor.fetchone())))


def per_row(filled: Sizes, empty: Sizes, rows: int) -> Sizes:
    """What each row added to the empty table (whose indexes have a page each already)."""
    return Sizes(
        body=filled.body,
        row=filled.row,
        headers=filled.headers,
        request=filled.request,
        heap=(filled.heap - empty.heap) / rows,
        toast=(filled.toast - empty.toast) / rows,
        indexes=(filled.indexes - empty.indexes) / rows,
    )


def table(results: dict[int, tuple[Sizes, Sizes]]) -> str:
    per_day = JOBS * RUNS_PER_DAY
    lines = [
        "| body kept | body stored | row (pg_column_size) | heap | TOAST | indexes "
        "| total per row | as written (before vacuum) | 1,000 jobs a day | 30 days |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kib, (compact, written) in results.items():
        lines.append(
            f"| {kib} KiB | {compact.body:,.0f} B | {compact.row:,.0f} B | {compact.heap:,.0f} B "
            f"| {compact.toast:,.0f} B | {compact.indexes:,.0f} B | **{compact.total:,.0f} B** "
            f"| {written.total:,.0f} B | {gib(compact.total * per_day)} "
            f"| {gib(compact.total * per_day * RETENTION_DAYS)} |"
        )
    return "\n".join(lines)


def notes(nothing_kept: Sizes) -> str:
    return (
        f"Keeping no body, a row is still {nothing_kept.row:,.0f} B: the response headers "
        f"{nothing_kept.headers:,.0f} B (13 typical ones, as jsonb), the request record "
        f"{nothing_kept.request:,.0f} B, the rest timings and fixed columns. Bodies over about "
        "2 KB go to TOAST, compressed (the JSON here to about half); the heap row then holds a "
        "pointer. \"As written\" is the table after the engine's own writes (the tick's "
        "insert, the claim and the results as updates) before a vacuum: the dead versions "
        "autovacuum reclaims for reuse. A day is 1,440 runs of each of 1,000 jobs; 30 days is the "
        "default RETENTION_DAYS."
    )


def gib(size: float) -> str:
    return f"{size / 2**30:,.2f} GiB" if size >= 2**30 else f"{size / 2**20:,.0f} MiB"


if __name__ == "__main__":
    main()
