import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronsvc.settings")

# redis:// brokers use kombu's Redis transport with the fix in cronsvc/broker.py.
TRANSPORT_ALIASES["redis"] = "cronsvc.broker:Transport"

app = Celery("cronsvc")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The apps' task modules (jobs' are in its engine package).
app.autodiscover_tasks(["jobs.engine", "alerts", "ops"])
