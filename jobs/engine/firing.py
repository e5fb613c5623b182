"""One event loop per worker process, in a thread of its own, that fires every batch.

Each Celery task thread hands its batch to this loop and waits for the outcomes. One
loop with one HTTP client per process means one connection pool: calls to a host that
was called before reuse its open connections (keep-alive) instead of each batch opening
its own, and the batches do not compete as many event loops for one interpreter.
"""

import asyncio
import atexit
import os
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import uvloop
from django.conf import settings
from django.utils import timezone

from jobs.outbound import http

T = TypeVar("T")


class FiringLoop:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: http.Client | None = None

    def submit(self, work: Callable[[http.Client], Coroutine[Any, Any, T]]) -> Future[T]:
        """Start `work(client)` on the loop (from any thread); the future has its result."""
        loop, client = self.started()
        return asyncio.run_coroutine_threadsafe(work(client), loop)

    def started(self) -> tuple[asyncio.AbstractEventLoop, http.Client]:
        with self.lock:
            # Threads do not survive a fork: a forked pool child starts its own loop.
            if self.pid != os.getpid():
                # uvloop: the loop's own work per request (transports, callbacks, timers)
                # in C rather than Python, on the path every request takes.
                self.loop = uvloop.new_event_loop()
                thread = threading.Thread(
                    target=self.loop.run_forever, name="cronsvc-firing", daemon=True
                )
                thread.start()
                client = http.Client(
                    connections_per_host=settings.CONNECTIONS_PER_HOST,
                    keepalive_seconds=settings.KEEPALIVE_SECONDS,
                    in_flight_per_tenant=settings.IN_FLIGHT_PER_PROJECT,
                    circuit_threshold=settings.CIRCUIT_FAILURES,
                    nameservers=settings.DNS_NAMESERVERS,
                )
                self.client = asyncio.run_coroutine_threadsafe(
                    client.__aenter__(), self.loop
                ).result()
                self.pid = os.getpid()
                atexit.register(self.close)
            return self.loop, self.client

    def open_circuits(self) -> list[dict]:
        """This process's open circuits (jobs/outbound/circuits.py), published with its
        heartbeat; none before its loop has started."""
        client = self.client if self.pid == os.getpid() else None
        if client is None or client.breakers is None:
            return []
        return client.breakers.report(timezone.now())

    def close(self) -> None:
        """Close the pool's connections as the process exits."""
        if self.loop is not None and self.client is not None and self.pid == os.getpid():
            closing = asyncio.run_coroutine_threadsafe(
                self.client.__aexit__(None, None, None), self.loop
            )
            closing.result(timeout=5)


FIRING = FiringLoop()
