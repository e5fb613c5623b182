"""Pages for what happened: a job's execution history, one execution, the unsubscribe link."""

from datetime import timedelta
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from alerts import delivery
from jobs.models import Execution
from jobs.web import history
from jobs.web.views import get_job, history_context

# Names of headers and query parameters whose values are hidden on the execution page.
SECRET_WORDS = ("auth", "token", "secret", "key", "cookie", "session", "passw", "signature")
MASK = "••••••"
# Each one counted from the start of the request (jobs/http.py timing_trace).
TIMING_LABELS = {"dns_ms": "DNS resolved", "connect_ms": "Connected", "first_byte_ms": "First byte"}


@login_required
def job_history(request: HttpRequest, job_id: int) -> HttpResponse:
    """The executions table alone: the job page polls it to update itself."""
    return render(request, "jobs/partials/history.html", history_context(request, job_id))


@login_required
def job_charts(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    now = timezone.now()
    context = {
        "job": job,
        "day": history.chart_data(job, since=now - timedelta(hours=24), bucket="hour"),
        "week": history.chart_data(job, since=now - timedelta(days=7), bucket="day"),
    }
    return render(request, "jobs/partials/charts.html", context)


@login_required
def execution_detail(request: HttpRequest, execution_id: int) -> HttpResponse:
    execution = get_object_or_404(
        Execution.objects.select_related("job"), pk=execution_id, job__user=request.user
    )
    job = execution.job
    context = {
        "execution": execution,
        "job": job,
        "request_url": masked_url(job.url),
        "request_headers": masked_headers(job.headers) | dict.fromkeys(job.secret_headers, MASK),
        "timings": [(TIMING_LABELS.get(name, name), ms) for name, ms in execution.timings.items()],
    }
    return render(request, "jobs/execution_detail.html", context)


def looks_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request as sent, without showing values that look like credentials."""
    return {name: MASK if looks_secret(name) else value for name, value in headers.items()}


def masked_url(url: str) -> str:
    """The URL without the password in user:password@ or secret-looking query values;
    the rest as written."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MASK}@{netloc.rpartition('@')[2]}"
    pairs = [pair.partition("=") for pair in parts.query.split("&")]
    query = "&".join(
        f"{name}={MASK}" if equals and looks_secret(unquote_plus(name)) else name + equals + value
        for name, equals, value in pairs
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@csrf_exempt  # mail apps POST here with no session (RFC 8058); the signed token decides
def job_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe link: no log-in needed, the signed token names the job.
    GET asks first (link scanners follow links); POST, also one-click from mail apps, acts."""
    job = delivery.job_from_unsubscribe_token(token)
    if job is None:
        return render(request, "jobs/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        delivery.unsubscribe(job)
        if request.user == job.user:
            messages.success(request, f"Emails for “{job.title}” are turned off.")
            return redirect("job_detail", job.id)
        return render(request, "jobs/unsubscribe.html", {"job": job, "done": True})
    return render(request, "jobs/unsubscribe.html", {"job": job})
