import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronsvc.settings")

app = Celery("cronsvc")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The apps' task modules (jobs' are in its engine package).
app.autodiscover_tasks(["jobs.engine", "alerts", "ops"])
