"""Pages for what happened: a job's execution history, its charts, one execution."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from jobs.masking import shown_job_request
from jobs.models import Execution
from jobs.web import history
from jobs.web.views import get_job, history_context

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
        Execution.objects.select_related("job"),
        pk=execution_id,
        job__project__memberships__user=request.user,
    )
    job = execution.job
    context = {
        "execution": execution,
        "job": job,
        "request": shown_job_request(job),
        "timings": [(TIMING_LABELS.get(name, name), ms) for name, ms in execution.timings.items()],
    }
    return render(request, "jobs/execution_detail.html", context)
