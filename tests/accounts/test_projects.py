"""Projects: every member has one of their own, can make more and switch between them,
invites people with a role, hands ownership over; the audit log says who changed what."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit, projects
from accounts.models import ApiKey, AuditEntry, Membership, Project, Role
from jobs.models import Job
from tests.conftest import api_client, closing_connection, make_job, make_member, page_text
from tests.engine.test_worker import lock_waiters
from tests.web.test_job_form import job_form_data

DASHBOARD = "/jobs/"


@pytest.fixture
def acme(alice, bob):
    """alice's team project, with bob as a member."""
    project = projects.create_project(alice, name="Acme")
    Membership.objects.create(project=project, user=bob, role="member")
    return project


def test_a_new_member_owns_a_personal_project(db):
    dave = make_member("dave@example.org")

    (membership,) = dave.memberships.all()
    assert (membership.role, membership.project.personal) == (Role.OWNER, True)
    assert projects.personal_project(dave) == membership.project


def test_a_member_makes_a_project_and_works_in_it(alice_client, alice):
    response = alice_client.post("/projects/new/", {"name": "Side project"}, follow=True)

    assert "“Side project” is yours." in page_text(response)
    project = alice.projects.get(name="Side project")
    assert Membership.objects.get(project=project, user=alice).role == Role.OWNER
    assert "Side project" in page_text(alice_client.get(DASHBOARD))


def test_a_member_of_two_projects_sees_each_projects_jobs_only_there(client, alice, acme):
    bob = acme.memberships.get(role="member").user
    make_job(alice, project=acme, title="Acme backup")
    make_job(bob, title="Bob's own report")
    client.force_login(bob)

    own = page_text(client.get(DASHBOARD))
    client.post("/projects/switch/", {"project": str(acme.id)})
    team = page_text(client.get(DASHBOARD))

    assert "Bob's own report" in own and "Acme backup" not in own
    assert "Acme backup" in team and "Bob's own report" not in team
    for project, title in [
        (projects.personal_project(bob), "Bob's own report"),
        (acme, "Acme backup"),
    ]:
        _, plain = ApiKey.issue(user=bob, project=project, name="k")
        listed = api_client(plain).get("/api/v1/jobs/").json()["results"]
        assert [job["title"] for job in listed] == [title]


def test_switching_to_a_project_one_is_not_in_is_a_404(client, acme):
    stranger = make_member("carl@example.org")
    client.force_login(stranger)

    assert client.post("/projects/switch/", {"project": str(acme.id)}).status_code == 404


# Invitations


def invitation_link(mailoutbox) -> str:
    (message,) = mailoutbox
    return re.search(r"http://[^\s]+/projects/invitations/[\w-]+/", message.body)[0]


def test_an_invited_person_joins_with_the_role_they_were_given(
    alice_client, acme, mailoutbox, django_capture_on_commit_callbacks, client
):
    alice_client.post("/projects/switch/", {"project": str(acme.id)})
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/projects/invite/", {"email": "dora@example.org", "role": "viewer"}, follow=True
        )
    assert "We sent an invitation to dora@example.org." in page_text(response)
    (message,) = mailoutbox
    assert message.to == ["dora@example.org"]
    assert message.subject == "alice@example.org invited you to “Acme” on cronsvc"
    path = invitation_link(mailoutbox).split("localhost:8000")[1]

    dora = make_member("dora@example.org")
    client.force_login(dora)
    assert "Join “Acme”" in page_text(client.get(path))
    client.post(path)

    assert Membership.objects.get(project=acme, user=dora).role == Role.VIEWER
    assert client.get(path).status_code == 404  # used once


def test_an_invitation_is_only_for_the_address_it_was_sent_to(
    alice, acme, mailoutbox, django_capture_on_commit_callbacks, client
):
    actor = audit.Actor(user=alice, via=audit.Via.WEB)
    with django_capture_on_commit_callbacks(execute=True):
        projects.invite(acme, email="dora@example.org", role="member", by=actor)
    path = invitation_link(mailoutbox).split("localhost:8000")[1]
    client.force_login(make_member("mallory@example.org"))

    response = client.post(path, follow=True)

    assert "This invitation is for dora@example.org." in page_text(response)
    assert not acme.memberships.filter(user__email="mallory@example.org").exists()


def test_an_expired_invitation_is_not_valid(alice, acme, mailoutbox, client, clock):
    with_link = projects.invite(
        acme, email="dora@example.org", role="member", by=audit.Actor(alice, audit.Via.WEB)
    )
    token_page = "/projects/invitations/not-the-token/"
    client.force_login(make_member("dora@example.org"))

    assert client.get(token_page).status_code == 404
    clock.shift(timedelta(days=projects.INVITATION_DAYS, seconds=1))
    assert projects.invitation_for("anything") is None
    assert with_link.expires_at < timezone.now()


def test_an_owner_cannot_be_invited_in(alice, acme):
    with pytest.raises(projects.NotAllowed):
        projects.invite(acme, email="x@example.org", role="owner", by=audit.Actor(alice, "web"))


# Roles and ownership


def test_a_project_has_exactly_one_owner(alice, acme):
    bob_membership = acme.memberships.get(role="member")
    bob_membership.role = Role.OWNER
    with pytest.raises(IntegrityError):
        bob_membership.save()


def test_ownership_moves_by_a_transfer_and_the_old_owner_becomes_an_admin(alice_client, acme):
    alice_client.post("/projects/switch/", {"project": str(acme.id)})
    bob_membership = acme.memberships.get(role="member")

    alice_client.post("/projects/transfer/", {"membership": str(bob_membership.id)})

    roles = dict(acme.memberships.values_list("user__email", "role"))
    assert roles == {"alice@example.org": "admin", "bob@example.org": "owner"}
    assert acme.audit_entries.filter(action="project.ownership_transferred").exists()


def test_a_removed_member_loses_the_projects_keys(alice, acme):
    bob_membership = acme.memberships.get(role="member")
    _, plain = ApiKey.issue(user=bob_membership.user, project=acme, name="bob's")

    projects.remove(bob_membership, by=audit.Actor(alice, audit.Via.WEB))

    assert api_client(plain).get("/api/v1/jobs/").status_code == 401
    assert not acme.memberships.filter(user=bob_membership.user).exists()


def test_a_viewers_write_key_may_only_read(alice, acme):
    bob_membership = acme.memberships.get(role="member")
    _, plain = ApiKey.issue(user=bob_membership.user, project=acme, name="bob's")
    projects.change_role(bob_membership, Role.VIEWER, by=audit.Actor(alice, audit.Via.WEB))
    client = api_client(plain)

    assert client.get("/api/v1/jobs/").status_code == 200
    response = client.post("/api/v1/jobs/", {"title": "t"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the member (jobs) role in “Acme”."}


# The audit log


def test_the_audit_log_shows_a_jobs_edit_through_the_api_with_the_keys_prefix(alice, acme):
    job = make_job(alice, project=acme, title="Acme backup")
    key, plain = ApiKey.issue(user=alice, project=acme, name="deploy")
    client = api_client(plain)

    client.patch(
        f"/api/v1/jobs/{job.id}/",
        {"title": "Acme backups", "auth_password": "s3cret"},
        format="json",
    )

    (entry,) = client.get("/api/v1/audit/").json()["results"]
    assert entry["actor"] == f"key {key.prefix} (deploy)"
    assert (entry["via"], entry["action"], entry["object_id"]) == ("api", "job.updated", job.id)
    assert entry["changes"] == {
        "title": ["Acme backup", "Acme backups"],
        "auth_password_encrypted": "(changed)",
    }
    assert "s3cret" not in str(AuditEntry.objects.values_list("changes", flat=True))


def test_the_audit_page_shows_changes_made_on_the_web(alice_client, alice):
    alice_client.post(
        "/jobs/new/",
        {
            "title": "Warm cache",
            "method": "GET",
            "url": "https://example.com/warm",
            "preset": "daily",
            "at_time": "03:00",
            "timezone": "UTC",
            "timeout_seconds": "30",
            "failure_threshold": "1",
        },
    )
    job = Job.objects.get(title="Warm cache")
    alice_client.post(f"/jobs/{job.id}/pause/")

    page = page_text(alice_client.get("/projects/audit/"))

    assert "alice@example.org web job.updated Warm cache enabled : [True, False]" in page
    assert "alice@example.org web job.created Warm cache" in page
    assert "title : [None, 'Warm cache']" in page


def test_audit_entries_are_kept_90_days(alice, acme):
    entry = audit.record(acme, audit.Actor(alice, audit.Via.WEB), "job.deleted", acme)
    AuditEntry.objects.filter(id=entry.id).update(at=timezone.now() - timedelta(days=91))
    kept = audit.record(acme, audit.Actor(alice, audit.Via.WEB), "job.deleted", acme)

    assert audit.prune() == 1
    assert list(AuditEntry.objects.all()) == [kept]


# Limits


def test_the_job_cap_is_per_project(alice_client, alice, acme, settings, private_targets):
    settings.MAX_JOBS_PER_PROJECT = 1
    make_job(alice, project=acme)
    alice_client.post("/projects/switch/", {"project": str(acme.id)})

    response = alice_client.post("/jobs/new/", job_form_data())

    assert "This project has reached the limit of 1 jobs." in page_text(response)
    # alice's personal project has room still.
    assert Job.objects.filter(project=projects.personal_project(alice)).count() == 0


def test_the_member_cap_counts_every_project_they_own(alice, acme, settings):
    settings.MAX_JOBS_PER_MEMBER = 2
    make_job(alice, project=acme)
    make_job(alice)
    bob = acme.memberships.get(role="member").user
    _, plain = ApiKey.issue(user=bob, project=acme, name="bob's")

    response = api_client(plain).post(
        "/api/v1/jobs/",
        {"title": "t", "url": "https://example.com/", "schedule": "@daily"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["The project's owner has reached the limit of 2 jobs."]
    }


def test_create_api_key_makes_a_key_for_a_named_project(alice, acme):
    out = StringIO()
    call_command("create_api_key", "alice@example.org", "--project", "Acme", stdout=out)

    key = ApiKey.objects.get(prefix=out.getvalue().strip()[:12])
    assert (key.project, key.scope) == (acme, "write")
    assert acme.audit_entries.get(action="key.created").via == "command"


# Two-factor sign-in required of every member.


def test_a_project_that_requires_two_factor_sends_a_member_without_it_to_set_it_up(
    client, acme, alice_totp
):
    acme.require_2fa = True
    acme.save()
    bob = acme.memberships.get(role="member").user
    client.force_login(bob)
    client.post("/projects/switch/", {"project": str(acme.id)})

    response = client.get(DASHBOARD, follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/2fa/"
    assert "“Acme” asks every member to sign in with a second factor." in page_text(response)


def test_a_member_with_two_factor_works_in_it(alice_client, acme, alice_totp):
    acme.require_2fa = True
    acme.save()
    make_job(acme.owner, project=acme, title="Acme backup")
    alice_client.post("/projects/switch/", {"project": str(acme.id)})

    assert "Acme backup" in page_text(alice_client.get(DASHBOARD))


def test_its_keys_of_a_member_without_two_factor_are_refused(acme):
    acme.require_2fa = True
    acme.save()
    bob = acme.memberships.get(role="member").user
    _, plain = ApiKey.issue(user=bob, project=acme, name="bob's")

    response = api_client(plain).get("/api/v1/jobs/")

    assert response.status_code == 403
    assert "requires two-factor sign-in of its members" in response.json()["detail"]


def test_the_owner_requires_it_in_the_project_settings(alice_client, acme, alice_totp):
    alice_client.post("/projects/switch/", {"project": str(acme.id)})

    alice_client.post("/projects/settings/", {"name": "Acme", "require_2fa": "on"})

    acme.refresh_from_db()
    assert acme.require_2fa
    (entry,) = acme.audit_entries.filter(action="project.updated")
    assert entry.changes == {"require_2fa": [False, True]}


def test_a_rotation_of_the_signing_secret_waits_for_one_under_way(transactional_db, alice):
    """Each rotation replaces the secret the one before it left: the secret a member was
    just shown goes on signing, whichever rotation came second."""
    project = projects.personal_project(alice)
    by = audit.Actor(user=alice, via=audit.Via.WEB)
    projects.new_signing_secret(project, by=by)
    rotated, release = threading.Event(), threading.Event()

    def rotation_held_open() -> str:
        with transaction.atomic():
            secret = projects.new_signing_secret(Project.objects.get(id=project.id), by=by)
            rotated.set()
            release.wait(timeout=30)
        return secret

    def rotation() -> str:
        return projects.new_signing_secret(Project.objects.get(id=project.id), by=by)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(closing_connection(rotation_held_open))
        assert rotated.wait(timeout=30)
        second = pool.submit(closing_connection(rotation))
        deadline = time.monotonic() + 30
        while not lock_waiters() and time.monotonic() < deadline:
            time.sleep(0.05)
        release.set()
        shown = [first.result(timeout=30), second.result(timeout=30)]

    project.refresh_from_db()
    assert project.signing_secrets(timezone.now()) == shown[::-1]
