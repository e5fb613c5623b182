from django.urls import path

from alerts import views

urlpatterns = [
    # Under jobs/: the links in every email sent so far point here.
    path("jobs/unsubscribe/<str:token>/", views.job_unsubscribe, name="job_unsubscribe"),
    path("channels/", views.channels, name="channels"),
    path("channels/<int:channel_id>/test/", views.channel_test, name="channel_test"),
    path("channels/<int:channel_id>/delete/", views.channel_delete, name="channel_delete"),
    path(
        "channels/maintenance-windows/",
        views.maintenance_window_add,
        name="maintenance_window_add",
    ),
    path(
        "channels/maintenance-windows/<int:window_id>/delete/",
        views.maintenance_window_delete,
        name="maintenance_window_delete",
    ),
    path("channels/confirm/<str:token>/", views.channel_confirm, name="channel_confirm"),
]
