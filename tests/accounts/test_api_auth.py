"""API key authentication, through a tiny view with the project's default DRF classes."""

import pytest
from django.urls import path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tests.conftest import api_client_for


class WhoAmI(APIView):
    def get(self, request: Request) -> Response:
        return Response({"email": request.user.email})

    def post(self, request: Request) -> Response:
        return Response({"email": request.user.email})


urlpatterns = [path("whoami/", WhoAmI.as_view())]

pytestmark = pytest.mark.urls("tests.accounts.test_api_auth")


def with_header(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


def test_a_key_authenticates_as_its_owner(alice_api, bob_api):
    assert alice_api.get("/whoami/").json() == {"email": "alice@example.org"}
    assert bob_api.get("/whoami/").json() == {"email": "bob@example.org"}


def test_a_read_write_key_may_post(alice_api):
    response = alice_api.post("/whoami/")

    assert response.status_code == 200
    assert response.json() == {"email": "alice@example.org"}


def test_the_scheme_is_case_insensitive(alice_key):
    response = with_header(f"bearer {alice_key}").get("/whoami/")

    assert response.status_code == 200


def test_it_records_when_a_key_was_last_used(alice_api, alice):
    key = alice.api_keys.get()
    assert key.last_used_at is None
    before = timezone.now()

    alice_api.get("/whoami/")

    key.refresh_from_db()
    assert before <= key.last_used_at <= timezone.now()


def test_a_revoked_key_is_refused(alice_api, alice):
    alice.api_keys.get().revoke()

    response = alice_api.get("/whoami/")

    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has been revoked."}
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_key_of_a_member_who_has_not_confirmed_their_address_is_refused(carol):
    response = api_client_for(carol).get("/whoami/")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Confirm your email address (follow the link we emailed you) to use the API."
    }


def test_a_key_of_a_deactivated_member_is_refused(alice_api, alice):
    alice.is_active = False
    alice.save()

    response = alice_api.get("/whoami/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


@pytest.mark.parametrize(
    "header",
    ["{key}", "Token {key}", "Basic {key}", "Bearer", "Bearer ", "Bearer {key} extra"],
)
def test_a_malformed_header_is_refused_with_a_message(alice_key, alice, header):
    response = with_header(header.format(key=alice_key)).get("/whoami/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Malformed Authorization header: expected 'Bearer <key>'."}
    assert response["WWW-Authenticate"] == "Bearer"
    assert alice.api_keys.get().last_used_at is None


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "csk_00000000_notakeyatall",
        "csk_",
        # Right prefix, wrong secret: the prefix alone must not be enough.
        "{prefix}_wrongsecret",
        # The key with its last character changed.
        "{tampered}",
    ],
)
def test_an_unknown_key_is_refused(alice_key, alice, value):
    key = alice.api_keys.get()
    tampered = alice_key[:-1] + ("A" if alice_key[-1] != "A" else "B")

    response = with_header("Bearer " + value.format(prefix=key.prefix, tampered=tampered)).get(
        "/whoami/"
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}
    key.refresh_from_db()
    assert key.last_used_at is None


def test_a_read_only_key_may_get_but_not_post(alice_read_only_api):
    client = alice_read_only_api

    assert client.get("/whoami/").json() == {"email": "alice@example.org"}
    response = client.post("/whoami/")
    assert response.status_code == 403
    assert response.json() == {"detail": "This API key is read-only."}


def test_no_header_is_refused_with_a_bearer_challenge(db):
    response = APIClient().get("/whoami/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_signed_in_browser_session_is_not_an_api_credential(alice_client):
    response = alice_client.get("/whoami/")

    assert response.status_code == 401
