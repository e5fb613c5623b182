from django.contrib import admin
from django.urls import include, path

from cronsvc import ops
from jobs import views as job_views

urlpatterns = [
    path("", job_views.home, name="home"),
    path("jobs/", include("jobs.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("jobs.api_urls")),
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("operator/", ops.operator_page, name="operator"),
    path("operator/requeue/", ops.requeue_failed, name="operator_requeue"),
    path("operator/maintenance/", ops.toggle_maintenance, name="operator_maintenance"),
    path("admin/", admin.site.urls),
]
