from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import projects
from accounts.models import Project


def project(request: HttpRequest) -> dict:
    """The project a signed-in member works in, and the others they could switch to: looked
    up only by a page that shows them (a partial that htmx polls does not)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}

    def current() -> Project:
        return projects.current_membership(request).project

    def others() -> list[Project]:
        return list(request.user.projects.exclude(id=current().id))

    return {
        "current_project": SimpleLazyObject(current),
        "other_projects": SimpleLazyObject(others),
    }
