from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from alerts.api import ChannelViewSet, MaintenanceWindowViewSet
from jobs.api.views import (
    AuditViewSet,
    ExecutionViewSet,
    JobViewSet,
    OrderingKeyViewSet,
    SigningSecretView,
    StatusPageViewSet,
    TagBadgeViewSet,
    TestRunViewSet,
)

router = DefaultRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("ordering-keys", OrderingKeyViewSet, basename="ordering-key")
router.register("test-runs", TestRunViewSet, basename="test-run")
router.register("audit", AuditViewSet, basename="audit")
router.register("channels", ChannelViewSet, basename="channel")
router.register("status-pages", StatusPageViewSet, basename="status-page")
router.register("tag-badges", TagBadgeViewSet, basename="tag-badges")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Its start-up script comes from the same URL (?script), not inline: the
    # Content-Security-Policy runs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("signing-secret/", SigningSecretView.as_view(), name="api-signing-secret"),
    path("", include(router.urls)),
]
