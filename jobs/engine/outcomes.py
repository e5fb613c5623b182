"""What finished executions set off, in the transaction that records them: their jobs'
health, a catch-up for a missed slot, chain runs, the end of one-off jobs, and the next
run of an ordering key's queue."""

from datetime import datetime

from jobs.engine import chains, health, one_off, ordering, tick
from jobs.models import Execution


def follow(executions: list[Execution], now: datetime) -> None:
    health.record(executions)
    tick.catch_up([e for e in executions if e.status == Execution.Status.MISSED], now)
    keyed_children = chains.trigger(executions)
    one_off.conclude(executions)
    # Last: a catch-up or a chain run written above may be a key's next run.
    ordering.follow(executions, also=keyed_children)
