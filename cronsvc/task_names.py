"""Celery task names, in one place: the tasks are registered under these, beat's schedules
(setup_schedules) and the settings' routes name them, and senders use them.

They are strings stored in the database (django-celery-beat's PeriodicTask.task), so a
rename needs a data migration; they sit here, not beside the tasks, because the settings'
routes need them and settings import no app.
"""

HEARTBEAT = "cronsvc.heartbeat"
DISPATCH_TICK = "cronsvc.dispatch"
EXECUTE_BATCH = "cronsvc.execute_batch"
RECOVERY_SWEEP = "cronsvc.recover"
PRUNE_HISTORY = "cronsvc.prune"
DELIVER_ALERTS = "cronsvc.notify"
TEST_RUN = "cronsvc.test_run"
