"""Pages for what happened: a job's execution history, one execution, the unsubscribe link."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from jobs import history, notify
from jobs.models import Execution
from jobs.views import get_job

SECRET_HEADER_WORDS = ("authorization", "token", "secret", "key", "cookie", "password")


@login_required
def job_history(request: HttpRequest, job_id: int) -> HttpResponse:
    """The executions table alone: the job page polls it to update itself."""
    job = get_job(request, job_id)
    context = history.history_page(
        job, status=request.GET.get("status", ""), page_number=request.GET.get("page")
    )
    return render(request, "jobs/partials/history.html", context)


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
        "request_headers": masked_headers(job.headers),
    }
    return render(request, "jobs/execution_detail.html", context)


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request as sent, without showing values that look like credentials."""
    return {
        name: "••••••" if any(word in name.lower() for word in SECRET_HEADER_WORDS) else value
        for name, value in headers.items()
    }


@csrf_exempt  # mail apps POST here with no session (RFC 8058); the signed token decides
def job_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe link: no log-in needed, the signed token names the job.
    GET asks first (link scanners follow links); POST, also one-click from mail apps, acts."""
    job = notify.job_from_unsubscribe_token(token)
    if job is None:
        return render(request, "jobs/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        notify.unsubscribe(job)
        if request.user == job.user:
            messages.success(request, f"Emails for “{job.title}” are turned off.")
            return redirect("job_detail", job.id)
        return render(request, "jobs/unsubscribe.html", {"job": job, "done": True})
    return render(request, "jobs/unsubscribe.html", {"job": job})
