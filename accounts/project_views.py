"""Pages for projects: make one, switch between them, members and their roles,
invitations, ownership, the signing secret, and the audit log."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from accounts import audit, projects
from accounts.models import Membership, Role

AUDIT_PAGE_SIZE = 50


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100)


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r != Role.OWNER])


class SettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    require_2fa = forms.BooleanField(
        label="Require two-factor sign-in of every member", required=False
    )


def actor(request: HttpRequest) -> audit.Actor:
    return audit.Actor(user=request.user, via=audit.Via.WEB)


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = projects.create_project(request.user, name=form.cleaned_data["name"])
        projects.switch(request, project.id)
        messages.success(request, f"“{project.name}” is yours. Add jobs, or invite people.")
        return redirect("dashboard")
    return render(request, "projects/project_form.html", {"form": form})


@login_required
@require_POST
def project_switch(request: HttpRequest) -> HttpResponse:
    project_id = request.POST.get("project", "")
    project = projects.switch(request, int(project_id) if project_id.isdigit() else 0)
    messages.info(request, f"You are working in “{project.name}”.")
    return redirect("dashboard")


@login_required
def project_settings(request: HttpRequest) -> HttpResponse:
    """The current project: its name, members, roles and invitations."""
    member = projects.current_membership(request)
    project = member.project
    form = SettingsForm(
        request.POST or None, initial={"name": project.name, "require_2fa": project.require_2fa}
    )
    if request.method == "POST":
        projects.require_role(member, Role.OWNER)
        if form.is_valid():
            projects.update_settings(project, **form.cleaned_data, by=actor(request))
            messages.success(request, "Saved.")
            return redirect("project_settings")
    return settings_page(request, member, form)


def settings_page(
    request: HttpRequest, member: Membership, form: SettingsForm, *, new_secret: str = ""
) -> HttpResponse:
    project = member.project
    context = {
        "project": project,
        "member": member,
        "can_admin": member.may(Role.ADMIN),
        "form": form,
        "invite_form": InviteForm(),
        "memberships": project.memberships.select_related("user"),
        "invitations": project.invitations.filter(accepted_at=None),
        "roles": [r for r in Role if r != Role.OWNER],
        "new_secret": new_secret,
    }
    return render(request, "projects/settings.html", context)


@login_required
@require_POST
def signing_secret(request: HttpRequest) -> HttpResponse:
    """Create or rotate the signing secret and show it, this once."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.ADMIN)
    secret = projects.new_signing_secret(member.project, by=actor(request))
    form = SettingsForm(
        initial={"name": member.project.name, "require_2fa": member.project.require_2fa}
    )
    response = settings_page(request, member, form, new_secret=secret)
    # The page holds the secret: no cache may keep a copy.
    patch_cache_control(response, no_store=True)
    return response


@login_required
@require_POST
def project_invite(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.ADMIN)
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("project_settings")
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    try:
        projects.invite(member.project, email=email, role=role, by=actor(request))
    except projects.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"We sent an invitation to {email}.")
    return redirect("project_settings")


def other_member(request: HttpRequest, membership_id: int, role: str) -> Membership:
    """A membership of the current project, if the member acting has `role`."""
    member = projects.current_membership(request)
    projects.require_role(member, role)
    return get_object_or_404(member.project.memberships.select_related("user"), pk=membership_id)


@login_required
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = other_member(request, membership_id, Role.ADMIN)
    try:
        projects.change_role(target, request.POST.get("role", ""), by=actor(request))
    except projects.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{target.user.email} is now {target.get_role_display()}.")
    return redirect("project_settings")


@login_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """An admin removes someone; any member may leave (remove themselves)."""
    member = projects.current_membership(request)
    leaving = member.id == membership_id
    target = member if leaving else other_member(request, membership_id, Role.ADMIN)
    try:
        projects.remove(target, by=actor(request))
    except projects.NotAllowed as error:
        messages.error(request, str(error))
        return redirect("project_settings")
    if leaving:
        request.session.pop(projects.CURRENT, None)
        messages.success(request, f"You left “{target.project}”.")
        return redirect("dashboard")
    messages.success(request, f"{target.user.email} is no longer a member.")
    return redirect("project_settings")


@login_required
@require_POST
def project_transfer(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.OWNER)
    new_owner = request.POST.get("membership", "")
    target = get_object_or_404(
        member.project.memberships.exclude(pk=member.pk),
        pk=int(new_owner) if new_owner.isdigit() else 0,
    )
    try:
        projects.transfer_ownership(member.project, target, by=actor(request))
    except projects.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{target.user.email} owns “{member.project}” now.")
    return redirect("project_settings")


@login_required
def project_delete(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.OWNER)
    project = member.project
    if project.personal:
        messages.error(request, "Your personal project goes only with your account.")
        return redirect("project_settings")
    if request.method == "POST":
        project.delete()
        request.session.pop(projects.CURRENT, None)
        messages.success(request, f"“{project.name}”, its jobs and their history are deleted.")
        return redirect("dashboard")
    return render(request, "projects/confirm_delete.html", {"project": project})


@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation email: see what it is for, then accept it (a POST)."""
    found = projects.invitation_for(token)
    if found is None:
        return render(request, "projects/invitation.html", {"invalid": True}, status=404)
    if request.method == "POST":
        try:
            joined = projects.accept(found, request.user)
        except projects.NotAllowed as error:
            messages.error(request, str(error))
        else:
            projects.switch(request, joined.project_id)
            messages.success(request, f"Welcome to “{joined.project}”.")
            return redirect("dashboard")
    return render(request, "projects/invitation.html", {"invitation": found})


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.VIEWER)
    entries = member.project.audit_entries.all()
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "projects/audit.html", {"project": member.project, "page": page})
