"""deploy/backup.sh, the backup service's loop, against the test's PostgreSQL: a backup
restores as docs/OPERATIONS.md says, the newest BACKUP_KEEP are kept, and a failed dump
leaves nothing that looks like a backup."""

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import make_job

SCRIPT = settings.BASE_DIR / "deploy" / "backup.sh"
OLD = ["cronsvc-20260101T000000Z.dump", "cronsvc-20260102T000000Z.dump"]


def libpq_environment(**overrides: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGHOST": db["HOST"] or "127.0.0.1",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
        "PGPASSWORD": db["PASSWORD"] or "",
        "PGDATABASE": db["NAME"],
        **overrides,
    }


def back_up_once(directory: Path, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(SCRIPT), "--once"],
        env=libpq_environment(BACKUP_DIR=str(directory), **environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


def dumps(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def run(*command: str) -> None:
    subprocess.run(command, env=libpq_environment(), check=True, capture_output=True, timeout=120)


@pytest.fixture
def restored_database() -> str:
    name = f"{connection.settings_dict['NAME']}_restore"
    run("dropdb", "--if-exists", "--force", name)
    yield name
    run("dropdb", "--if-exists", "--force", name)


def test_a_backup_restores_into_a_new_database(
    transactional_db, alice, tmp_path, restored_database
):
    job = make_job(alice, title="Nightly report")

    result = back_up_once(tmp_path)

    assert result.returncode == 0, result.stderr
    (dump,) = dumps(tmp_path)
    assert f"backup: {tmp_path / dump}" in result.stdout
    # The restore procedure's commands (docs/OPERATIONS.md), into a database of its own.
    run("createdb", restored_database)
    run("pg_restore", "--no-owner", f"--dbname={restored_database}", str(tmp_path / dump))
    parameters = connection.get_connection_params() | {"dbname": restored_database}
    with psycopg.connect(**parameters) as restored:
        rows = restored.execute("SELECT id, title FROM jobs_job").fetchall()
    assert rows == [(job.id, "Nightly report")]


def test_it_keeps_the_newest_backups_and_drops_a_partial_one(db, tmp_path):
    for name in [*OLD, "cronsvc-20260103T000000Z.dump.partial"]:
        (tmp_path / name).write_text("an older backup")

    result = back_up_once(tmp_path, BACKUP_KEEP="2")

    assert result.returncode == 0, result.stderr
    kept = dumps(tmp_path)
    assert len(kept) == 2
    assert kept[0] == OLD[1]
    assert kept[1].startswith("cronsvc-2") and kept[1] > OLD[1]


def test_a_failed_dump_leaves_no_backup_and_removes_none(db, tmp_path):
    for name in OLD:
        (tmp_path / name).write_text("an older backup")

    result = back_up_once(tmp_path, PGDATABASE="no_such_database", BACKUP_KEEP="1")

    assert result.returncode != 0
    assert "no_such_database" in result.stderr
    assert dumps(tmp_path) == OLD
