"""Gunicorn settings read by `gunicorn cronsvc.wsgi` (it loads ./gunicorn.conf.py).

Threaded workers (gthread): a request that waits (on the database, on a slow client) holds
one thread, not a whole process. No web request waits on a member's target (test runs go to
a worker), so the threads are for the database and slow clients. Sizing: README, "Web".
"""

import os

from prometheus_client import multiprocess

worker_class = "gthread"
# Processes: about one per core. Threads per process: requests each can serve at once.
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))


def child_exit(server: object, worker: object) -> None:
    # A finished web worker's gauges must not linger in the summed metrics.
    multiprocess.mark_process_dead(worker.pid)
