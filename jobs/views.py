from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import verified_required
from jobs import runs
from jobs.forms import JobForm, PreviewForm
from jobs.models import Job, job_limit_error
from jobs.schedules import ScheduleError, schedule_for

HISTORY_ON_JOB_PAGE = 20


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


def members_jobs(request: HttpRequest) -> QuerySet[Job]:
    # Another member's job is simply not found: 404, never 403.
    return Job.objects.filter(user=request.user)


def get_job(request: HttpRequest, job_id: int) -> Job:
    return get_object_or_404(members_jobs(request), pk=job_id)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    jobs = members_jobs(request).select_related("last_execution")
    return render(request, "jobs/dashboard.html", {"jobs": jobs})


@verified_required
def job_create(request: HttpRequest) -> HttpResponse:
    form = JobForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        job = form.save()
        messages.success(request, f"“{job.title}” is scheduled.")
        return redirect("job_detail", job.id)
    return render(request, "jobs/job_form.html", {"form": form})


@verified_required
def job_edit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    # The form writes each valid value onto its instance even when another field fails;
    # on its own copy, so the page goes on naming the job as it is saved.
    form = JobForm(request.POST or None, instance=get_job(request, job_id), user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"“{saved.title}” is saved.")
        return redirect("job_detail", job.id)
    return render(request, "jobs/job_form.html", {"form": form, "job": job})


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    executions = job.executions.order_by("-scheduled_for")[:HISTORY_ON_JOB_PAGE]
    return render(request, "jobs/job_detail.html", {"job": job, "executions": executions})


@login_required
@require_POST
def job_pause(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    job.set_enabled(False)
    messages.success(request, f"“{job.title}” is paused.")
    return redirect("job_detail", job.id)


@verified_required
@require_POST
def job_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    job.set_enabled(True)
    messages.success(request, f"“{job.title}” is running again.")
    return redirect("job_detail", job.id)


@verified_required
@require_POST
def job_clone(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    if limit := job_limit_error(request.user):
        messages.error(request, limit)
        return redirect("job_detail", job.id)
    copy = Job.objects.get(pk=job.pk)
    copy.pk = None
    copy.title = f"Copy of {job.title}"[:200]
    copy.enabled = False
    copy.next_run_at = None
    copy.last_execution = None
    copy.consecutive_failures = 0
    # A copy has no history: left failing, its first success would send a recovery email.
    copy.failing = False
    copy.save()
    messages.success(request, "Here is the copy, paused. Check it and resume it when ready.")
    return redirect("job_edit", copy.id)


@login_required
def job_delete(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    if request.method == "POST":
        job.delete()
        messages.success(request, f"“{job.title}” and its history are deleted.")
        return redirect("dashboard")
    return render(request, "jobs/job_confirm_delete.html", {"job": job})


@verified_required
@require_POST
def job_run(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id)
    try:
        runs.run_now(job)
    except runs.TooManyRuns as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{job.title}” is running now.")
    return redirect("job_detail", job.id)


@login_required
def schedule_preview(request: HttpRequest) -> HttpResponse:
    """The live preview on the job form: the expression, in words, and the next runs."""
    form = PreviewForm(request.GET)
    context: dict = {}
    if form.is_valid():
        context["expression"] = form.cleaned_data["schedule"]
        try:
            schedule = schedule_for(context["expression"], form.cleaned_data["timezone"])
        except ScheduleError as error:
            context["error"] = str(error)
        else:
            context["description"] = schedule.describe()
            context["runs"] = schedule.next_runs(3, timezone.now())
            context["tz"] = schedule.tz
    else:
        context["error"] = preview_problem(form)
    return render(request, "jobs/partials/schedule_preview.html", context)


def preview_problem(form: PreviewForm) -> str:
    """The first field the preview cannot read, named: "fill in the schedule" would mislead
    a member who typed minute 75."""
    name, errors = next(iter(form.errors.items()))
    return f"{form.fields[name].label}: {errors[0]}"
