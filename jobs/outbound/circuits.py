"""A circuit breaker per target host, so a dead host costs its members fast failures and
costs everyone else nothing: no connections and sockets tied up in waiting on it.

After THRESHOLD connect failures or timeouts in a row to one host (across all jobs), its
circuit opens: requests to it fail at once (circuit_open) for a cool-off of 30 s, doubling
each time it opens again, up to 10 minutes. Then one request goes through as a probe:
an answer (any HTTP status) closes the circuit, another failure opens it again.

The state is per worker process, in memory, and that is enough:
- what a circuit saves is the process's own sockets and event-loop time, so the process
  that would waste them is the one that needs to know;
- each process learns of a dead host after THRESHOLD failures of its own: with P worker
  processes a dead host costs at most P * THRESHOLD timeouts before every circuit is open,
  and then one probe per process per cool-off; the doubling cool-off keeps that small;
- shared state (in Redis) would put a round trip in front of every request on the firing
  loop's hot path, and make firing depend on Redis answering; one slow or lost Redis
  reply would delay every member's requests, which is what the breaker is there to stop.
What is open is published with each worker process's heartbeat (ops/liveness.py), so the
operator page and /metrics (`cronsvc_open_circuits`) show every process's open circuits.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FIRST_COOL_OFF = 30.0
LONGEST_COOL_OFF = 600.0
# The failure reasons that say the host is not there (not what it answered).
HOST_FAILURES = {"connect", "timeout"}


@dataclass
class Circuit:
    failures: int = 0  # in a row
    opens: int = 0  # times opened since it last closed, for the doubling cool-off
    open_until: float = 0.0  # monotonic; 0 when closed
    opened_at: float = 0.0  # monotonic: when it opened after being closed
    probing: bool = False

    @property
    def cool_off(self) -> float:
        return min(FIRST_COOL_OFF * 2 ** max(self.opens - 1, 0), LONGEST_COOL_OFF)


@dataclass
class Breakers:
    """The circuits of one process's firing loop (touched only from its event loop)."""

    threshold: int
    circuits: dict[str, Circuit] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def refuses(self, host: str) -> float | None:
        """Seconds until the host may be tried again if its circuit is open, else None.
        The first request after the cool-off is let through as the probe."""
        circuit = self.circuits.get(host)
        if circuit is None or circuit.open_until == 0.0:
            return None
        left = circuit.open_until - self.clock()
        if left > 0 or circuit.probing:
            return max(left, 0.0)
        circuit.probing = True
        return None

    def record(self, host: str, failure_reason: str) -> None:
        circuit = self.circuits.setdefault(host, Circuit())
        circuit.probing = False
        if failure_reason not in HOST_FAILURES:
            # The host answered (or failed in a way that is not about it): closed.
            self.circuits.pop(host, None)
            return
        circuit.failures += 1
        if circuit.open_until or circuit.failures >= self.threshold:
            if not circuit.open_until:
                circuit.opened_at = self.clock()
            circuit.opens += 1
            circuit.open_until = self.clock() + circuit.cool_off

    def open_hosts(self) -> list[str]:
        return sorted(host for host, circuit in list(self.circuits.items()) if circuit.open_until)

    def report(self, now: datetime) -> list[dict]:
        """The open circuits, with wall-clock times (`now` is this moment), for operators.
        Safe from another thread: it reads a copy of the circuits."""
        clock = self.clock()
        return [
            {
                "host": host,
                "since": (now - timedelta(seconds=clock - circuit.opened_at)).isoformat(),
                # In the past while the probe is due or on its way.
                "until": (now + timedelta(seconds=circuit.open_until - clock)).isoformat(),
                "failures": circuit.failures,
            }
            for host, circuit in sorted(dict(self.circuits).items())
            if circuit.open_until
        ]
