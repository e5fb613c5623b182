"""For the people who run cronsvc: /healthz, /metrics and the operator page."""

import hmac
from datetime import timedelta

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


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure means "not reachable" to a health check
        return False
    return True


def broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # any failure means "not reachable" to a health check
        return False
    return True


def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable, and beat alive: 200; otherwise 503 with what is wrong."""
    heartbeats = overview.heartbeats()
    beat = next((h for h in heartbeats if h["process"] == "beat"), None)
    checks = {
        "database": database_ok(),
        "broker": broker_ok(),
        "beat": beat is not None and not beat["stale"],
        "workers": any(h["process"].startswith("worker:") and not h["stale"] for h in heartbeats),
    }
    body = {"ok": all(checks.values()), "checks": checks, "heartbeats": heartbeats}
    return JsonResponse(body, status=200 if body["ok"] else 503)


def bearer_token(request: HttpRequest) -> str:
    # Only the Bearer scheme: a bare token or Basic credentials are not the token.
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    given = bearer_token(request)
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
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
