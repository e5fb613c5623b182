import pytest

from accounts.models import User

SIGNUP = "/accounts/signup/"
GOOD_PASSWORD = "plum tree harbour 42"


def test_it_creates_a_member_and_sends_a_verification_link(client, db, mailoutbox, emailed_link):
    response = client.post(SIGNUP, {"email": "dave@example.org", "password": GOOD_PASSWORD})

    assert response.status_code == 302
    assert response.url == "/"
    dave = User.objects.get(email="dave@example.org")
    assert dave.check_password(GOOD_PASSWORD)
    assert not dave.is_verified
    assert dave.timezone == "UTC"

    (message,) = mailoutbox
    assert message.to == ["dave@example.org"]
    assert message.subject == "Confirm your email address for cronsvc"
    assert "Please confirm that dave@example.org is your address" in message.body
    assert "<strong>dave@example.org</strong>" in message.alternatives[0].content
    assert emailed_link(message).startswith("http://localhost:8000/accounts/verify/")


def test_it_signs_the_new_member_in_and_says_where_the_link_went(client, db):
    client.post(SIGNUP, {"email": "dave@example.org", "password": GOOD_PASSWORD})

    page = client.get("/accounts/settings/").content.decode()
    assert "Welcome! We sent a confirmation link to dave@example.org." in page
    assert "Signed in as <strong>dave@example.org</strong> (not confirmed yet)." in page
    assert "Confirm your email address (dave@example.org) to create jobs." in page


def test_it_keeps_the_case_of_the_address_but_lowercases_the_domain(client, db):
    client.post(SIGNUP, {"email": "Dave.Jones@EXAMPLE.org", "password": GOOD_PASSWORD})

    assert User.objects.get().email == "Dave.Jones@example.org"


def test_it_refuses_an_email_taken_in_other_case(client, alice, mailoutbox):
    response = client.post(SIGNUP, {"email": "ALICE@Example.ORG", "password": GOOD_PASSWORD})

    assert response.status_code == 200
    assert "An account with this email address already exists." in response.content.decode()
    assert list(User.objects.values_list("email", flat=True)) == ["alice@example.org"]
    assert mailoutbox == []
    assert "_auth_user_id" not in client.session


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
    response = client.post(SIGNUP, {"email": "dave@example.org", "password": password})

    assert response.status_code == 200
    assert complaint in response.content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_it_refuses_an_invalid_email(client, db, mailoutbox):
    response = client.post(SIGNUP, {"email": "dave@", "password": GOOD_PASSWORD})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_the_form_labels_its_fields(client, db):
    page = client.get(SIGNUP).content.decode()

    assert '<label for="id_email">Email</label>' in page
    assert '<label for="id_password">Password</label>' in page


def test_a_closed_instance_hides_the_link_and_the_page(client, db, settings, mailoutbox):
    settings.SIGNUP_OPEN = False

    assert SIGNUP not in client.get("/").content.decode()
    assert SIGNUP not in client.get("/accounts/login/").content.decode()
    assert client.get(SIGNUP).status_code == 404
    response = client.post(SIGNUP, {"email": "dave@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 404
    assert not User.objects.exists()
    assert mailoutbox == []


def test_an_open_instance_links_to_the_page(client, db):
    assert f'href="{SIGNUP}"' in client.get("/").content.decode()
    assert f'href="{SIGNUP}"' in client.get("/accounts/login/").content.decode()
