from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import audit, projects
from accounts.forms import ApiKeyForm, DeleteAccountForm, ProfileForm, SignupForm
from accounts.models import ApiKey, Role, User
from accounts.tokens import BadToken, read_verification_token, verification_url
from cronsvc import emails


def send_verification_email(user: User, email: str) -> None:
    emails.send(
        "emails/verify-email",
        to=email,
        context={"user": user, "email": email, "url": verification_url(user, email)},
    )


def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_OPEN:
        raise Http404("Sign-up is closed on this instance.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.create_user(form.cleaned_data["email"], form.cleaned_data["password"])
        send_verification_email(user, user.email)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome! We sent a confirmation link to {user.email}.")
        return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user, email = read_verification_token(token)
    except BadToken as error:
        return render(request, "accounts/verify_failed.html", {"reason": str(error)}, status=400)
    if email == user.email.lower():
        user.mark_verified()
        messages.success(request, "Your email address is confirmed. You can create jobs now.")
    else:
        user.notification_email = email
        user.save(update_fields=["notification_email"])
        messages.success(request, f"Job notifications will go to {email}.")
    return redirect("home")


@login_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified:
        messages.info(request, "Your email address is already confirmed.")
    else:
        send_verification_email(request.user, request.user.email)
        messages.success(request, f"We sent a new confirmation link to {request.user.email}.")
    # `next` comes from the form, so it may point anywhere: only follow it on this site.
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "profile"
    return redirect(next_url)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None, instance=user, initial={"notification_email": user.notification_email}
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        change_notification_email(request, user, form.cleaned_data["notification_email"])
        messages.success(request, "Settings saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


def change_notification_email(request: HttpRequest, user: User, email: str) -> None:
    """An empty address falls back to the sign-in one; a new one is confirmed first."""
    if email.lower() == user.notification_email.lower():
        return
    if not email or email.lower() == user.email.lower():
        user.notification_email = ""
        user.save(update_fields=["notification_email"])
        return
    send_verification_email(user, email)
    messages.info(request, f"Follow the link we sent to {email} to start using it.")


@login_required
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "Your password has been changed.")
        return redirect("profile")
    return render(request, "accounts/change_password.html", {"form": form})


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The projects they own go with the member, jobs and all; in others' projects
        # their jobs stay. Log out only once that has worked, so a failure leaves the
        # member as they were.
        with transaction.atomic():
            request.user.delete()
        logout(request)
        messages.success(request, "Your account and everything in it have been deleted.")
        return redirect("home")
    return render(request, "accounts/delete_account.html", {"form": form})


@login_required
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
