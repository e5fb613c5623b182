"""docker-compose.yml and README.md: what an operator relies on when deploying.

`docker-compose config` validates and resolves the file without a Docker engine. It runs
with a clean environment and an empty env file, so a developer's shell or `.env` cannot
change the outcome.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from jobs.engine import worker

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (CI installs it: .ci/run)"
)

APP_PROCESSES = ("web", "beat", "beat-2", "worker", "system", "testruns")
LONG_RUNNING = {"postgres", "redis", "backup", *APP_PROCESSES}
CELERY_BEAT = ["celery", "-A", "cronsvc", "beat"]
# Settings that make sense only inside one checkout, not in a container.
NOT_FOR_CONTAINERS = {"VAR_DIR"}

# `env.str("NAME"`, `env.db("NAME"`, ... and the bare `environ.Env().str("NAME"` VAR_DIR uses.
SETTING_READ = re.compile(
    r"(?:\benv|\bEnv\(\))\.(?:str|bool|int|float|list|tuple|dict|json|url|path|db|db_url"
    r"|cache|cache_url|email|email_url|search_url)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"
)
OS_ENVIRON_READ = re.compile(
    r"os\.(?:environ\.get|getenv)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']|os\.environ\[[\"']([A-Z][A-Z0-9_]*)[\"']\]"
)


def compose_config(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **variables}
    return subprocess.run(
        [COMPOSE, "-f", "docker-compose.yml", "--env-file", str(env_file), "config"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def config(tmp_path) -> dict:
    result = compose_config(tmp_path, SECRET_KEY="a-secret-for-the-test")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture
def services(config) -> dict:
    return config["services"]


def command_of(service: dict) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else command


# docker-compose 1.29 prints short forms ("source:target:rw"), Compose v2 long ones (dicts).
def published_port_targets(service: dict) -> set[str]:
    return {
        str(port["target"]) if isinstance(port, dict) else str(port).rsplit(":", 1)[-1]
        for port in service.get("ports", [])
    }


def volume_mounts(service: dict) -> dict[str, str]:
    mounts = {}
    for mount in service.get("volumes", []):
        if isinstance(mount, dict):
            mounts[mount.get("source", "")] = mount["target"]
        else:
            source, target, *_ = mount.split(":")
            mounts[source] = target
    return mounts


def settings_variables() -> set[str]:
    source = (ROOT / "cronsvc" / "settings.py").read_text()
    names = set(SETTING_READ.findall(source))
    for match in OS_ENVIRON_READ.findall(source):
        names.update(name for name in match if name)
    names.discard("DJANGO_SETTINGS_MODULE")
    return names


@needs_compose
def test_it_runs_the_long_running_services(services):
    missing = LONG_RUNNING - set(services)
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


@needs_compose
def test_it_starts_gunicorn_celery_beat_and_celery_worker(services):
    web, beat, worker = (command_of(services[name]) for name in ("web", "beat", "worker"))
    assert web[:2] == ["gunicorn", "cronsvc.wsgi"]
    assert "0.0.0.0:8000" in web
    assert beat[:4] == CELERY_BEAT
    assert worker[:4] == ["celery", "-A", "cronsvc", "worker"]


@needs_compose
def test_it_runs_two_beats_alike(services):
    # Losing one beat stops nothing; the system tasks' leases keep them from doubling work.
    beats = [name for name, service in services.items() if command_of(service)[:4] == CELERY_BEAT]
    assert sorted(beats) == ["beat", "beat-2"]
    assert services["beat"] == services["beat-2"]


@needs_compose
def test_stopping_gives_the_workers_time_to_finish_their_batches(services):
    # Docker's default is 10 s before SIGKILL; an executions worker may need the horizon,
    # a request's timeout and the writing of the results (jobs/engine/shutdown.py).
    budget = settings.DISPATCH_HORIZON_SECONDS + settings.MAX_TIMEOUT_SECONDS
    assert budget + sum(worker.RECORD_RETRY_DELAYS) < 120
    assert services["worker"]["stop_grace_period"] == "2m"
    assert services["testruns"]["stop_grace_period"] == "1m"
    assert services["system"]["stop_grace_period"] == "1m"


@needs_compose
def test_redis_keeps_an_append_only_file_in_a_named_volume(config):
    redis = config["services"]["redis"]
    assert command_of(redis)[:3] == ["redis-server", "--appendonly", "yes"]
    assert volume_mounts(redis).get("redis-data") == "/data"
    assert "redis-data" in config["volumes"]


@needs_compose
def test_it_backs_the_database_up_hourly_keeping_48_in_a_named_volume(config):
    backup = config["services"]["backup"]
    assert backup["image"].startswith("postgres:")
    assert command_of(backup) == ["sh", "/usr/local/bin/cronsvc-backup"]
    mounts = volume_mounts(backup)
    assert mounts[str(ROOT / "deploy" / "backup.sh")] == "/usr/local/bin/cronsvc-backup"
    assert mounts["backups"] == backup["environment"]["BACKUP_DIR"] == "/backups"
    assert "backups" in config["volumes"]
    environment = backup["environment"]
    assert (environment["BACKUP_EVERY_SECONDS"], environment["BACKUP_KEEP"]) == ("3600", "48")
    assert (environment["PGHOST"], environment["PGDATABASE"]) == ("postgres", "cronsvc")
    assert backup["depends_on"]["postgres"]["condition"] == "service_healthy"


@needs_compose
def test_the_backup_schedule_and_count_come_from_the_env(tmp_path):
    result = compose_config(
        tmp_path, SECRET_KEY="s", BACKUP_EVERY_SECONDS="600", BACKUP_KEEP="6", POSTGRES_PASSWORD="p"
    )
    environment = yaml.safe_load(result.stdout)["services"]["backup"]["environment"]
    assert (environment["BACKUP_EVERY_SECONDS"], environment["BACKUP_KEEP"]) == ("600", "6")
    assert environment["PGPASSWORD"] == "p"


@needs_compose
def test_it_publishes_web_on_port_8000(services):
    assert "8000" in published_port_targets(services["web"])


@needs_compose
def test_it_checks_the_health_of_postgres_redis_and_web(services):
    for name in ("postgres", "redis", "web"):
        healthcheck = services[name].get("healthcheck", {})
        assert healthcheck.get("test"), f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name}'s healthcheck is disabled"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert "http://localhost:8000/" in " ".join(services["web"]["healthcheck"]["test"])


@needs_compose
def test_it_keeps_the_database_in_a_named_volume(config):
    mounts = volume_mounts(config["services"]["postgres"])
    named = set(config.get("volumes") or {})
    assert any(
        source in named and target == "/var/lib/postgresql/data"
        for source, target in mounts.items()
    ), f"postgres keeps its data outside a named volume: {mounts}"


@needs_compose
def test_it_points_every_process_at_the_compose_postgres_and_redis(services):
    for name in (*APP_PROCESSES, "migrate"):
        environment = services[name]["environment"]
        database = urlsplit(environment["DATABASE_URL"])
        broker = urlsplit(environment["CELERY_BROKER_URL"])
        assert database.scheme.startswith("postgres"), name
        assert database.hostname == "postgres", name
        assert broker.scheme == "redis", name
        assert broker.hostname == "redis", name


@needs_compose
def test_it_gives_every_process_the_same_settings(services):
    environments = [services[name]["environment"] for name in (*APP_PROCESSES, "migrate")]
    assert all(environment == environments[0] for environment in environments)
    assert environments[0]["SECRET_KEY"] == "a-secret-for-the-test"


def test_it_passes_every_setting_through_to_the_processes():
    # Read from the file itself: unset pass-through variables are not printed by every
    # version of `docker-compose config`.
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    environment = services["web"]["environment"]
    missing = settings_variables() - NOT_FOR_CONTAINERS - set(environment)
    assert not missing, f"docker-compose.yml does not pass these to the processes: {missing}"


@needs_compose
def test_it_starts_the_processes_after_the_services_are_healthy_and_migrate_is_done(services):
    for name in APP_PROCESSES:
        depends_on = services[name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
    migrate = " ".join(command_of(services["migrate"]))
    assert "migrate --noinput" in migrate
    assert "setup_schedules" in migrate
    assert services["migrate"]["restart"] == "no"


@needs_compose
def test_it_refuses_to_start_without_a_secret_key(tmp_path):
    result = compose_config(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_documents_every_setting_in_the_readme():
    found = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "VAR_DIR"} <= found
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, flags=re.MULTILINE))
    missing = found - documented
    assert not missing, f"README.md's configuration table lacks: {sorted(missing)}"
