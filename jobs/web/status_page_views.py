"""The members' side of badges and status pages: making and editing status pages, the
project's tag badges, and rotating badge keys. The public side is public_views.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import projects
from accounts.models import Role
from jobs import badges, status_pages
from jobs.models import StatusPage
from jobs.web.forms import StatusPageForm
from jobs.web.views import get_job, web_actor


def get_page(request: HttpRequest, page_id: int, role: str) -> StatusPage:
    """A status page of one of the member's projects (another project's is a 404)."""
    pages = StatusPage.objects.filter(project__memberships__user=request.user)
    page = get_object_or_404(pages.select_related("project"), pk=page_id)
    projects.require_role(projects.membership(request.user, page.project), role)
    return page


@login_required
def status_page_list(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.VIEWER)
    context = {
        "pages": [
            (page, status_pages.public_url(page)) for page in member.project.status_pages.all()
        ],
        "tag_badges": badges.tag_badge_urls(member.project),
        "tag_badge_key": member.project.tag_badge_key,
        "may_change": member.may(Role.MEMBER),
        "may_rotate": member.may(Role.ADMIN),
    }
    return render(request, "status/list.html", context)


@login_required
def status_page_create(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    return edit(request, StatusPage(project=member.project))


@login_required
def status_page_edit(request: HttpRequest, page_id: int) -> HttpResponse:
    return edit(request, get_page(request, page_id, Role.MEMBER))


def edit(request: HttpRequest, page: StatusPage) -> HttpResponse:
    created = page.pk is None
    form = StatusPageForm(request.POST or None, instance=page, project=page.project)
    if request.method == "POST" and form.is_valid():
        status_pages.save(form.instance, form.entries(), by=web_actor(request), created=created)
        messages.success(request, f"Saved “{page.title}”.")
        return redirect("status_page_list")
    return render(request, "status/form.html", {"form": form, "page": page, "created": created})


@login_required
@require_POST
def status_page_delete(request: HttpRequest, page_id: int) -> HttpResponse:
    page = get_page(request, page_id, Role.MEMBER)
    status_pages.delete(page, by=web_actor(request))
    messages.success(request, f"Deleted “{page.title}”; its address answers nothing now.")
    return redirect("status_page_list")


@login_required
@require_POST
def tag_badges_rotate(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.ADMIN)
    badges.rotate_tag_key(member.project, by=web_actor(request))
    messages.success(request, "The tag badges have new addresses; the old ones answer 404.")
    return redirect("status_page_list")


@login_required
@require_POST
def job_badge_rotate(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job(request, job_id, Role.ADMIN)
    badges.rotate_job_key(job, by=web_actor(request))
    messages.success(request, "The badge has a new address; the old one answers 404.")
    return redirect("job_detail", job.id)
