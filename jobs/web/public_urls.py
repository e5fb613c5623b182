from django.urls import path

from jobs.web import public_views

urlpatterns = [
    path("badge/<slug:key>.svg", public_views.job_badge, name="job_badge"),
    path("badge/<slug:key>/<str:tag>.svg", public_views.tag_badge, name="tag_badge"),
    path("status/<slug:slug>/", public_views.status_page, name="status_page"),
]
