from django.urls import path

from accounts import project_views as views

urlpatterns = [
    path("new/", views.project_create, name="project_create"),
    path("switch/", views.project_switch, name="project_switch"),
    path("settings/", views.project_settings, name="project_settings"),
    path("signing-secret/", views.signing_secret, name="project_signing_secret"),
    path("invite/", views.project_invite, name="project_invite"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("transfer/", views.project_transfer, name="project_transfer"),
    path("delete/", views.project_delete, name="project_delete"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("audit/", views.audit_log, name="audit_log"),
]
