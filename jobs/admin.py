from django.contrib import admin

from jobs.models import Execution, HealthChange, Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "schedule", "timezone", "enabled", "failing", "next_run_at"]
    list_filter = ["enabled", "failing", "method"]
    search_fields = ["title", "url", "user__email"]
    raw_id_fields = ["user", "last_execution"]
    # Credentials (the basic-auth password, secret header values) stay encrypted and out
    # of sight, even for staff: every *_encrypted field, including any added later.
    exclude = [field.name for field in Job._meta.fields if field.name.endswith("_encrypted")]
    readonly_fields = ["next_run_at", "consecutive_failures", "failing", "created_at", "updated_at"]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = [
        "job",
        "scheduled_for",
        "trigger",
        "status",
        "failure_reason",
        "http_status",
        "lateness_ms",
    ]
    list_filter = ["status", "trigger", "failure_reason"]
    raw_id_fields = ["job"]
    date_hierarchy = "scheduled_for"

    def has_change_permission(self, request: object, obj: Execution | None = None) -> bool:
        return False


@admin.register(HealthChange)
class HealthChangeAdmin(admin.ModelAdmin):
    list_display = ["job", "kind", "created_at", "failures_in_a_row"]
    list_filter = ["kind"]
    raw_id_fields = ["job", "execution"]
