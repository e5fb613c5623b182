"""Projects and their members: who may do what where, and the changes owners and admins
make (invitations, roles, ownership, the signing secret). Each change is written to the
audit log."""

import base64
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts import audit, mfa_enabled
from accounts.models import ApiKey, Invitation, Membership, Project, Role, User
from alerts.models import Channel
from cronsvc import crypto, emails

CURRENT = "project_id"  # the session key of the project a member is working in
INVITATION_DAYS = 7
# Standard Webhooks secrets: this prefix, then the base64 of 24 to 64 random bytes.
SIGNING_SECRET_PREFIX = "whsec_"
SIGNING_SECRET_BYTES = 32


class NotAllowed(Exception):
    """The change is refused, for the reason the message gives."""


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_a_personal_project(sender: type, instance: User, created: bool, **kwargs) -> None:
    """Every member has a project of their own from the start."""
    if created and not kwargs.get("raw"):
        name = f"{instance.email}'s jobs"
        create_project(instance, name=name, personal=True, using=kwargs.get("using", "default"))


def create_project(
    owner: User, *, name: str, personal: bool = False, using: str = "default"
) -> Project:
    with transaction.atomic(using=using):
        project = Project.objects.using(using).create(name=name, personal=personal)
        Membership.objects.using(using).create(project=project, user=owner, role=Role.OWNER)
        # Alerts reach the owner from the start: new jobs select this channel.
        Channel.objects.using(using).create(
            project=project,
            kind=Channel.Kind.EMAIL,
            address=owner.alert_address or owner.email,
            is_default=True,
        )
    return project


def personal_project(user: User) -> Project:
    projects = Project.objects.using(user._state.db or "default")
    return projects.get(personal=True, memberships__user=user, memberships__role=Role.OWNER)


def membership(user: User, project: Project) -> Membership | None:
    if not user.is_authenticated:
        return None
    member = Membership.objects.filter(user=user, project=project).first()
    if member is not None:
        member.project = project  # the caller's copy: checks read it without a query
    return member


def current_membership(request: HttpRequest) -> Membership:
    """The member's membership in the project they are working in (the session's, else
    their personal one); cached on the request."""
    if not hasattr(request, "_membership"):
        # A member is in a handful of projects: one query, chosen here.
        memberships = list(Membership.objects.select_related("project").filter(user=request.user))
        by_project = {m.project_id: m for m in memberships}
        personal = next(m for m in memberships if m.project.personal and m.role == Role.OWNER)
        request._membership = by_project.get(request.session.get(CURRENT), personal)
    return request._membership


def switch(request: HttpRequest, project_id: int) -> Project:
    """Work in another of the member's projects from now on; another project is a 404."""
    chosen = Membership.objects.filter(user=request.user, project_id=project_id).first()
    if chosen is None:
        raise Http404("No such project.")
    request.session[CURRENT] = chosen.project_id
    request._membership = chosen
    return chosen.project


class TwoFactorRequired(PermissionDenied):
    """The project asks every member for a second factor, and this one has none."""

    def __init__(self, project: Project) -> None:
        super().__init__(
            f"“{project}” asks every member to sign in with a second factor. Set one up "
            "in Settings → Two-factor sign-in to work in it."
        )


def require_role(member: Membership | None, role: str) -> None:
    """A page or endpoint's check: another project is a 404, too small a role a 403, and a
    project that requires two-factor sign-in refuses a member without it."""
    if member is None:
        raise Http404("No such project.")
    if not member.may(role):
        raise PermissionDenied(f"This needs the {Role(role).label} role in “{member.project}”.")
    if member.project.require_2fa and not mfa_enabled(member.user):
        raise TwoFactorRequired(member.project)


def update_settings(project: Project, *, name: str, require_2fa: bool, by: audit.Actor) -> None:
    was = audit.snapshot(project, ["name", "require_2fa"])
    project.name, project.require_2fa = name, require_2fa
    project.save(update_fields=["name", "require_2fa"])
    if changes := audit.diff(was, audit.snapshot(project, ["name", "require_2fa"])):
        audit.record(project, by, "project.updated", project, changes)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def delete_owned_projects(sender: type, instance: User, **kwargs) -> None:
    """A member who goes takes the projects they own with them, jobs and all (in others'
    projects, their jobs stay). However the account is deleted: Settings, the admin."""
    Project.objects.filter(memberships__user=instance, memberships__role=Role.OWNER).delete()


# Invitations


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(project: Project, *, email: str, role: str, by: audit.Actor) -> Invitation:
    """Ask someone to join, by email; the link works for INVITATION_DAYS."""
    if role == Role.OWNER:
        raise NotAllowed("A project has one owner; transfer ownership instead.")
    if Membership.objects.filter(project=project, user__email__iexact=email).exists():
        raise NotAllowed(f"{email} is a member of this project already.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=project,
        email=email,
        role=role,
        invited_by=by.user,
        token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    audit.record(project, by, "member.invited", invitation, {"email": email, "role": role})
    link = settings.SITE_URL + reverse("invitation", args=[token])
    context = {"invitation": invitation, "inviter": by.label, "url": link, "days": INVITATION_DAYS}
    transaction.on_commit(
        lambda: emails.send("accounts/emails/invitation", to=email, context=context)
    )
    return invitation


def invitation_for(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("project")
        .filter(token_hash=hash_token(token), accepted_at=None, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def accept(invitation: Invitation, user: User) -> Membership:
    """Join as invited. Only for a member whose address is the one invited."""
    if not user.has_verified_address(invitation.email):
        raise NotAllowed(
            f"This invitation is for {invitation.email}. Sign in with that address, or add "
            "and confirm it in Settings → Email addresses."
        )
    member, created = Membership.objects.get_or_create(
        project=invitation.project, user=user, defaults={"role": invitation.role}
    )
    Invitation.objects.filter(id=invitation.id).update(accepted_at=timezone.now())
    if created:
        actor = audit.Actor(user=user, via=audit.Via.WEB)
        audit.record(invitation.project, actor, "member.joined", member, {"role": member.role})
    return member


# Roles and ownership


@transaction.atomic
def change_role(member: Membership, role: str, *, by: audit.Actor) -> None:
    if role == Role.OWNER or member.role == Role.OWNER:
        raise NotAllowed("Ownership moves only by a transfer from the owner.")
    old, member.role = member.role, role
    member.save(update_fields=["role"])
    audit.record(member.project, by, "member.role_changed", member, {"role": [old, role]})


@transaction.atomic
def remove(member: Membership, *, by: audit.Actor) -> None:
    """A member leaves (or is removed): their keys for the project stop working."""
    if member.role == Role.OWNER:
        raise NotAllowed("The owner cannot leave; transfer ownership first.")
    ApiKey.objects.active().filter(project=member.project, user=member.user).update(
        revoked_at=timezone.now()
    )
    audit.record(member.project, by, "member.removed", member, {"role": member.role})
    member.delete()


@transaction.atomic
def transfer_ownership(project: Project, to: Membership, *, by: audit.Actor) -> None:
    """The owner hands the project over and becomes an admin: one owner at every moment."""
    if project.personal:
        raise NotAllowed("A personal project stays with its member.")
    current = Membership.objects.select_for_update().get(project=project, role=Role.OWNER)
    current.role = Role.ADMIN
    current.save(update_fields=["role"])
    to.role = Role.OWNER
    to.save(update_fields=["role"])
    owners = [current.user.email, to.user.email]
    audit.record(project, by, "project.ownership_transferred", to, {"owner": owners})


# Signing secret


@transaction.atomic
def new_signing_secret(project: Project, *, by: audit.Actor) -> str:
    """Create the project's signing secret, or rotate it: the one it replaces goes on
    signing for a day (Project.signing_secrets). The plain secret is returned to be shown
    once; only its encryption is kept."""
    # Locked: two rotations at once must each replace the secret the other left, not the
    # same one, or the first one's secret would stop signing at once.
    current = (
        Project.objects.select_for_update().only("signing_secret_encrypted").get(pk=project.pk)
    )
    rotating = bool(current.signing_secret_encrypted)
    secret = (
        SIGNING_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SIGNING_SECRET_BYTES)).decode()
    )
    project.previous_signing_secret_encrypted = current.signing_secret_encrypted
    project.signing_secret_encrypted = crypto.encrypt(secret)
    project.signing_secret_rotated_at = timezone.now() if rotating else None
    project.save(
        update_fields=[
            "signing_secret_encrypted",
            "previous_signing_secret_encrypted",
            "signing_secret_rotated_at",
        ]
    )
    action = "signing_secret.rotated" if rotating else "signing_secret.created"
    audit.record(project, by, action, project)
    return secret
