from django.urls import path

from alerts import views

urlpatterns = [
    # Under jobs/: the links in every email sent so far point here.
    path("jobs/unsubscribe/<str:token>/", views.job_unsubscribe, name="job_unsubscribe"),
]
