"""A real HTTP server for tests to aim jobs at; it records what reaches it.

The `target` fixture (tests/conftest.py) starts one on 127.0.0.1 for each test:

    target.url("/echo")      "http://127.0.0.1:PORT/echo"
    target.requests          what arrived, oldest first: a list of `Arrival`
    target.connections       TCP connections it accepted (counted at accept, before TLS or HTTP)
    target.reset()           forget both and restart the /flaky count
    target.flaky_failures    how many /flaky requests fail (503) before it answers 200

Routes:

    /  and /ok               200 "OK" (ntfy, through Apprise, posts to the root)
    /status/{code}           that status (200 to 599)
    /slow/{seconds}          sleeps, then 200 (at most 60 s)
    /big/{bytes}             that many bytes, in 64 KiB chunks (at most 20 MB)
    /redirect?to=URL&status=302
    /echo                    the request's method, path, query, headers and body as JSON
    /headers/{count}/{size}  200 with that many headers X-Header-1…, each value `size` bytes
    /html                    <script>alert(1)</script> as text/html
    /flaky                   fails first, then succeeds (see flaky_failures)
    /hang                    reads the request and never answers (gives up after 60 s)

It runs in a thread with its own event loop, so synchronous tests and code under test
that calls asyncio.run both reach it. For another one (a second origin, TLS), use
`with Target(host="127.0.0.2") as other:`, or `Target(tls=context)` with a context
from `self_signed_tls()`.
"""

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from multidict import CIMultiDict

CHUNK = 64 * 1024
MAX_BIG = 20 * 1024 * 1024
MAX_WAIT = 60.0
SEND_BUFFER = 64 * 1024


@dataclass
class Arrival:
    """One request as the target saw it, and how far its answer got."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes
    arrived_at: datetime
    bytes_sent: int = 0  # body bytes the socket took (for /big: counted as they go)
    finished: bool = False  # the handler produced its whole answer
    ended: threading.Event = field(default_factory=threading.Event)  # finished or not
    answered_at: datetime | None = None  # when the handler ended (its answer was made)


ARRIVAL = web.RequestKey("arrival", Arrival)


@dataclass
class Target:
    """The server; use as a context manager (see the module docstring for the API)."""

    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    flaky_failures: int = 2
    port: int = 0  # 0: a free one, chosen when it starts
    _requests: list[Arrival] = field(default_factory=list, init=False)
    _connections: int = field(default=0, init=False)
    _flaky_seen: int = field(default=0, init=False)

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def requests(self) -> list[Arrival]:
        return list(self._requests)

    @property
    def connections(self) -> int:
        return self._connections

    def reset(self) -> None:
        self._requests.clear()
        self._connections = 0
        self._flaky_seen = 0

    def __enter__(self) -> "Target":
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.call(self.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def call(self, coroutine: Coroutine[object, object, None]) -> None:
        # Run on the server's own loop, from the test's thread.
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.route("*", "/", self.ok),
                web.route("*", "/ok", self.ok),
                web.route("*", "/status/{code:\\d+}", self.status),
                web.route("*", "/slow/{seconds:[0-9.]+}", self.slow),
                web.route("*", "/big/{size:\\d+}", self.big),
                web.route("*", "/redirect", self.redirect),
                web.route("*", "/echo", self.echo),
                web.route("*", "/headers/{count:\\d+}/{size:\\d+}", self.headers),
                web.route("*", "/html", self.html),
                web.route("*", "/flaky", self.flaky),
                web.route("*", "/hang", self.hang),
            ]
        )
        app.middlewares.append(self.record)
        # Cancelled when the client goes away, so /slow and /hang do not outlive it.
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
        await self.runner.setup()
        listener = socket.create_server((self.host, self.port))
        self.port = listener.getsockname()[1]
        self.server = await self.loop.create_server(self.accept, sock=listener, ssl=self.tls)

    async def stop(self) -> None:
        self.server.close()
        await self.runner.cleanup()

    def accept(self) -> asyncio.Protocol:
        # asyncio asks for a protocol once per accepted socket, before any TLS
        # handshake or request bytes: the honest place to count connections.
        self._connections += 1
        return self.runner.server()

    @web.middleware
    async def record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        arrival = Arrival(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
            body=await request.read(),
            arrived_at=datetime.now(UTC),
        )
        self._requests.append(arrival)
        request[ARRIVAL] = arrival
        try:
            response = await handler(request)
        finally:
            arrival.answered_at = datetime.now(UTC)
            arrival.ended.set()
        # Not reached when /hang or /slow were cancelled because the client left;
        # /big, which streams, says itself whether it got everything out.
        if isinstance(response, web.Response):
            arrival.finished = True
            arrival.bytes_sent = len(response.body or b"")
        return response

    async def ok(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def status(self, request: web.Request) -> web.Response:
        """/status/503?retry_after=3 answers 503 with Retry-After: 3."""
        code = min(max(int(request.match_info["code"]), 200), 599)
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"]
        if code in (204, 304):
            return web.Response(status=code, headers=headers)
        return web.Response(status=code, text=f"Status {code}", headers=headers)

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(min(float(request.match_info["seconds"]), MAX_WAIT))
        return web.Response(text="Slow OK")

    async def big(self, request: web.Request) -> web.StreamResponse:
        arrival = request[ARRIVAL]
        size = min(int(request.match_info["size"]), MAX_BIG)
        # A small send buffer, so bytes_sent tracks what the client read instead of
        # vanishing into a send buffer the kernel would grow to megabytes.
        request.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER
        )
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        try:
            while arrival.bytes_sent < size:
                chunk = b"x" * min(CHUNK, size - arrival.bytes_sent)
                # write() returns once the transport has taken the chunk (it drains),
                # so bytes_sent stops growing when the client stops reading.
                await response.write(chunk)
                arrival.bytes_sent += len(chunk)
            await response.write_eof()
        except ConnectionResetError:
            return response  # the client hung up: expected here, not a server error
        arrival.finished = True
        return response

    async def redirect(self, request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    async def echo(self, request: web.Request) -> web.Response:
        headers = {name: ", ".join(request.headers.getall(name)) for name in request.headers}
        return web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": headers,
                "body": (await request.read()).decode(errors="replace"),
            }
        )

    async def headers(self, request: web.Request) -> web.Response:
        count, size = int(request.match_info["count"]), int(request.match_info["size"])
        headers = {f"X-Header-{n}": "v" * size for n in range(1, count + 1)}
        return web.Response(text="Many headers", headers=headers)

    async def html(self, request: web.Request) -> web.Response:
        return web.Response(text="<script>alert(1)</script>", content_type="text/html")

    async def flaky(self, request: web.Request) -> web.Response:
        self._flaky_seen += 1
        if self._flaky_seen <= self.flaky_failures:
            return web.Response(status=503, text=f"Flaky failure {self._flaky_seen}")
        return web.Response(text="Flaky OK")

    async def hang(self, request: web.Request) -> web.Response:
        await asyncio.sleep(MAX_WAIT)
        return web.Response(status=504, text="Gave up hanging")


def self_signed_tls(host: str = "127.0.0.1") -> tuple[ssl.SSLContext, bytes]:
    """A server context with a fresh self-signed certificate for `host`, and that certificate.

    No client trusts it unless told to, which is what a TLS failure test wants.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # The ssl module loads a certificate chain only from files.
    with tempfile.TemporaryDirectory() as directory:
        certificate_file, key_file = Path(directory, "cert.pem"), Path(directory, "key.pem")
        certificate_file.write_bytes(certificate_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(certificate_file, key_file)
    return context, certificate_pem
