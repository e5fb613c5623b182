from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.job_create, name="job_create"),
    path("preview/", views.schedule_preview, name="schedule_preview"),
    path("<int:job_id>/", views.job_detail, name="job_detail"),
    path("<int:job_id>/edit/", views.job_edit, name="job_edit"),
    path("<int:job_id>/pause/", views.job_pause, name="job_pause"),
    path("<int:job_id>/resume/", views.job_resume, name="job_resume"),
    path("<int:job_id>/clone/", views.job_clone, name="job_clone"),
    path("<int:job_id>/run/", views.job_run, name="job_run"),
    path("<int:job_id>/delete/", views.job_delete, name="job_delete"),
]
