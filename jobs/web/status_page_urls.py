from django.urls import path

from jobs.web import status_page_views as views

urlpatterns = [
    path("", views.status_page_list, name="status_page_list"),
    path("new/", views.status_page_create, name="status_page_create"),
    path("<int:page_id>/", views.status_page_edit, name="status_page_edit"),
    path("<int:page_id>/delete/", views.status_page_delete, name="status_page_delete"),
    path("tag-badges/rotate/", views.tag_badges_rotate, name="tag_badges_rotate"),
]
