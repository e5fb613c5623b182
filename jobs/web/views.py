from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import audit, projects
from accounts.models import Project, Role
from cronsvc import crypto
from jobs import auditing, badges, bulk, masking, transfer
from jobs.engine import health, ordering, run_now, test_runs
from jobs.models import Job, JobLimitReached, JobQuerySet, TestRun, room_for_a_job
from jobs.schedules import ScheduleError, schedule_for
from jobs.web import history
from jobs.web.forms import BulkForm, ImportForm, JobForm, PreviewForm

SUCCESS_RATE_WINDOW = timedelta(days=7)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


def get_job(request: HttpRequest, job_id: int, role: str = Role.VIEWER) -> Job:
    """A job of one of the member's projects, if their role there allows `role`.
    Another project's job is simply not found: 404, never 403."""
    jobs = Job.objects.filter(project__memberships__user=request.user).select_related("project")
    job = get_object_or_404(jobs, pk=job_id)
    projects.require_role(projects.membership(request.user, job.project), role)
    return job


def web_actor(request: HttpRequest) -> audit.Actor:
    return audit.Actor(user=request.user, via=audit.Via.WEB)


def matching(project: Project, *, tag: str, search: str) -> JobQuerySet:
    """The project's jobs the dashboard's filter shows (and "all matching" acts on)."""
    jobs = project.jobs.all()
    if tag:
        jobs = jobs.tagged(tag)
    if search and "\x00" not in search:
        jobs = jobs.search(search)
    return jobs


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.VIEWER)
    # The filter lives in the URL, so a filtered list can be bookmarked and shared.
    tag, search = request.GET.get("tag", "").strip(), request.GET.get("q", "").strip()
    jobs = list(matching(member.project, tag=tag, search=search).select_related("last_execution"))
    strips = history.recent_outcomes(jobs)
    rates = history.success_rates(jobs, since=timezone.now() - SUCCESS_RATE_WINDOW)
    rows = [(job, strips[job.id], rates[job.id]) for job in jobs]
    context = {
        "jobs": jobs,
        "rows": rows,
        "tag": tag,
        "search": search,
        "filtered": bool(tag or search),
        "actions": bulk.ACTIONS,
        "may_change": member.may(Role.MEMBER),
    }
    return render(request, "jobs/dashboard.html", context)


@login_required
@require_POST
def jobs_bulk(request: HttpRequest) -> HttpResponse:
    """The dashboard's selection (or all jobs its filter matches): one action, a result per
    job. Deleting asks first, on a page that posts the chosen ids back with `confirmed`."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    form = BulkForm(request.POST)
    back = request.POST.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None) or not back:
        back = reverse("dashboard")
    if not form.is_valid():
        messages.error(request, " ".join(form.problems()))
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    if form.cleaned_data["all_matching"]:
        filtered = matching(
            member.project,
            tag=form.cleaned_data["filter_tag"].strip(),
            search=form.cleaned_data["filter_q"].strip(),
        )
        ids = list(filtered.order_by("pk").values_list("pk", flat=True))
        if not ids:
            messages.error(request, "No jobs match this filter.")
            return redirect(back)
    if action == "delete" and not form.cleaned_data["confirmed"]:
        jobs = member.project.jobs.filter(pk__in=ids)
        context = {"jobs": jobs, "ids": ids, "back": back}
        return render(request, "jobs/bulk_confirm_delete.html", context)
    outcome = bulk.apply(
        member.project,
        action=action,
        ids=ids,
        tag=form.cleaned_data["tag"],
        actor=web_actor(request),
    )
    done = "started" if action == "run" else "changed"
    messages.success(
        request, f"{bulk.ACTIONS[action]}: {outcome.changed} of {outcome.selected} jobs {done}."
    )
    for problem in bulk_problems(outcome):
        messages.error(request, problem)
    return redirect(back)


def bulk_problems(outcome: bulk.Outcome) -> list[str]:
    """One message per reason, naming the jobs it held back (a run limit can hold back
    dozens of runs, with one reason)."""
    held: dict[str, list[str]] = {}
    for result in outcome.failed:
        held.setdefault(result.error, []).append(
            f"“{result.title}”" if result.title else f"job {result.id}"
        )
    return [f"Not done for {', '.join(names)}: {error}" for error, names in held.items()]


@login_required
def jobs_export(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.VIEWER)
    response = JsonResponse(transfer.export(member.project), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="cronsvc-jobs.json"'
    return response


@login_required
def jobs_import(request: HttpRequest) -> HttpResponse:
    """Upload or paste an export, crontab lines or a cURL command: Preview shows the jobs
    it would make, Import makes them all or none."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form}
    if request.method == "POST" and form.is_valid():
        dry_run = "preview" in request.POST
        try:
            made = transfer.import_jobs(
                member.project,
                form.cleaned_data["source"],
                member=request.user,
                actor=web_actor(request),
                dry_run=dry_run,
            )
        except transfer.ImportFailed as error:
            context["problems"] = import_problems(error.errors)
        else:
            if not dry_run:
                messages.success(request, f"{len(made)} jobs imported.")
                return redirect("dashboard")
            context["preview"] = [(each, masking.masked_url(each.job.url)) for each in made]
            context["confirm"] = ImportForm(
                initial={
                    "format": form.cleaned_data["format"],
                    "schedule": form.cleaned_data["schedule"],
                    "pending": crypto.encrypt(form.cleaned_data["text"]),
                }
            )
            context["form"] = ImportForm(initial={"format": form.cleaned_data["format"]})
    return render(request, "jobs/import.html", context)


def import_problems(errors: dict) -> list[str]:
    """ "Job 3, url: …" and "Line 7: …" lines for the page, from ImportFailed's errors."""
    if isinstance(errors.get("jobs"), list):
        return errors["jobs"]
    group = "lines" if "lines" in errors else "jobs"
    return [
        f"{place(group, where)}{'' if field in WHOLE_ENTRY else f', {field}'}: {message}"
        for where, fields in errors[group].items()
        for field, problems in fields.items()
        for message in problems
    ]


# Problems with the whole line or job, not one of its fields.
WHOLE_ENTRY = {"line", "non_field_errors"}


def place(group: str, where: str) -> str:
    return f"Line {where}" if group == "lines" else f"Job {int(where) + 1}"


@login_required
def job_create(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    form = JobForm(request.POST or None, user=request.user, project=member.project)
    if request.method == "POST" and form.is_valid():
        try:
            with room_for_a_job(member.project, request.user):
                job = form.save()
                auditing.created(job, web_actor(request))
        except JobLimitReached as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"“{job.title}” is scheduled.")
            return redirect("job_detail", job.id)
    return render(request, "jobs/job_form.html", {"form": form})


@login_required
def job_edit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.MEMBER)
    was = auditing.before(job)
    # The form writes each valid value onto its instance even when another field fails;
    # on its own copy, so the page goes on naming the job as it is saved.
    copy = Job.objects.get(pk=job.pk)
    form = JobForm(request.POST or None, instance=copy, user=request.user, project=job.project)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        auditing.updated(saved, web_actor(request), was)
        messages.success(request, f"“{saved.title}” is saved.")
        if form.credentials_note:
            messages.warning(request, form.credentials_note)
        return redirect("job_detail", job.id)
    return render(request, "jobs/job_form.html", {"form": form, "job": job})


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    context = history_context(request, job_id)
    job = context["job"]
    context["badge_url"] = badges.job_badge_url(job)
    queues = ordering.queues(job.project, job.ordering_key) if job.ordering_key else []
    return render(request, "jobs/job_detail.html", {**context, "queue": next(iter(queues), None)})


def history_context(request: HttpRequest, job_id: int) -> dict:
    """The member's job and the page of its history the query string asks for."""
    job = get_job(request, job_id)
    return history.history_page(
        job, status=request.GET.get("status", ""), page_number=request.GET.get("page")
    )


@login_required
@require_POST
def job_pause(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.MEMBER)
    set_enabled(request, job, False)
    messages.success(request, f"“{job.title}” is paused.")
    return redirect("job_detail", job.id)


@login_required
@require_POST
def job_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.MEMBER)
    set_enabled(request, job, True)
    messages.success(request, f"“{job.title}” is running again.")
    return redirect("job_detail", job.id)


@login_required
@require_POST
def job_resume_queue(request: HttpRequest, job_id: int) -> HttpResponse:
    """Resume the stopped queue of the job's ordering key."""
    job = get_job(request, job_id, Role.MEMBER)
    if job.ordering_key and (key := ordering.resume(job.project, job.ordering_key)):
        auditing.queue_resumed(key, web_actor(request))
        messages.success(request, f"The queue “{job.ordering_key}” is running again.")
    return redirect("job_detail", job.id)


def set_enabled(request: HttpRequest, job: Job, enabled: bool) -> None:
    was = auditing.before(job)
    health.set_enabled(job, enabled)
    auditing.updated(job, web_actor(request), was)


@login_required
@require_POST
def job_clone(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.MEMBER)
    copy = Job.objects.get(pk=job.pk)
    copy.pk = None
    copy.title = f"Copy of {job.title}"[:200]
    copy.enabled = False
    copy.next_run_at = None
    copy.user = request.user
    health.reset(copy)
    try:
        with room_for_a_job(job.project, request.user):
            copy.save()
            copy.channels.set(job.channels.all())
            auditing.created(copy, web_actor(request))
    except JobLimitReached as error:
        messages.error(request, str(error))
        return redirect("job_detail", job.id)
    messages.success(request, "Here is the copy, paused. Check it and resume it when ready.")
    return redirect("job_edit", copy.id)


@login_required
def job_delete(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.MEMBER)
    if request.method == "POST":
        auditing.deleted(job, web_actor(request))
        job.delete()
        messages.success(request, f"“{job.title}” and its history are deleted.")
        return redirect("dashboard")
    return render(request, "jobs/job_confirm_delete.html", {"job": job})


@login_required
@require_POST
def job_run(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.MEMBER)
    try:
        run_now.run_now(job, by=request.user)
    except run_now.TooManyRuns as error:
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


@login_required
@require_POST
def test_run(request: HttpRequest) -> HttpResponse:
    """Send the form's current, unsaved settings once, by a worker: the answer is a partial
    that polls for the result (nothing is added to the job's history)."""
    job = None
    member = projects.current_membership(request)
    if job_id := request.POST.get("job_id", ""):
        if not job_id.isdigit():
            raise Http404
        job = get_job(request, int(job_id), Role.MEMBER)
    else:
        projects.require_role(member, Role.MEMBER)
    project = job.project if job else member.project
    form = JobForm(request.POST, instance=job, user=request.user, project=project)
    context: dict = {"form": form}
    if form.is_valid():
        try:
            context["test_run"] = test_runs.start(form.save(commit=False), by=request.user)
        except test_runs.TooManyTestRuns as error:
            context["error"] = str(error)
    return render(request, "jobs/partials/test_run.html", context)


@login_required
def test_run_result(request: HttpRequest, test_run_id: int) -> HttpResponse:
    """The test run's partial: polling while it waits for its worker, the result once done.
    Another project's test run is not found."""
    runs = TestRun.objects.filter(project__memberships__user=request.user)
    test_run = get_object_or_404(runs, pk=test_run_id)
    return render(request, "jobs/partials/test_run.html", {"test_run": test_run})
