import pytest

from accounts.models import User

SIGNUP = "/accounts/signup/"
SENT = "/accounts/confirm-email/"
GOOD_PASSWORD = "plum tree harbour 42"


def sign_up(
    client, email: str = "dave@example.org", password: str = GOOD_PASSWORD, **request
) -> object:
    return client.post(SIGNUP, {"email": email, "password1": password}, **request)


def test_it_creates_a_member_and_sends_a_verification_link(client, db, mailoutbox, emailed_link):
    response = sign_up(client)

    assert response.status_code == 302
    assert response.url == SENT
    dave = User.objects.get(email="dave@example.org")
    assert dave.check_password(GOOD_PASSWORD)
    assert not dave.is_verified
    assert dave.timezone == "UTC"

    (message,) = mailoutbox
    assert message.to == ["dave@example.org"]
    assert message.from_email == "cronsvc <cronsvc@localhost>"
    assert message.subject == "Confirm your email address for cronsvc"
    assert "Please confirm that dave@example.org is your address." in message.body
    assert "<strong>dave@example.org</strong>" in message.alternatives[0].content
    assert emailed_link(message).startswith("http://localhost:8000/accounts/confirm-email/")


def test_emailed_links_point_at_the_site_url_whatever_the_request_said(
    client, db, settings, mailoutbox, emailed_link
):
    settings.SITE_URL = "https://cron.example.com"

    sign_up(client, HTTP_HOST="127.0.0.1")

    assert emailed_link(mailoutbox[0]).startswith(
        "https://cron.example.com/accounts/confirm-email/"
    )


def test_it_does_not_sign_the_new_member_in_until_they_confirm(client, db):
    sign_up(client)

    page = client.get(SENT).content.decode()
    assert "We sent you an email." in page
    assert client.get("/accounts/settings/").status_code == 302


def test_it_keeps_an_address_as_one_address_whatever_its_case(client, db):
    sign_up(client, "Dave.Jones@EXAMPLE.org")

    assert User.objects.get().email.lower() == "dave.jones@example.org"


def test_sign_up_does_not_reveal_whether_an_address_has_an_account(
    client, alice, mailoutbox, emailed_link
):
    taken = sign_up(client, "ALICE@Example.ORG")
    new = sign_up(client, "dave@example.org")

    assert (taken.status_code, taken.url) == (new.status_code, new.url) == (302, SENT)
    assert sorted(User.objects.values_list("email", flat=True)) == [
        "alice@example.org",
        "dave@example.org",
    ]
    alices, daves = mailoutbox
    assert alices.to == ["alice@example.org"]
    assert alices.subject == "Someone tried to sign up to cronsvc with your address"
    assert "which already has one" in alices.body
    assert emailed_link(alices) == "http://localhost:8000/accounts/password/reset/"
    assert User.objects.get(email="alice@example.org").check_password(
        "correct horse battery staple"
    )
    assert daves.subject == "Confirm your email address for cronsvc"


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("Xq7!mz", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("83920174652", "This password is entirely numeric."),
        ("dave@example.org", "The password is too similar to the email address."),
    ],
)
def test_it_refuses_a_weak_password(client, db, mailoutbox, password, complaint):
    response = sign_up(client, password=password)

    assert response.status_code == 200
    assert complaint in response.content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_it_refuses_an_invalid_email(client, db, mailoutbox):
    response = sign_up(client, "dave@")

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_the_form_labels_its_fields(client, db):
    page = client.get(SIGNUP).content.decode()

    assert '<label for="id_email">Email</label>' in page
    assert '<label for="id_password1">Password</label>' in page


def test_a_closed_instance_hides_the_link_and_the_page(client, db, settings, mailoutbox):
    settings.SIGNUP_OPEN = False

    assert SIGNUP not in client.get("/").content.decode()
    assert SIGNUP not in client.get("/accounts/login/").content.decode()
    assert "Sign-up is closed" in client.get(SIGNUP).content.decode()
    response = sign_up(client)
    assert "Sign-up is closed" in response.content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_an_open_instance_links_to_the_page(client, db):
    assert f'href="{SIGNUP}"' in client.get("/").content.decode()
    assert f'href="{SIGNUP}"' in client.get("/accounts/login/").content.decode()
