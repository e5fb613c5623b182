from django.contrib import admin
from django.urls import include, path

from jobs import views as job_views

urlpatterns = [
    path("", job_views.home, name="home"),
    path("jobs/", include("jobs.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("jobs.api_urls")),
    path("admin/", admin.site.urls),
]
