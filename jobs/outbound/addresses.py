"""Which addresses a job may never reach: anything that is not the public internet."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Python's is_private leaves these out: carrier-grade NAT (where one cloud keeps
# its metadata service) and the well-known metadata endpoints themselves.
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_internal(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (inner := embedded_ipv4(ip)) is not None:
        return is_internal(inner)
    return (
        ip in METADATA
        or ip in CGNAT
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def allowed_port(port: int) -> bool:
    """Only the ports operators allow (ALLOWED_TARGET_PORTS, checked when a job is saved and
    at connect): no probing of SSH, SMTP or database ports on someone else's host."""
    for part in settings.ALLOWED_TARGET_PORTS.split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses a host is (2130706433 and 0x7f.1 read as the C library reads them) or
    resolves to, asked of the nameservers the engine asks (DNS_NAMESERVERS, else the
    system's) and waited for at most SAVE_TIME_DNS_TIMEOUT_SECONDS: a web request never
    waits longer on a member's nameserver (TimeoutError; connect time checks again)."""
    if (address := numeric_address(host)) is not None:
        return [address]
    return asyncio.run(look_up(host, port))


def numeric_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(socket.inet_ntoa(socket.inet_aton(host)))
    except OSError:
        return None


async def look_up(host: str, port: int) -> list[IPAddress]:
    # c-ares (as at connect time): a lookup that times out is cancelled, no thread kept.
    options = {"nameservers": settings.DNS_NAMESERVERS} if settings.DNS_NAMESERVERS else {}
    resolver = aiohttp.AsyncResolver(**options)
    try:
        async with asyncio.timeout(settings.SAVE_TIME_DNS_TIMEOUT_SECONDS):
            results = await resolver.resolve(host, port, family=socket.AF_UNSPEC)
    finally:
        await resolver.close()
    addresses = [ipaddress.ip_address(result["host"].split("%")[0]) for result in results]
    # IPv4 first, as the system resolver orders them: "localhost (127.0.0.1)", not "::1".
    return sorted(addresses, key=lambda ip: ip.version)


def internal_target(url: str) -> IPAddress | None:
    """An internal address the URL's host is or resolves to only, for refusing at save time.

    A name that does not resolve now is let through: the engine checks again at
    connect time and records a DNS failure if it still does not.
    """
    try:
        # urlsplit refuses a bad [IPv6] host and .port a bad port: URL validation
        # reports those, so here they are simply not an internal target.
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname or "", port)
    except (OSError, UnicodeError, ValueError, TimeoutError):
        return None
    if addresses and all(is_internal(ip) for ip in addresses):
        return addresses[0]
    return None
