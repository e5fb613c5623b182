"""/healthz: 200 "ok" while the database and broker answer and beat and a worker are
alive, 503 "fail" otherwise, to anyone; the checks and the processes, in JSON, only with
the metrics token or to staff. The broker check talks to the real broker
(CELERY_BROKER_URL), at most once every few seconds per process."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from cronsvc import celery_app
from ops import views
from ops.models import Heartbeat
from tests.conftest import frozen_at
from tests.servers import PrivateRedis

NOW = datetime(2030, 3, 14, 12, 30, tzinfo=UTC)
WORKER = "worker:celery@host-1"
TOKEN = "a-token-for-the-scraper"
clock = frozen_at(NOW)


@pytest.fixture(autouse=True)
def heartbeats_every_20_seconds(settings) -> None:
    # Ten missed make a process stale: a minute.
    settings.HEARTBEAT_SECONDS = 6


@pytest.fixture(autouse=True)
def metrics_token(settings) -> None:
    settings.METRICS_TOKEN = TOKEN


@pytest.fixture(autouse=True)
def broker_checked_afresh() -> None:
    # Every test starts at the same frozen moment: no test sees another's broker answer.
    views.broker_ok.forget()


@pytest.fixture
def scraper() -> Client:
    """Whoever holds the metrics token (what /metrics asks for), as Prometheus does."""
    return Client(headers={"Authorization": f"Bearer {TOKEN}"})


def point_the_broker_at(url: str, monkeypatch) -> None:
    # Celery reads these variables before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    monkeypatch.setattr(celery_app.conf, "broker_url", url)


def test_it_is_healthy_with_fresh_heartbeats(db, scraper, clock):
    Heartbeat.record("beat", NOW - timedelta(seconds=20))
    Heartbeat.record(WORKER, NOW - timedelta(seconds=5))

    response = scraper.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"] == {"database": True, "broker": True, "beat": True, "workers": True}
    assert {h["process"]: h["stale"] for h in body["heartbeats"]} == {"beat": False, WORKER: False}


def test_a_silent_beat_makes_it_unhealthy(db, scraper, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)
    assert scraper.get("/healthz").status_code == 200

    # Beat dies; the worker goes on recording (its heartbeat task is sent by beat, but a
    # queued one can still arrive), and a minute and a bit later beat counts as stale.
    clock.shift(timedelta(seconds=61))
    Heartbeat.record(WORKER, NOW + timedelta(seconds=61))
    response = scraper.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"] == {"database": True, "broker": True, "beat": False, "workers": True}
    assert {h["process"]: h["stale"] for h in body["heartbeats"]} == {"beat": True, WORKER: False}


def test_a_heartbeat_exactly_a_minute_old_is_still_fresh(db, client, clock):
    Heartbeat.record("beat", NOW - timedelta(minutes=1))
    Heartbeat.record(WORKER, NOW - timedelta(minutes=1))

    assert client.get("/healthz").status_code == 200


def test_beat_that_never_recorded_a_heartbeat_is_unhealthy(db, scraper, clock):
    Heartbeat.record(WORKER, NOW)

    response = scraper.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"] is False


def test_without_a_live_worker_it_is_unhealthy(db, scraper, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW - timedelta(minutes=5))
    Heartbeat.record("worker:celery@host-2", NOW - timedelta(minutes=2))

    response = scraper.get("/healthz")

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


def test_a_broker_that_does_not_answer_makes_it_unhealthy(db, scraper, clock, monkeypatch):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)
    # Nothing listens on port 1: the connection is refused.
    point_the_broker_at("redis://127.0.0.1:1/0", monkeypatch)

    response = scraper.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
    assert response.json()["checks"]["database"] is True


def test_anyone_gets_a_plain_ok_without_details(db, client, alice, clock):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)

    for asking in [Client(), client, Client(headers={"Authorization": "Bearer wrong"})]:
        response = asking.get("/healthz")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain"
        assert response.content == b"ok"
        client.force_login(alice)  # a member who is not staff sees no more


def test_anyone_gets_a_plain_fail_without_details(db, client, clock):
    Heartbeat.record(WORKER, NOW)  # beat has never run

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.content == b"fail"
    assert WORKER not in response.content.decode()


def test_staff_see_the_details(db, clock, staff_client):  # signed in at the frozen time
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)

    response = staff_client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert [h["process"] for h in response.json()["heartbeats"]] == ["beat", WORKER]


def test_without_a_metrics_token_set_no_token_shows_the_details(db, settings, clock):
    settings.METRICS_TOKEN = ""
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)

    response = Client(headers={"Authorization": "Bearer "}).get("/healthz")

    assert response.content == b"ok"


def test_many_calls_cost_the_broker_one_connection_every_few_seconds(db, clock, monkeypatch):
    Heartbeat.record("beat", NOW)
    Heartbeat.record(WORKER, NOW)

    with PrivateRedis() as redis:
        point_the_broker_at(redis.url(), monkeypatch)

        def connections_so_far() -> int:
            # Counting itself: each redis-cli call is one connection.
            stats = redis.cli("INFO", "stats").stdout
            return int(stats.split("total_connections_received:")[1].split()[0])

        before = connections_so_far()
        answers = [Client().get("/healthz").status_code for _ in range(20)]
        after_a_burst = connections_so_far()
        clock.shift(timedelta(seconds=6))
        answers += [Client().get("/healthz").status_code for _ in range(20)]
        six_seconds_later = connections_so_far()

    assert answers == [200] * 40
    assert after_a_burst - before == 1 + 1
    assert six_seconds_later - after_a_burst == 1 + 1
