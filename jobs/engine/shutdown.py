"""How an executions worker stops: SIGTERM (docker-compose stop, a rolling restart,
Ctrl-C under `make run`) starts Celery's warm shutdown, and this is what becomes of the
batches the worker holds. Celery does the work; the settings it relies on are acks late
and the threads pool (cronsvc/settings.py, the Procfile).

- It takes no new batch: Celery cancels its consumer first.
- A batch it started is finished here: its executions are claimed (running, stamped with
  this worker). Requests in flight get their answer, up to the job's timeout; a batch
  claimed for a second still to come waits for it and is sent on time. Every result is
  recorded, then the message acknowledged, then the process exits. Its heartbeat goes on
  until then, so the recovery sweep never takes these runs for lost.

  Sent rather than handed back: a claimed batch is at most the dispatch horizon (15 s)
  ahead. Releasing its claim would need another worker to receive, claim and load it
  within those seconds, or it goes out late; and it would race this worker's own send.
  Sending it costs a stop of up to the horizon, the longest timeout and the writing of
  the results, about a minute: the grace period given before SIGKILL is longer
  (docker-compose.yml's stop_grace_period, scripts/procfile.py).
- A batch taken but not started (prefetched, waiting for a thread) was not claimed: its
  executions are still pending. The threads pool cancels it; its message, never
  acknowledged, goes back to the queue when the worker closes its broker connection
  (kombu restores unacknowledged messages), and another worker runs it once. Nothing of
  it is recorded, so nothing is counted lost.
- Killed before it is done (the grace period ran out): as for any worker that dies, the
  recovery sweep finishes its runs, those whose second had not come as missed (with a
  catch-up), those in flight as worker_lost (jobs/engine/recovery.py).
"""

import structlog
from celery.worker import state

log = structlog.get_logger(__name__)


def announce(hostname: str, how: str) -> None:
    """Say, as the stop begins, how many batches the worker finishes and hands back."""
    started = set(state.active_requests)
    log.info(
        "worker.stopping",
        worker=hostname,
        how=how,
        finishing=len(started),
        handing_back=len(set(state.reserved_requests) - started),
    )
