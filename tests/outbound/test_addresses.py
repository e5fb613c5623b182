"""jobs/outbound/addresses.py: which hosts a job may never call, however the address is spelled.

Only the local resolver is asked (literal addresses, /etc/hosts, a .invalid name), or the
test nameserver on 127.0.0.1 (tests/dns.py): no test here sends traffic anywhere.
"""

import time

import pytest

from jobs.outbound.addresses import internal_target
from tests.dns import Nameserver

INTERNAL_HOSTS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),  # decimal
    ("0x7f.1", "127.0.0.1"),  # hex, short form
    ("0x7f000001", "127.0.0.1"),  # hex
    ("017700000001", "127.0.0.1"),  # octal
    ("0177.0.0.1", "127.0.0.1"),  # octal first part
    ("127.1", "127.0.0.1"),  # short form
    ("0", "0.0.0.0"),
    ("0.0.0.0", "0.0.0.0"),
    ("[::1]", "::1"),
    ("[::]", "::"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),  # IPv4-mapped
    ("[::ffff:7f00:1]", "::ffff:7f00:1"),
    ("169.254.169.254", "169.254.169.254"),  # cloud metadata
    ("[fd00:ec2::254]", "fd00:ec2::254"),  # AWS metadata over IPv6
    ("100.100.100.200", "100.100.100.200"),  # Alibaba Cloud metadata
    ("192.0.0.192", "192.0.0.192"),  # Oracle Cloud metadata
    ("100.64.0.1", "100.64.0.1"),  # carrier-grade NAT
    ("10.0.0.1", "10.0.0.1"),
    ("172.16.0.1", "172.16.0.1"),
    ("192.168.1.1", "192.168.1.1"),
    ("[fc00::1]", "fc00::1"),  # unique local
    ("[fe80::1]", "fe80::1"),  # link-local
    ("224.0.0.1", "224.0.0.1"),  # multicast
    ("[ff02::1]", "ff02::1"),
    ("240.0.0.1", "240.0.0.1"),  # reserved
    ("255.255.255.255", "255.255.255.255"),
    ("198.18.0.1", "198.18.0.1"),  # benchmarking
    ("[2002:7f00:1::]", "2002:7f00:1::"),  # 6to4 of 127.0.0.1
    ("[64:ff9b::a00:1]", "64:ff9b::a00:1"),  # NAT64 of 10.0.0.1
    ("localhost", "127.0.0.1"),
    ("LOCALHOST", "127.0.0.1"),
]

PUBLIC_HOSTS = [
    "8.8.8.8",
    "1.1.1.1",
    "[2606:4700:4700::1111]",
    "[::ffff:8.8.8.8]",  # IPv4-mapped public address
    "[64:ff9b::808:808]",  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize(("host", "address"), INTERNAL_HOSTS)
def test_it_flags_an_internal_host_and_names_its_address(host: str, address: str):
    found = internal_target(f"http://{host}/")

    assert str(found) == address


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "[::1]:443", "localhost:9"])
def test_a_port_does_not_hide_an_internal_host(host: str):
    assert internal_target(f"https://{host}/path?query=1") is not None


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_it_lets_a_public_address_through(host: str):
    assert internal_target(f"https://{host}/cron") is None


def test_a_name_that_does_not_resolve_is_left_to_the_engine():
    # The engine checks again at connect time and records a DNS failure.
    assert internal_target("http://nonexistent.invalid/") is None


@pytest.mark.parametrize("url", ["http://[zz]/", "http://127.0.0.1:99999/", "http:///path"])
def test_a_url_it_cannot_read_is_left_to_url_validation(url: str):
    assert internal_target(url) is None


def test_names_are_asked_of_the_nameservers_the_engine_asks(settings):
    with Nameserver() as nameserver:
        nameserver.answer("inside.test", "10.0.0.7")
        settings.DNS_NAMESERVERS = [nameserver.address]

        assert str(internal_target("https://inside.test/cron")) == "10.0.0.7"


def test_a_lookup_past_the_timeout_is_left_to_connect_time(settings):
    settings.SAVE_TIME_DNS_TIMEOUT_SECONDS = 0.5
    with Nameserver() as nameserver:  # it never answers names it was not given
        settings.DNS_NAMESERVERS = [nameserver.address]
        started = time.monotonic()

        assert internal_target("https://silent.test/cron") is None

        took = time.monotonic() - started
        assert "silent.test" in nameserver.queries
    assert 0.5 <= took < 1.5, took
