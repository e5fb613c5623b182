"""A circuit breaker per target host, so a dead host costs its members fast failures and
costs everyone else nothing: no connections and sockets tied up in waiting on it.

After THRESHOLD connect failures or timeouts in a row to one host (across all jobs), its
circuit opens: requests to it fail at once (circuit_open) for a cool-off of 30 s, doubling
each time it opens again, up to 10 minutes. Then one request goes through as a probe:
an answer (any HTTP status) closes the circuit, another failure opens it again.

The state is per worker process, in memory: every process meets the dead host within a
cool-off on its own, and sharing the state would put a round trip to Redis in front of
every request. What is open is published with each process's heartbeat for the operator
page and /metrics (ops/liveness.py).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST_COOL_OFF = 30.0
LONGEST_COOL_OFF = 600.0
# The failure reasons that say the host is not there (not what it answered).
HOST_FAILURES = {"connect", "timeout"}


@dataclass
class Circuit:
    failures: int = 0  # in a row
    opens: int = 0  # times opened since it last closed, for the doubling cool-off
    open_until: float = 0.0  # monotonic; 0 when closed
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
            circuit.opens += 1
            circuit.open_until = self.clock() + circuit.cool_off

    def open_hosts(self) -> list[str]:
        return sorted(host for host, circuit in list(self.circuits.items()) if circuit.open_until)
