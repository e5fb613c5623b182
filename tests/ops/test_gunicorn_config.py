"""gunicorn.conf.py: web runs threaded workers, as many and as wide as WEB_WORKERS and
WEB_THREADS say (README, "Web")."""

import runpy

from django.conf import settings

CONFIG = str(settings.BASE_DIR / "gunicorn.conf.py")


def test_web_runs_threaded_workers_with_sensible_defaults(monkeypatch):
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    monkeypatch.delenv("WEB_THREADS", raising=False)

    config = runpy.run_path(CONFIG)

    assert (config["worker_class"], config["workers"], config["threads"]) == ("gthread", 2, 8)


def test_the_environment_sizes_it(monkeypatch):
    monkeypatch.setenv("WEB_WORKERS", "3")
    monkeypatch.setenv("WEB_THREADS", "16")

    config = runpy.run_path(CONFIG)

    assert (config["workers"], config["threads"]) == (3, 16)


def test_the_process_files_leave_the_sizing_to_it():
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    compose = (settings.BASE_DIR / "docker-compose.yml").read_text()

    assert "--workers" not in procfile
    assert "--workers" not in compose
