from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import audit, mfa_enabled, projects
from accounts.forms import ApiKeyForm, ProfileForm
from accounts.models import ApiKey, Role


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("profile")
    context = {"form": form, "mfa_enabled": mfa_enabled(request.user)}
    return render(request, "accounts/profile.html", context)


# Viewing the page needs no fresh sign-in; deleting does (a password, a code or a key).
@login_required
@reauthentication_required(allow_get=True)
def delete_account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # The projects they own go with the member, jobs and all; in others' projects
        # their jobs stay. Log out only once that has worked, so a failure leaves the
        # member as they were.
        with transaction.atomic():
            request.user.delete()
        logout(request)
        messages.success(request, "Your account and everything in it have been deleted.")
        return redirect("home")
    return render(request, "accounts/delete_account.html")


# A new key needs a fresh sign-in: a stolen session alone cannot mint lasting access.
# The page showing it is kept by no cache, nor by the browser's history.
@never_cache
@login_required
@reauthentication_required(allow_get=True)
def api_keys(request: HttpRequest) -> HttpResponse:
    """The current project's keys; an admin or the owner makes and revokes them."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.ADMIN)
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        key, new_key = ApiKey.issue(
            user=request.user,
            project=member.project,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
        )
        audit.record(member.project, web_actor(request), "key.created", key, {"scope": key.scope})
        form = ApiKeyForm()
    keys = member.project.api_keys.select_related("user")
    context = {"form": form, "keys": keys, "new_key": new_key, "project": member.project}
    return render(request, "accounts/api_keys.html", context)


@login_required
@require_POST
def revoke_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.ADMIN)
    key = get_object_or_404(member.project.api_keys.active(), pk=key_id)
    key.revoke()
    audit.record(member.project, web_actor(request), "key.revoked", key)
    messages.success(request, f"The key “{key.name}” has been revoked.")
    return redirect("api_keys")


def web_actor(request: HttpRequest) -> audit.Actor:
    return audit.Actor(user=request.user, via=audit.Via.WEB)
