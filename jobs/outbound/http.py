"""The one seam for outbound HTTP: every job request goes through `Client.send`.

It refuses internal addresses at connect time (on the resolved address, for every
redirect hop), follows redirects itself so each hop is checked and credentials do
not leak to another origin, stops reading at the capture cap, and turns every
failure into one of the reasons members see.
"""

import asyncio
import codecs
import contextlib
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import http_exceptions
from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings
from multidict import CIMultiDict, CIMultiDictProxy

from jobs import assertions
from jobs.outbound import circuits
from jobs.outbound.addresses import allowed_port, is_internal
from jobs.outbound.signing import HEADER_NAMES as SIGNATURE_HEADERS
from jobs.outbound.signing import signature_headers

# How much of a response body a job may keep (Job.response_body_kib), in KiB. The largest
# is the capture cap: how far a body is read, for assertions on it, whatever a job keeps.
BODY_KEPT_KIB = (0, 1, 8, 64)
CAPTURE_LIMIT = max(BODY_KEPT_KIB) * 1024
# The response headers an execution keeps, so no target can fill the database with them.
MAX_RESPONSE_HEADERS = 100
MAX_RESPONSE_HEADER_BYTES = 16 * 1024
# A response with more header lines than this is too_large (aiohttp's default is 128, too
# few to keep 100 of a response that has a few more); each line is at most 8190 bytes.
MAX_HEADERS_READ = 256
# c-ares tries each nameserver this long, this many times; DNS_TIMEOUT_SECONDS bounds it all.
DNS_TRY_SECONDS = 2
DNS_TRIES = 2
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
EXECUTION_HEADER = "X-Cronsvc-Execution"
ATTEMPT_HEADER = "X-Cronsvc-Attempt"
RETRY_OF_HEADER = "X-Cronsvc-Retry-Of"
# Headers about the request body (the Fetch standard's list), dropped with the body.
BODY_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Language",
    "Content-Location",
)


class Blocked(Exception):
    """The target is an internal address; no connection was opened."""


@dataclass
class Request:
    execution_id: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    auth: tuple[str, str] | None = None
    timeout: float = 30
    follow_redirects: bool = True
    expected_statuses: list[int] = field(default_factory=list)
    # Checks on the response, beyond its status (jobs/assertions.py).
    assertions: list[dict] = field(default_factory=list)
    # How much of the response body to keep (the job's choice; the seam keeps all it reads).
    body_kept_bytes: int = CAPTURE_LIMIT
    # Which try of its slot this is; retries name the first (so targets can deduplicate).
    attempt: int = 1
    retry_of: int | None = None
    # Whose request it is (the job's project), for the fair share of in-flight requests.
    tenant: int | None = None
    # The project's signing secrets, for a job that signs its requests (newest first).
    signing_secrets: list[str] = field(default_factory=list)

    def is_success(self, status: int) -> bool:
        if self.expected_statuses:
            return status in self.expected_statuses
        return 200 <= status < 300


@dataclass
class Outcome:
    started_at: datetime
    finished_at: datetime | None = None
    # When the first request's headers went out: a connection was had and it left.
    sent_at: datetime | None = None
    succeeded: bool = False
    failure_reason: str = ""
    http_status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    # How many more headers the response had than were kept (MAX_RESPONSE_HEADERS…).
    response_headers_omitted: int = 0
    response_body: str = ""
    response_truncated: bool = False
    error: str = ""
    timings: dict[str, int] = field(default_factory=dict)
    # Still waiting for a place among its project's requests in flight.
    waiting_for_tenant: bool = False
    # Each assertion's result, when the status was as expected (the test run shows them).
    assertion_results: list[assertions.Result] = field(default_factory=list)

    @property
    def duration_ms(self) -> int:
        return round((self.finished_at - self.started_at).total_seconds() * 1000)


def refuse_internal(address: str) -> None:
    if settings.ALLOW_PRIVATE_TARGETS:
        return
    ip = ipaddress.ip_address(address.split("%")[0])
    if is_internal(ip):
        raise Blocked(f"Refused to connect to the internal address {ip}.")


def refuse_numeric_host(url: str) -> None:
    """Hosts like 2130706433 or 0x7f.1 are IPv4 addresses to the C library; check them as such."""
    host = urlsplit(url).hostname or ""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return
    refuse_internal(socket.inet_ntoa(packed))


def inet_aton_host(host: str, port: int) -> ResolveResult | None:
    """Hosts like 2130706433 or 0x7f.1 are IPv4 addresses to the C library (and browsers),
    not names to look up: read them as it does."""
    try:
        address = socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None
    return ResolveResult(
        hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0
    )


class GuardedResolver(AbstractResolver):
    """Lookups minus internal addresses (so a name cannot lead inside).

    Asynchronous (c-ares, through aiodns), each bounded by DNS_TIMEOUT_SECONDS: no thread
    pool a nameserver that never answers could fill, so one member's dead names cannot
    queue everyone else's lookups behind them.
    """

    def __init__(self, nameservers: list[str] | None = None) -> None:
        options = {"timeout": DNS_TRY_SECONDS, "tries": DNS_TRIES}
        if nameservers:
            options["nameservers"] = nameservers
        self.resolver = aiohttp.AsyncResolver(**options)

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[ResolveResult]:
        if (numeric := inet_aton_host(host, port)) is not None:
            results = [numeric]
        else:
            async with asyncio.timeout(settings.DNS_TIMEOUT_SECONDS):
                results = await self.resolver.resolve(host, port, family)
        allowed = []
        for result in results:
            try:
                refuse_internal(result["host"])
            except Blocked:
                continue
            allowed.append(result)
        if not allowed:
            addresses = ", ".join(result["host"] for result in results)
            raise Blocked(f"{host} resolves only to internal addresses ({addresses}).")
        return allowed

    async def close(self) -> None:
        await self.resolver.close()


def guarded_socket(addr_info: tuple) -> socket.socket:
    # aiohttp skips the resolver for literal IP hosts; every connection still
    # passes here, with the address it is about to connect to.
    family, type_, proto, _, sockaddr = addr_info
    refuse_internal(sockaddr[0])
    refuse_port(sockaddr[1])
    return socket.socket(family, type_, proto)


def refuse_port(port: int) -> None:
    if not allowed_port(port):
        allowed = settings.ALLOWED_TARGET_PORTS
        raise Blocked(f"Refused to connect to port {port}; jobs may call ports {allowed}.")


def timing_trace() -> aiohttp.TraceConfig:
    """DNS, connect (with TLS) and first-byte times, in ms since the request began, and
    when the request left (after any wait for a free connection to the host)."""
    trace = aiohttp.TraceConfig()

    async def left(session: object, trace: SimpleNamespace, params: object) -> None:
        outcome = trace.trace_request_ctx.outcome
        if outcome.sent_at is None:
            outcome.sent_at = datetime.now(UTC)

    def mark(name: str) -> Callable[..., Awaitable[None]]:
        async def record(session: object, trace: SimpleNamespace, params: object) -> None:
            context = trace.trace_request_ctx
            context.timings.setdefault(name, round((time.monotonic() - context.t0) * 1000))

        return record

    trace.on_dns_resolvehost_end.append(mark("dns_ms"))
    trace.on_connection_create_end.append(mark("connect_ms"))
    trace.on_request_end.append(mark("first_byte_ms"))
    trace.on_request_headers_sent.append(left)
    return trace


def user_agent() -> str:
    return f"cronsvc/1.0 (+{settings.SITE_URL})"


def same_origin(a: str, b: str) -> bool:
    one, two = urlsplit(a), urlsplit(b)
    return (one.scheme, one.hostname, one.port) == (two.scheme, two.hostname, two.port)


class Client:
    """One aiohttp session (one connection pool). Use as `async with Client() as client`.

    connections_per_host caps the connections open to one host at once (0: no cap), so a
    burst of jobs on one site reuses a few connections rather than opening hundreds.
    in_flight_per_tenant caps one project's requests in flight at once (0: no cap): its
    others wait, and no other project's do. Hosts that keep failing to connect or answer
    get their circuit opened (jobs/outbound/circuits.py) after circuit_threshold failures
    in a row (0: never)."""

    def __init__(
        self,
        *,
        connections_per_host: int = 0,
        keepalive_seconds: float = 15,
        in_flight_per_tenant: int = 0,
        circuit_threshold: int = 0,
        nameservers: list[str] | None = None,
    ) -> None:
        self.connections_per_host = connections_per_host
        self.keepalive_seconds = keepalive_seconds
        self.in_flight_per_tenant = in_flight_per_tenant
        self.tenants: dict[int, asyncio.Semaphore] = {}
        self.breakers = (
            circuits.Breakers(threshold=circuit_threshold) if circuit_threshold else None
        )
        self.nameservers = settings.DNS_NAMESERVERS if nameservers is None else nameservers

    async def __aenter__(self) -> "Client":
        self.resolver = GuardedResolver(self.nameservers)
        connector = aiohttp.TCPConnector(
            resolver=self.resolver,
            socket_factory=guarded_socket,
            limit=0,
            limit_per_host=self.connections_per_host,
            keepalive_timeout=self.keepalive_seconds,
            ttl_dns_cache=60,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[timing_trace()],
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
            max_headers=MAX_HEADERS_READ,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.session.close()
        # Not the connector's to close: lookups still waiting on a silent nameserver are
        # cancelled here, while the loop runs, not called back after it has gone.
        await self.resolver.close()

    async def send(self, request: Request) -> Outcome:
        outcome = Outcome(started_at=datetime.now(UTC))
        context = SimpleNamespace(t0=time.monotonic(), timings=outcome.timings, outcome=outcome)
        host = host_of(request.url)
        try:
            async with asyncio.timeout(request.timeout), self.tenant_slot(request, outcome):
                self.refuse_open_circuit(host)
                await self.follow(request, outcome, context)
        except Exception as error:  # every failure becomes a recorded reason
            outcome.failure_reason, outcome.error = classify(error, request, outcome)
        if self.breakers is not None and outcome.failure_reason != "circuit_open":
            self.breakers.record(host, outcome.failure_reason)
        outcome.finished_at = datetime.now(UTC)
        return outcome

    @contextlib.asynccontextmanager
    async def tenant_slot(self, request: Request, outcome: Outcome) -> AsyncIterator[None]:
        """One of the request's project's in-flight places (nothing to wait for without a
        cap). While it waits, the outcome says so, should the timeout come first."""
        if not self.in_flight_per_tenant or request.tenant is None:
            yield
            return
        if request.tenant not in self.tenants:
            self.tenants[request.tenant] = asyncio.Semaphore(self.in_flight_per_tenant)
        outcome.waiting_for_tenant = True
        async with self.tenants[request.tenant]:
            outcome.waiting_for_tenant = False
            yield

    def refuse_open_circuit(self, host: str) -> None:
        if self.breakers is not None and (left := self.breakers.refuses(host)) is not None:
            raise CircuitOpen(
                f"Not sent: {host} failed to connect or answer {self.breakers.threshold} times "
                f"in a row; it is tried again in {left:.0f} s."
            )

    async def follow(self, request: Request, outcome: Outcome, context: SimpleNamespace) -> None:
        method, url, body = request.method, request.url, request.body.encode()
        headers, signing = member_headers(request), request.signing_secrets
        for hop in range(MAX_REDIRECTS + 1):
            refuse_numeric_host(url)
            async with self.session.request(
                method,
                url,
                headers=with_identity(headers, request, body=body, signing=signing),
                data=body or None,
                allow_redirects=False,
                trace_request_ctx=context,
            ) as response:
                location = response.headers.get("Location")
                if request.follow_redirects and response.status in REDIRECT_STATUSES and location:
                    if hop == MAX_REDIRECTS:
                        raise TooManyRedirects(f"More than {MAX_REDIRECTS} redirects.")
                    next_url = urljoin(url, location)
                    if urlsplit(next_url).scheme not in ("http", "https"):
                        raise InvalidRedirect(f"Redirect to a non-HTTP URL: {next_url[:200]}")
                    if not same_origin(url, next_url):
                        # The member's credentials and headers are for the origin they named,
                        # and so is the signature: another site could replay it there.
                        headers, signing = CIMultiDict(), []
                    if becomes_get(response.status, method):
                        method, body = "GET", b""
                        # The body is gone, so headers describing it would now lie.
                        for name in BODY_HEADERS:
                            headers.popall(name, None)
                    url = next_url
                    continue
                await record_response(response, request, outcome)
                return


def member_headers(request: Request) -> CIMultiDict[str]:
    headers = CIMultiDict(request.headers)
    if request.auth:
        # UTF-8, as RFC 7617 advertises: aiohttp's BasicAuth encodes Latin-1 and
        # fails on a password with, say, a euro sign.
        headers["Authorization"] = aiohttp.encode_basic_auth(*request.auth)
    return headers


def with_identity(
    headers: CIMultiDict[str], request: Request, *, body: bytes, signing: Sequence[str]
) -> CIMultiDict[str]:
    """The member's headers plus ours, signed with `signing` (if any secrets) as the
    request leaves; assignment replaces a member's own spelling of any."""
    headers = headers.copy()
    headers["User-Agent"] = user_agent()
    headers[EXECUTION_HEADER] = str(request.execution_id)
    headers[ATTEMPT_HEADER] = str(request.attempt)
    if request.retry_of is not None:
        headers[RETRY_OF_HEADER] = str(request.retry_of)
    if signing:
        headers.update(signature_headers(signing, request.execution_id, int(time.time()), body))
    return headers


def sent_header_names(request: Request) -> list[str]:
    """The names of the headers the first hop carries, ours included."""
    headers = with_identity(member_headers(request), request, body=b"", signing=[])
    if request.signing_secrets:
        # Named, not computed: the signature is made as the request leaves.
        headers.update(dict.fromkeys(SIGNATURE_HEADERS, ""))
    return list(headers)


def becomes_get(status: int, method: str) -> bool:
    """A 303 turns any method but HEAD into GET; 301 and 302 do so for POST, as browsers do."""
    if status == 303:
        return method != "HEAD"
    return status in (301, 302) and method == "POST"


class TooManyRedirects(Exception):
    pass


class CircuitOpen(Exception):
    """The host's circuit is open: not tried."""


def host_of(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


class InvalidRedirect(Exception):
    pass


async def record_response(
    response: aiohttp.ClientResponse, request: Request, outcome: Outcome
) -> None:
    outcome.http_status = response.status
    outcome.response_headers, outcome.response_headers_omitted = kept_headers(response.headers)
    data = await read_capped(response.content, bytes_to_read(request))
    kept = request.body_kept_bytes
    outcome.response_truncated = len(data) > kept
    outcome.response_body = decode_body(
        data[:kept], response.charset, cut=outcome.response_truncated
    )
    outcome.succeeded = request.is_success(response.status)
    if not outcome.succeeded:
        outcome.failure_reason = "http_status"
        outcome.error = f"Got HTTP {response.status}, expected {expected_text(request)}."
    elif request.assertions:
        took = round((datetime.now(UTC) - outcome.started_at).total_seconds() * 1000)
        body = decode_body(data[:CAPTURE_LIMIT], response.charset, cut=len(data) > CAPTURE_LIMIT)
        results = assertions.check(request.assertions, body=body, duration_ms=took)
        outcome.assertion_results = results
        if not all(result.passed for result in results):
            outcome.succeeded = False
            outcome.failure_reason = "assertion"
            outcome.error = assertions.failure_message(results)


def kept_headers(headers: CIMultiDictProxy[str]) -> tuple[dict[str, str], int]:
    """The response's first headers, up to MAX_RESPONSE_HEADERS of them and
    MAX_RESPONSE_HEADER_BYTES in all (names and values), and how many more it had."""
    joined = {name: ", ".join(headers.getall(name)) for name in headers}
    kept, size = {}, 0
    for name, value in joined.items():
        # Undecodable bytes arrive as surrogates; they count as the bytes they were.
        size += len(f"{name}{value}".encode(errors="surrogateescape"))
        if len(kept) == MAX_RESPONSE_HEADERS or size > MAX_RESPONSE_HEADER_BYTES:
            break
        kept[name] = value
    return kept, len(joined) - len(kept)


def bytes_to_read(request: Request) -> int:
    """What the job keeps of the body, or the capture cap if an assertion reads the body."""
    if assertions.reads_body(request.assertions):
        return CAPTURE_LIMIT
    return request.body_kept_bytes


async def read_capped(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to one byte past the limit (to know there was more); the rest is never read."""
    chunks, size = [], 0
    while size <= limit:
        chunk = await stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def decode_body(data: bytes, charset: str | None, *, cut: bool) -> str:
    # The charset is the target's word: one Python does not know must not turn a
    # 200 into an internal error. A character a cut went through is left out.
    try:
        decoder = codecs.getincrementaldecoder(charset or "utf-8")(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(data, final=not cut)


def expected_text(request: Request) -> str:
    return ", ".join(map(str, request.expected_statuses)) if request.expected_statuses else "2xx"


def headers_too_large(error: BaseException) -> bool:
    # aiohttp wraps its parser's error twice (ClientResponseError from a copy of it),
    # so the reason is at the end of the __cause__ chain.
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, http_exceptions.LineTooLong):
        return True
    return isinstance(error, http_exceptions.BadHttpMessage) and "Too many headers" in error.message


def classify(error: BaseException, request: Request, outcome: Outcome) -> tuple[str, str]:
    """The failure reason members see for an exception, with a short explanation."""
    if isinstance(error, Blocked):
        return "blocked", str(error)
    if isinstance(error, CircuitOpen):
        return "circuit_open", str(error)
    if isinstance(error, TimeoutError):
        if outcome.waiting_for_tenant:
            return "timeout", (
                f"Not sent: its project had as many requests in flight as one project may "
                f"for all of {request.timeout:g} s."
            )
        if outcome.sent_at is None:
            # Waiting for a connection to the host (others to it were all busy) or for
            # the host to accept one: nothing reached it.
            return "timeout", f"Not sent: no connection to the host within {request.timeout:g} s."
        return "timeout", f"Sent, but no complete response within {request.timeout:g} s."
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "dns", f"Could not resolve the host: {error.os_error}"
    if isinstance(error, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "tls", f"TLS failed: {error}"
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, Blocked) or "internal address" in str(error):
            return "blocked", str(error.os_error)
        return "connect", f"Could not connect: {error.os_error}"
    if headers_too_large(error):
        return "too_large", "The response headers are too large."
    if isinstance(
        error, aiohttp.ClientError | TooManyRedirects | InvalidRedirect | UnicodeError | ValueError
    ):
        return "invalid_response", f"{type(error).__name__}: {error}"[:500]
    return "internal", f"{type(error).__name__}: {error}"[:500]
