"""/healthz: 200 while the database and broker answer and beat and a worker are alive;
503 naming the check that failed otherwise. The broker check talks to the real broker
(CELERY_BROKER_URL)."""

from datetime import UTC, datetime, timedelta

import pytest

from cronsvc import celery_app
from ops.models import Heartbeat
from tests.conftest import frozen_at

NOW = datetime(2030, 3, 14, 12, 30, tzinfo=UTC)
WORKER = "worker:celery@host-1"
clock = frozen_at(NOW)


@pytest.fixture(autouse=True)
def heartbeats_every_20_seconds(settings) -> None:
    # Ten missed make a process stale: a minute.
    settings.HEARTBEAT_SECONDS = 6


def test_it_is_healthy_with_fresh_heartbeats(db, client, clock):
    Heartbeat.record("beat", NOW - timedelta(seconds=20))
    Heartbeat.record(WORKER, NOW - timedelta(seconds=5))

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"] == {"database": True, "broker": True, "beat": True, "workers": True}
    assert {h["process"]: h["stale"] for h in body["heartbeats"]} == {"beat": False, WORKER: False}


def test_a_silent_beat_makes_it_unhealthy(db, client, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)
    assert client.get("/healthz").status_code == 200

    # Beat dies; the worker goes on recording (its heartbeat task is sent by beat, but a
    # queued one can still arrive), and a minute and a bit later beat counts as stale.
    clock.shift(timedelta(seconds=61))
    Heartbeat.record(WORKER, NOW + timedelta(seconds=61))
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"] == {"database": True, "broker": True, "beat": False, "workers": True}
    assert {h["process"]: h["stale"] for h in body["heartbeats"]} == {"beat": True, WORKER: False}


def test_a_heartbeat_exactly_a_minute_old_is_still_fresh(db, client, clock):
    Heartbeat.record("beat", NOW - timedelta(minutes=1))
    Heartbeat.record(WORKER, NOW - timedelta(minutes=1))

    assert client.get("/healthz").status_code == 200


def test_beat_that_never_recorded_a_heartbeat_is_unhealthy(db, client, clock):
    Heartbeat.record(WORKER, NOW)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"] is False


def test_without_a_live_worker_it_is_unhealthy(db, client, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW - timedelta(minutes=5))
    Heartbeat.record("worker:celery@host-2", NOW - timedelta(minutes=2))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": True,
        "broker": True,
        "beat": True,
        "workers": False,
    }


def test_one_live_worker_among_dead_ones_is_enough(db, client, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW - timedelta(minutes=5))
    Heartbeat.record("worker:celery@host-2", NOW)

    assert client.get("/healthz").status_code == 200


def test_a_broker_that_does_not_answer_makes_it_unhealthy(db, client, clock, monkeypatch):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)
    # Nothing listens on port 1: the connection is refused. Celery reads these variables
    # before its own settings.
    unreachable = "redis://127.0.0.1:1/0"
    monkeypatch.setenv("CELERY_BROKER_URL", unreachable)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    monkeypatch.setattr(celery_app.conf, "broker_url", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
    assert response.json()["checks"]["database"] is True


def test_it_needs_no_login(db, client, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
