"""The pages anyone may open, without signing in: badges and published status pages. Their
URLs hold an unguessable key or slug; they show states and public names, never a URL, a
host, a header or a key."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from accounts.models import Project
from jobs import badges, status_pages
from jobs.models import Job, StatusPage

# Short: a rotated key or an unpublished page is gone from caches within a minute.
PUBLIC_MAX_AGE = 60


def public(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    return response


def badge_response(label: str, state: str) -> HttpResponse:
    return public(HttpResponse(badges.svg(label, state), content_type="image/svg+xml"))


@require_safe
def job_badge(request: HttpRequest, key: str) -> HttpResponse:
    job = get_object_or_404(Job.objects.only("title", "failing", "enabled"), badge_key=key)
    return badge_response(job.title, job.state)


@require_safe
def tag_badge(request: HttpRequest, key: str, tag: str) -> HttpResponse:
    project = get_object_or_404(Project, tag_badge_key=key)
    state = badges.tag_state(project, tag)
    if state is None:
        raise Http404("No job has this tag.")
    return badge_response(tag.lower(), state)


@require_safe
def status_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = get_object_or_404(StatusPage, slug=slug, published=True)
    counted_at, rows = status_pages.snapshot(page, timezone.now())
    context = {"page": page, "rows": rows, "counted_at": counted_at, "days": status_pages.DAYS}
    return public(render(request, "status/page.html", context))
