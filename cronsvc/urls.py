from django.contrib import admin
from django.urls import include, path

from jobs.web import views as job_views
from ops import views

urlpatterns = [
    path("", job_views.home, name="home"),
    path("jobs/", include("jobs.web.urls")),
    path("status-pages/", include("jobs.web.status_page_urls")),
    # Public: badges and published status pages (no sign-in; the key or slug is the secret).
    path("", include("jobs.web.public_urls")),
    path("", include("alerts.urls")),
    path("accounts/", include("accounts.urls")),
    path("projects/", include("accounts.project_urls")),
    path("api/v1/", include("jobs.api.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("operator/", views.operator_page, name="operator"),
    path("operator/requeue/", views.requeue_failed, name="operator_requeue"),
    path("operator/maintenance/", views.toggle_maintenance, name="operator_maintenance"),
    path("admin/", admin.site.urls),
]
