from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        # Registers the `__any` lookup (jobs/engine/rows.py) before any query uses it.
        from jobs.engine import rows  # noqa: F401
