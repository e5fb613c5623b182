from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import mfa_enabled
from accounts.forms import ApiKeyForm, ProfileForm
from accounts.models import ApiKey


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
        # Jobs, executions and keys go with the member (on_delete=CASCADE). Log out
        # only once that has worked, so a failure leaves the member as they were.
        with transaction.atomic():
            request.user.delete()
        logout(request)
        messages.success(request, "Your account and everything in it have been deleted.")
        return redirect("home")
    return render(request, "accounts/delete_account.html")


# A new key needs a fresh sign-in: a stolen session alone cannot mint lasting access.
@login_required
@reauthentication_required(allow_get=True)
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _, new_key = ApiKey.issue(
            user=request.user,
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
        )
        form = ApiKeyForm()
    keys = request.user.api_keys.all()
    return render(
        request, "accounts/api_keys.html", {"form": form, "keys": keys, "new_key": new_key}
    )


@login_required
@require_POST
def revoke_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(request.user.api_keys.active(), pk=key_id)
    key.revoke()
    messages.success(request, f"The key “{key.name}” has been revoked.")
    return redirect("api_keys")
