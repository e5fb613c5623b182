"""Sign-up with another person's address gets the squatter nothing that survives the real
owner's password reset: no log-in, no API key, no alert address of their choosing."""

from datetime import timedelta
from urllib.parse import urlsplit

import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, User
from tests.conftest import api_client_for, log_in

VICTIM = "victim@example.org"
SQUATTERS_PASSWORD = "mallory was here 99"
OWNERS_PASSWORD = "quiet lantern orbit 7"


def test_sign_up_with_another_persons_address_gets_the_squatter_nothing_that_lasts(
    db, mailoutbox, emailed_link
):
    squatter = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        squatter.post("/accounts/signup/", {"email": VICTIM, "password1": SQUATTERS_PASSWORD})
        account = User.objects.get(email=VICTIM)
        # The confirmation goes to the victim's mailbox, where it stays unopened.
        (confirmation,) = mailoutbox
        assert confirmation.to == [VICTIM]

        # The squatter cannot log in: no session, no key, no settings, no addresses.
        assert log_in(squatter, VICTIM, SQUATTERS_PASSWORD).url == "/accounts/confirm-email/"
        assert squatter.get("/accounts/settings/").status_code == 302
        assert squatter.post("/accounts/settings/api-keys/", {"name": "mine"}).status_code == 302
        squatter.post("/accounts/email/", {"action_add": "", "email": "mallory@evil.example"})
        assert list(account.emailaddress_set.values_list("email", flat=True)) == [VICTIM]
        assert not ApiKey.objects.exists()
        # Nor does a key an operator made for the account work with the API.
        operators_key = api_client_for(account)
        assert operators_key.get("/api/v1/jobs/").status_code == 401

        # Later the real owner tries to sign up, is told by email that the address has an
        # account, and resets its password from the emailed link.
        clock.shift(timedelta(hours=1))
        owner = Client()
        owner.post("/accounts/signup/", {"email": VICTIM, "password1": OWNERS_PASSWORD})
        told = mailoutbox[-1]
        assert told.subject == "Someone tried to sign up to cronsvc with your address"
        assert emailed_link(told) == "http://localhost:8000/accounts/password/reset/"
        owner.post("/accounts/password/reset/", {"email": VICTIM})
        reset_link = urlsplit(emailed_link(mailoutbox[-1])).path
        form = owner.get(reset_link).url
        response = owner.post(form, {"password1": OWNERS_PASSWORD, "password2": OWNERS_PASSWORD})

    # The link proved the address: the owner is in, and it is confirmed.
    assert response.url == "/"
    assert owner.get("/accounts/settings/").status_code == 200
    account.refresh_from_db()
    assert account.is_verified
    assert account.alert_address == VICTIM
    assert account.notification_email == ""
    assert list(account.emailaddress_set.values_list("email", flat=True)) == [VICTIM]
    # Nothing of the squatter's works any more.
    assert not account.api_keys.active().exists()
    assert operators_key.get("/api/v1/jobs/").status_code == 401
    assert log_in(squatter, VICTIM, SQUATTERS_PASSWORD).status_code == 200
    assert squatter.get("/accounts/settings/").status_code == 302
