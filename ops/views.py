"""For the people who run cronsvc: /healthz, /metrics and the operator page."""

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cronsvc.celery import app as celery_app
from ops import maintenance, metrics, overview
from ops.models import open_circuits


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure means "not reachable" to a health check
        return False
    return True


def broker_answers() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # any failure means "not reachable" to a health check
        return False
    return True


class RememberedCheck:
    """A check's result, remembered in this process for a few seconds: load balancers
    polling /healthz every second (any number of them, or anyone at all) then cost the
    broker one connection per web process every few seconds, not one per call."""

    def __init__(self, check: Callable[[], bool], *, seconds: float) -> None:
        self.check = check
        self.remembered_for = timedelta(seconds=seconds)
        self.result: tuple[datetime, bool] | None = None

    def __call__(self) -> bool:
        now = timezone.now()
        if self.result is not None:
            checked_at, ok = self.result
            if timedelta(0) <= now - checked_at < self.remembered_for:
                return ok
        ok = self.check()
        self.result = (now, ok)
        return ok

    def forget(self) -> None:
        self.result = None


broker_ok = RememberedCheck(broker_answers, seconds=5)


def healthz(request: HttpRequest) -> HttpResponse:
    """Database and broker reachable, beat and a worker alive: 200 "ok", else 503 "fail",
    to anyone. What failed, and the processes' names and hosts, only to the holder of
    the metrics token or staff."""
    heartbeats = overview.heartbeats()
    beat = next((h for h in heartbeats if h["process"] == "beat"), None)
    checks = {
        "database": database_ok(),
        "broker": broker_ok(),
        "beat": beat is not None and not beat["stale"],
        "workers": any(h["process"].startswith("worker:") and not h["stale"] for h in heartbeats),
    }
    ok = all(checks.values())
    status = 200 if ok else 503
    if not (has_metrics_token(request) or request.user.is_staff):
        return HttpResponse("ok" if ok else "fail", status=status, content_type="text/plain")
    return JsonResponse({"ok": ok, "checks": checks, "heartbeats": heartbeats}, status=status)


def has_metrics_token(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    # Only the Bearer scheme: a bare token or Basic credentials are not the token.
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else ""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not has_metrics_token(request):
        refused = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401)
        refused["WWW-Authenticate"] = "Bearer"
        return refused
    return HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)


@staff_member_required
def operator_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "hour": overview.state_counts(since=now - timedelta(hours=1)),
        "day": overview.state_counts(since=now - timedelta(days=1)),
        "lateness": overview.lateness_and_throughput(since=now - timedelta(hours=1)),
        "stale_jobs": overview.stale_jobs(now),
        "recent_errors": overview.recent_errors(),
        "heartbeats": overview.heartbeats(),
        "open_circuits": open_circuits(now),
        "now": now,
        "dispatch_paused": maintenance.dispatch_paused(),
        "requeueable": overview.requeueable().count(),
    }
    return render(request, "ops/operator.html", context)


@staff_member_required
@require_POST
def requeue_failed(request: HttpRequest) -> HttpResponse:
    count = overview.requeue_failed()
    messages.success(request, f"{count} execution(s) sent to the workers again.")
    return redirect("operator")


@staff_member_required
@require_POST
def toggle_maintenance(request: HttpRequest) -> HttpResponse:
    paused = request.POST.get("paused") == "on"
    if not maintenance.set_dispatch_paused(paused):
        # Saying "paused" here would be a lie: there is no tick to stop.
        messages.error(
            request,
            f'There is no "{maintenance.DISPATCH_TASK_NAME}" periodic task to switch. '
            "Run `python manage.py setup_schedules` first.",
        )
    elif paused:
        messages.warning(
            request, "Dispatching is paused. Slots that fall due are caught up when it resumes."
        )
    else:
        messages.success(request, "Dispatching is running again.")
    return redirect("operator")
