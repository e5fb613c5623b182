"""Invariant 7 at the seam: no job request reaches an internal address, however the address
is spelled, whatever name leads to it, on the first request or on a redirect hop.

The `target` listens on 127.0.0.1:PORT, so every loopback spelling below aims at it: a
refusal that let the connection happen shows in its connection count. Private and
metadata addresses must not be contacted from a test at all, refused or not: the
`connect_attempts` fixture records each address the event loop is asked to connect to and
fails, without connecting, any that would leave this machine. If the seam ever stops
blocking one of them, its test fails here (within the 2 s timeout), and no packet goes out.
"""

import ipaddress
import socket
from asyncio.selector_events import BaseSelectorEventLoop
from collections.abc import Iterator
from functools import partial

import pytest

from tests.conftest import redirect, send
from tests.dns import Nameserver

BLOCKED_URLS = [
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",  # decimal
    "http://0x7f000001:{port}/",  # hex
    "http://0x7f.0.0.1:{port}/",  # hex first part
    "http://017700000001:{port}/",  # octal
    "http://0177.0.0.1:{port}/",  # octal first part
    "http://127.1:{port}/",  # short form
    "http://127.000.000.001:{port}/",  # zero-padded
    "http://user:pw@127.0.0.1:{port}/",  # userinfo in front
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
    "http://[0:0:0:0:0:ffff:7f00:1]:{port}/",  # the same, written out
    "http://localhost:{port}/",  # a name that resolves to loopback
    "http://LOCALHOST:{port}/",  # the same name, differently spelled
    "http://\u24dbocalhost:{port}/",  # a circled l, which IDNA maps to localhost
    "http://0.0.0.0:{port}/",  # Linux connects this to the local host
    "http://0:{port}/",
    "http://[::]:{port}/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "http://100.100.100.200/",  # Alibaba Cloud metadata
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://[fe80::1]/",  # link-local
    "http://[fc00::1]/",  # unique local
    "http://224.0.0.1/",  # multicast
    "http://[2002:7f00:1::]:{port}/",  # 6to4 of 127.0.0.1
    "https://127.0.0.1:{port}/",
]

# The loopback spellings that do reach the target when private targets are allowed, so
# their refusal above is what kept them out, not a spelling the client cannot read.
# (yarl refuses the all-digit ones, 2130706433, 0177.0.0.1, 127.1 or 0, as non-canonical
# IPv4; the hex ones pass as names, which the system resolver reads as 127.0.0.1.)
REACHABLE_SPELLINGS = [
    "http://127.0.0.1:{port}/ok",
    "http://0x7f000001:{port}/ok",
    "http://0x7f.0.0.1:{port}/ok",
    "http://user:pw@127.0.0.1:{port}/ok",
    "http://[::ffff:127.0.0.1]:{port}/ok",
    "http://[0:0:0:0:0:ffff:7f00:1]:{port}/ok",
    "http://localhost:{port}/ok",
    "http://LOCALHOST:{port}/ok",
    "http://\u24dbocalhost:{port}/ok",
    "http://0.0.0.0:{port}/ok",
]


def stays_on_this_machine(host: str) -> bool:
    ip = ipaddress.ip_address(host.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch) -> list[tuple[str, int]]:
    """Addresses connected to; one that would leave the machine fails instead.

    A safety net under the tests, not the check they make: the seam refuses before it
    creates a socket, so in a passing run this only ever sees loopback addresses.
    """
    attempts: list[tuple[str, int]] = []
    sock_connect = BaseSelectorEventLoop.sock_connect

    async def guarded(loop: BaseSelectorEventLoop, sock: socket.socket, address: tuple) -> None:
        attempts.append(address[:2])
        if not stays_on_this_machine(address[0]):
            raise OSError(f"Test safety net: not connecting to {address[0]}.")
        await sock_connect(loop, sock, address)

    monkeypatch.setattr(BaseSelectorEventLoop, "sock_connect", guarded)
    return attempts


pytestmark = pytest.mark.usefixtures("private_targets_refused")
# A refusal that let the connection happen fails within 2 s, not the usual 30.
send_briefly = partial(send, timeout=2)


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_an_internal_address_is_refused_without_connecting(target, connect_attempts, url: str):
    outcome = send_briefly(url.format(port=target.port))

    assert outcome.failure_reason == "blocked", outcome.error
    assert "internal address" in outcome.error
    assert outcome.http_status is None
    assert connect_attempts == []
    assert target.connections == 0


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "localhost"])
def test_the_refusal_names_the_address_the_host_stands_for(target, host: str):
    outcome = send_briefly(f"http://{host}:{target.port}/")

    assert "127.0.0.1" in outcome.error


@pytest.mark.parametrize("url", REACHABLE_SPELLINGS)
def test_with_private_targets_allowed_the_same_spellings_get_through(target, settings, url: str):
    settings.ALLOW_PRIVATE_TARGETS = True

    outcome = send_briefly(url.format(port=target.port))

    assert outcome.succeeded, outcome.error
    assert target.connections == 1


# Redirect hops. The only server a sandboxed test can reach is on loopback, so one
# loopback address, 127.0.0.2 (Linux routes all of 127/8 to lo), plays the public
# internet: the seam's check is told it is public, and everything else stays internal
# (the `public_target` fixture).


def test_the_public_stand_in_is_reachable(public_target, target):
    outcome = send_briefly(public_target.url("/ok"))

    assert outcome.succeeded, outcome.error
    assert target.connections == 0


@pytest.mark.parametrize(
    "hop",
    [
        "http://127.0.0.1:{port}/ok",
        "http://2130706433:{port}/ok",
        "http://localhost:{port}/ok",
        "http://[::ffff:127.0.0.1]:{port}/ok",
        "http://0.0.0.0:{port}/ok",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
    ],
)
def test_a_redirect_to_an_internal_address_is_refused_before_connecting(
    public_target, target, connect_attempts, hop: str
):
    outcome = send_briefly(redirect(public_target, hop.format(port=target.port)))

    assert outcome.failure_reason == "blocked", outcome.error
    assert [arrival.path for arrival in public_target.requests] == ["/redirect"]
    assert connect_attempts == [("127.0.0.2", public_target.port)]
    assert target.connections == 0


@pytest.fixture
def nameserver(settings) -> Iterator[Nameserver]:
    """The engine's lookups go to a nameserver of the test's (tests/dns.py)."""
    with Nameserver() as server:
        settings.DNS_NAMESERVERS = [server.address]
        yield server


def test_a_name_with_public_and_internal_addresses_is_reached_only_on_the_public_one(
    public_target, target, nameserver
):
    # A resolver answer mixing both is the DNS-rebinding shape: only the public
    # address may be used, whichever order they come in.
    nameserver.answer("mixed.test", "127.0.0.1", "127.0.0.2")

    outcome = send_briefly(f"http://mixed.test:{target.port}/ok")

    assert outcome.succeeded, outcome.error
    assert len(public_target.requests) == 1
    assert target.connections == 0


def test_a_name_with_only_internal_addresses_is_refused(public_target, target, nameserver):
    nameserver.answer("inside.test", "127.0.0.1", "10.0.0.1")

    outcome = send_briefly(f"http://inside.test:{target.port}/ok")

    assert outcome.failure_reason == "blocked", outcome.error
    assert target.connections == 0
