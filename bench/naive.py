"""The naive design, for comparison only: one django-celery-beat PeriodicTask per job.

Its own Celery app, started with the stock commands

    celery -A bench.naive beat --loglevel=info -S django_celery_beat.schedulers:DatabaseScheduler
    celery -A bench.naive worker --loglevel=info --pool=threads --concurrency=16

Beat sends `bench.naive_call` for each PeriodicTask when its crontab is due, and a worker
thread makes the request. The broker settings are cronsvc's (same Django settings), so the
two designs differ only in how work is scheduled and sent.
"""

import os
import urllib.request

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronsvc.settings")

app = Celery("naive")
app.config_from_object("django.conf:settings", namespace="CELERY")

TASK = "bench.naive_call"
# No proxies: the bench sends traffic to 127.0.0.1 only, whatever the environment says.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@app.task(name=TASK, ignore_result=True)
def call(url: str) -> int:
    request = urllib.request.Request(
        url, headers={"X-Cronsvc-Execution": call.request.id or "", "User-Agent": "naive"}
    )
    with opener.open(request, timeout=30) as response:
        response.read(64 * 1024)
        return response.status
