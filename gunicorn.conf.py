"""Gunicorn settings read by `gunicorn cronsvc.wsgi` (it loads ./gunicorn.conf.py)."""

from prometheus_client import multiprocess


def child_exit(server: object, worker: object) -> None:
    # A finished web worker's gauges must not linger in the summed metrics.
    multiprocess.mark_process_dead(worker.pid)
