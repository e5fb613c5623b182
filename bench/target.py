"""The benchmark's target: a bare asyncio HTTP/1.1 server that answers 200 and records arrivals.

Run as its own process (`python -m bench.target --record FILE [--ports K]`); it prints
`PORTS <n>,<n>,...` once it listens on K ports of 127.0.0.1 (jobs spread over them stand for
many sites: aiohttp's per-host connection cap counts host and port). Every request is
recorded as one tab-separated line:

    arrival time (time.time(), taken when the request's bytes came in)   path   X-Cronsvc-Execution

flushed to FILE twice a second and on SIGTERM, when it exits. GET /_bench/count answers how many
requests were recorded so far (that request itself is not recorded).

Paths under /f/ are flaky sites: they answer 503 to a request whose X-Cronsvc-Attempt is 1
or 2 and 200 to the third, and such a 503 is recorded under /r/ (so a slot's delivery is its
one 200, and its rejected attempts are counted apart).

For the hostile run, `--hanging K` adds K ports that accept connections and never answer
(`HANGING <n>,...`: the request waits out its timeout), and `--refusing K` holds K ports bound
but not listening, so a connection to them is refused at once (`REFUSING <n>,...`).

A hand-written parser instead of aiohttp.web: the target must never be the bottleneck on a
2-core machine it shares with everything else, and this one does only what the bench needs.
`measure()` is the load generator that checks that (bounded in requests and in time).
"""

import argparse
import asyncio
import signal
import socket
import sys
import time

EXECUTION_HEADER = b"x-cronsvc-execution"
ATTEMPT_HEADER = b"x-cronsvc-attempt"
FLAKY_PATH = b"/f/"
# A flaky site answers 503 to the first two attempts of a slot and 200 to the third.
FLAKY_FAILURES = 2
COUNT_PATH = b"/_bench/count"
MAX_HEAD = 64 * 1024
FLUSH_SECONDS = 0.5
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
)


class Record:
    def __init__(self, path: str) -> None:
        self.file = open(path, "w")  # noqa: SIM115 (closed in close())
        self.lines: list[str] = []
        self.count = 0

    def add(self, arrived: float, path: bytes, execution: bytes, delivered: bool = True) -> None:
        # The count (GET /_bench/count) is of deliveries: a flaky site's 503 is not one.
        self.count += delivered
        self.lines.append(
            f"{arrived:.6f}\t{path.decode('latin-1')}\t{execution.decode('latin-1')}\n"
        )

    def flush(self) -> None:
        if self.lines:
            self.file.write("".join(self.lines))
            self.lines.clear()
            self.file.flush()

    def close(self) -> None:
        self.flush()
        self.file.close()


class Connection(asyncio.Protocol):
    def __init__(self, record: Record) -> None:
        self.record = record
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            head, rest = self.buffer[:end], self.buffer[end + 4 :]
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            path = parts[1] if len(parts) > 1 else b"/"
            version = parts[2] if len(parts) > 2 else b"HTTP/1.0"
            length, execution, connection, attempt = 0, b"", b"", 1
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip() or 0)
                elif name == EXECUTION_HEADER:
                    execution = value.strip()
                elif name == b"connection":
                    connection = value.strip().lower()
                elif name == ATTEMPT_HEADER:
                    attempt = int(value.strip() or 1)
            if len(rest) < length:
                return  # the body is still coming
            self.buffer = rest[length:]
            keep_alive = connection != b"close" and (
                version == b"HTTP/1.1" or connection == b"keep-alive"
            )
            if path == COUNT_PATH:
                body = str(self.record.count).encode()
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            else:
                status = OK
                if path.startswith(FLAKY_PATH) and attempt <= FLAKY_FAILURES:
                    status, path = UNAVAILABLE, b"/r/" + path[len(FLAKY_PATH) :]
                self.record.add(arrived, path, execution, delivered=status is OK)
                self.transport.write(
                    status + (b"\r\nOK" if keep_alive else b"Connection: close\r\n\r\nOK")
                )
            if not keep_alive:
                self.transport.close()
                self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class Silent(asyncio.Protocol):
    """Reads the request and never answers: a target that hangs until the caller gives up."""

    def data_received(self, data: bytes) -> None:
        pass


def refusing_socket(host: str) -> socket.socket:
    """A port bound and never listened on: connecting to it is refused (RST) at once, and
    no other process can take it while the bench runs."""
    sock = socket.socket()
    sock.bind((host, 0))
    return sock


def port_list(sockets: list[socket.socket]) -> str:
    return ",".join(str(sock.getsockname()[1]) for sock in sockets)


async def serve(record_path: str, host: str, ports: int, hanging: int, refusing: int) -> None:
    record = Record(record_path)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    servers = [
        await loop.create_server(lambda: Connection(record), host, 0, backlog=4096)
        for _ in range(ports)
    ]
    servers += [await loop.create_server(Silent, host, 0, backlog=4096) for _ in range(hanging)]
    refused = [refusing_socket(host) for _ in range(refusing)]
    if hanging:
        print(f"HANGING {port_list([s.sockets[0] for s in servers[ports:]])}", flush=True)
    if refusing:
        print(f"REFUSING {port_list(refused)}", flush=True)
    print(f"PORTS {port_list([s.sockets[0] for s in servers[:ports]])}", flush=True)

    async def flusher() -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            record.flush()

    flushing = asyncio.create_task(flusher())
    try:
        await stop.wait()
    finally:
        flushing.cancel()
        for server in servers:
            server.close()
        record.close()


def ports_from(log: str, kind: str = "PORTS") -> list[int] | None:
    """The ports of a kind (PORTS, HANGING, REFUSING) a target printed to its log, once it
    listens (PORTS comes last)."""
    if "PORTS " not in log:
        return None
    if f"{kind} " not in log:
        return []
    return [int(port) for port in log.split(f"{kind} ", 1)[1].split()[0].split(",")]


def read_record(path: str) -> list[tuple[float, str, str]]:
    arrivals = []
    with open(path) as file:
        for line in file:
            arrived, path_, execution = line.rstrip("\n").split("\t")
            arrivals.append((float(arrived), path_, execution))
    return arrivals


async def load(port: int, requests: int, concurrency: int, seconds: float, fresh: bool) -> dict:
    """Send up to `requests` GETs (stopping after `seconds`), `concurrency` at a time."""
    import aiohttp

    url = f"http://127.0.0.1:{port}/j/load"
    sent = failed = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(force_close=fresh, limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal sent, failed
            while sent + failed < requests and time.monotonic() < deadline:
                try:
                    async with session.get(url) as response:
                        await response.read()
                    sent += 1
                except aiohttp.ClientError:
                    failed += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return {"requests": sent, "failed": failed, "seconds": elapsed, "per_second": sent / elapsed}


def measure(port: int, requests: int = 6000, concurrency: int = 100, seconds: float = 20) -> dict:
    """The target's throughput as seen by one aiohttp client process (itself on the same cores)."""
    return {
        "fresh": asyncio.run(load(port, requests, concurrency, seconds, fresh=True)),
        "keep_alive": asyncio.run(load(port, requests, concurrency, seconds, fresh=False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", required=True, help="file the arrivals are written to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", type=int, default=1, help="how many ports to listen on")
    parser.add_argument("--hanging", type=int, default=0, help="ports that never answer")
    parser.add_argument("--refusing", type=int, default=0, help="ports that refuse connections")
    args = parser.parse_args()
    if not args.host.startswith("127."):
        sys.exit("the bench target listens on loopback only")
    if not 1 <= args.ports + args.hanging + args.refusing <= 1000:
        sys.exit("--ports, --hanging and --refusing: 1 to 1,000 in all")
    asyncio.run(serve(args.record, args.host, args.ports, args.hanging, args.refusing))


if __name__ == "__main__":
    main()
