"""Per-member rate limits: Run now, test runs and the REST API all count here. (Sign-up,
log-in and the other account pages are django-allauth's, limited by its ACCOUNT_RATE_LIMITS.)

One mechanism: a sliding log of the member's recent uses per scope, kept in Django's
cache, which is shared by every process when CACHE_URL points at Redis (the default
wherever the broker is Redis). A short lock in the same cache makes the read, check and
append one step, so parallel requests cannot slip past the limit together. Refused
attempts are not counted: they used nothing.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache

LOCK_SECONDS = 5
LOCK_TRIES = 400  # 5 ms apart: about two seconds


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """'120/minute' (DRF's form: second, minute, hour or day, by first letter)."""
        count, _, period = text.partition("/")
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0].lower()]
        return cls(int(count), seconds)


class Busy(Exception):
    """The member's log stayed locked for about two seconds."""


def acquire(scope: str, who: int | str, rate: Rate) -> float | None:
    """Count one use by a member (or an address). None when it is allowed; else the
    seconds until one is."""
    key = f"rate:{scope}:{who}"
    with locked(key):
        now = time.time()
        uses = [used for used in cache.get(key, []) if used >= now - rate.seconds]
        if len(uses) >= rate.count:
            # A use counts for `seconds` inclusive: the wait is never nothing.
            return max(uses[len(uses) - rate.count] + rate.seconds - now, 1.0)
        cache.set(key, [*uses, now], timeout=rate.seconds + 1)
        return None


@contextmanager
def locked(key: str) -> Iterator[None]:
    lock = f"{key}:lock"
    # add() is atomic (SET NX on Redis): whoever adds the key holds the lock. Bounded by
    # tries, not by the clock, which tests freeze.
    for _ in range(LOCK_TRIES):
        if cache.add(lock, 1, timeout=LOCK_SECONDS):
            break
        time.sleep(0.005)
    else:
        raise Busy(key)
    try:
        yield
    finally:
        cache.delete(lock)
