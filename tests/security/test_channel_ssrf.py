"""Alerts never open a connection to an internal address (issue 16, point 2).

Channels are saved here straight into the database, as if their host had resolved to a
public address when a member saved them and to an internal one now: the check at connect
time is what is under test, with the guard's test allowance off. A Python audit hook
records every socket connect the process makes while the notifier runs, so the tests see
connections that were never attempted, not only ones a server did not accept; the local
Target on 127.0.0.1 counts what it accepted as well.
"""

import sys
from collections.abc import Iterator

import pytest
import time_machine
import urllib3

from alerts import apprise_guard, delivery
from alerts.models import Delivery
from tests.conftest import NOON, make_channel, make_job, record_failures, redirect
from tests.target import Target

METADATA = "169.254.169.254"


class Connects:
    """The addresses sockets of this process tried to connect to while `recording`."""

    recording = False
    addresses: list[str] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.recording and event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple):
                cls.addresses.append(address[0])


sys.addaudithook(Connects.hook)  # audit hooks cannot be removed; it records only when asked


@pytest.fixture
def connects() -> Iterator[list[str]]:
    Connects.addresses = []
    Connects.recording = True
    yield Connects.addresses
    Connects.recording = False


@pytest.fixture
def failing_job(alice, private_targets_refused):
    """alice's job, alerting only the channels a test gives it; its failure recorded."""

    def with_channels(*channels) -> None:
        job = make_job(alice, url="https://example.com/report")
        job.channels.set(channels)
        with time_machine.travel(NOON, tick=False) as traveller:
            record_failures(job, traveller)

    return with_channels


def refused_deliveries() -> list[str]:
    return [d.last_error for d in Delivery.objects.all()]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/ok",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/ok",
        "http://2130706433:{port}/ok",  # 127.0.0.1, as the C library reads it
    ],
)
def test_a_webhook_to_an_internal_address_opens_no_connection(
    alice, failing_job, target: Target, connects, url
):
    failing_job(make_channel(alice, url=url.format(port=target.port)))

    report = delivery.deliver_pending()

    assert report.failed == 1
    assert connects == []
    assert target.connections == 0
    (error,) = refused_deliveries()
    assert "internal address" in error


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:{port}/ok",
        "json://localhost:{port}/ok",
        "ntfy://127.0.0.1:{port}/topic",
        "gotify://169.254.169.254/apptoken12345",
        "matrix://user:pass@169.254.169.254/#room",
    ],
)
def test_an_apprise_channel_to_an_internal_address_opens_no_connection(
    alice, failing_job, target: Target, connects, url
):
    failing_job(make_channel(alice, "apprise", url=url.format(port=target.port)))

    report = delivery.deliver_pending()

    assert report.failed == 1
    assert [address for address in connects if address in ("127.0.0.1", METADATA)] == []
    assert target.connections == 0
    (error,) = refused_deliveries()
    assert error  # Apprise's own words for the refused connection


def test_an_apprise_redirect_to_an_internal_address_is_not_followed(
    alice, failing_job, target: Target, public_target: Target, connects
):
    """A public receiver that redirects inside: the second connection is refused too."""
    hop = redirect(public_target, to=target.url("/ok"), status=307).partition("://")[2]
    failing_job(make_channel(alice, "apprise", url=f"json://{hop}"))

    delivery.deliver_pending()

    assert "127.0.0.2" in connects  # the public receiver was reached
    assert "127.0.0.1" not in connects
    assert target.connections == 0


def test_the_guard_leaves_other_urllib3_connections_alone(target: Target, private_targets_refused):
    """Only a thread sending for Apprise is guarded: the process's other HTTP clients
    (none in cronsvc today) are not changed by it."""
    apprise_guard.install()
    response = urllib3.request("GET", target.url("/ok"))

    assert response.status == 200
