from django.urls import path

from jobs.web import history_views, status_page_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.job_create, name="job_create"),
    path("bulk/", views.jobs_bulk, name="jobs_bulk"),
    path("export/", views.jobs_export, name="jobs_export"),
    path("import/", views.jobs_import, name="jobs_import"),
    path("preview/", views.schedule_preview, name="schedule_preview"),
    path("<int:job_id>/", views.job_detail, name="job_detail"),
    path("<int:job_id>/edit/", views.job_edit, name="job_edit"),
    path("<int:job_id>/pause/", views.job_pause, name="job_pause"),
    path("<int:job_id>/resume/", views.job_resume, name="job_resume"),
    path("<int:job_id>/resume-queue/", views.job_resume_queue, name="job_resume_queue"),
    path("<int:job_id>/clone/", views.job_clone, name="job_clone"),
    path("<int:job_id>/run/", views.job_run, name="job_run"),
    path("<int:job_id>/delete/", views.job_delete, name="job_delete"),
    path("<int:job_id>/badge/rotate/", status_page_views.job_badge_rotate, name="job_badge_rotate"),
    path("<int:job_id>/history/", history_views.job_history, name="job_history"),
    path("<int:job_id>/charts/", history_views.job_charts, name="job_charts"),
    path("test-run/", views.test_run, name="job_test_run"),
    path("test-runs/<int:test_run_id>/", views.test_run_result, name="test_run_result"),
    path("executions/<int:execution_id>/", history_views.execution_detail, name="execution_detail"),
]
