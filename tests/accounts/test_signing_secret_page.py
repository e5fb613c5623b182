"""The signing secret on the project settings page: admins and the owner create or rotate it
and see it once; the page that shows it is never cached."""

import re

from django.utils import timezone

from accounts import projects
from accounts.models import Membership
from accounts.projects import personal_project
from tests.conftest import page_text

SETTINGS = "/projects/settings/"
SIGNING_SECRET = "/projects/signing-secret/"


def shown_secret(response) -> str:
    (secret,) = re.findall(
        r'<code class="secret" id="new-signing-secret">([^<]+)</code>', response.content.decode()
    )
    return secret


def test_the_owner_creates_one_and_sees_it_once(alice_client, alice):
    assert "Create a signing secret" in page_text(alice_client.get(SETTINGS))

    response = alice_client.post(SIGNING_SECRET)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = shown_secret(response)
    assert secret.startswith("whsec_")
    assert "Copy it now: it will not be shown again." in page_text(response)
    assert personal_project(alice).signing_secrets(timezone.now()) == [secret]
    again = alice_client.get(SETTINGS)
    assert secret not in again.content.decode()
    assert "Rotate the signing secret" in page_text(again)


def test_rotating_says_the_previous_one_signs_for_another_day(alice_client, alice):
    first = shown_secret(alice_client.post(SIGNING_SECRET))

    response = alice_client.post(SIGNING_SECRET)

    second = shown_secret(response)
    assert second != first
    assert "The previous one goes on signing for 24 hours" in page_text(response)
    assert personal_project(alice).signing_secrets(timezone.now()) == [second, first]


def test_a_member_below_admin_cannot_make_one(client, alice, bob):
    team = projects.create_project(alice, name="Acme")
    Membership.objects.create(project=team, user=bob, role="member")
    client.force_login(bob)
    projects_session = client.session
    projects_session[projects.CURRENT] = team.id
    projects_session.save()

    assert "Signing secret" not in page_text(client.get(SETTINGS))
    assert client.post(SIGNING_SECRET).status_code == 403
    team.refresh_from_db()
    assert not team.has_signing_secret


def test_it_is_a_post_only(alice_client):
    assert alice_client.get(SIGNING_SECRET).status_code == 405
