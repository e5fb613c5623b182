from urllib.parse import urlsplit

from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.conftest import PASSWORD

RESET = "/accounts/password-reset/"
SENT = "/accounts/password-reset/sent/"
NEW_PASSWORD = "quiet lantern orbit 7"


def ask_for_a_link(client: Client, email: str, mailoutbox: list, emailed_link) -> str:
    client.post(RESET, {"email": email})
    (message,) = mailoutbox
    return urlsplit(emailed_link(message)).path


def set_password(client: Client, link: str, password: str = NEW_PASSWORD) -> object:
    # The emailed link stores the token in the session and redirects to a token-less URL.
    form_url = client.get(link).url
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def test_it_sends_a_link_to_the_member(client, alice, mailoutbox, emailed_link):
    response = client.post(RESET, {"email": "alice@example.org"}, follow=True)

    assert response.redirect_chain == [(SENT, 302)]
    assert "Check your email" in response.content.decode()
    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]
    assert message.subject == "Reset your cronsvc password"
    assert "Someone asked to reset the password for alice@example.org." in message.body
    assert "<strong>alice@example.org</strong>" in message.alternatives[0].content
    assert emailed_link(message).startswith("http://localhost:8000/accounts/password-reset/")


def test_it_finds_the_member_whatever_the_case_of_the_email(client, alice, mailoutbox):
    client.post(RESET, {"email": "ALICE@Example.ORG"})

    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]


def test_the_link_sets_a_new_password_that_logs_in(client, alice, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)

    page = client.get(client.get(link).url).content.decode()
    assert "Choose a new password" in page
    response = set_password(client, link)

    assert response.status_code == 302
    assert response.url == "/accounts/password-reset/done/"
    assert "Your password has been set" in client.get(response.url).content.decode()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert not alice.check_password(PASSWORD)
    response = Client().post(
        "/accounts/login/", {"username": "alice@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302


def test_it_refuses_a_weak_new_password(client, alice, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)

    response = set_password(client, link, "password")

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_used_link_shows_the_invalid_link_page(client, alice, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)
    set_password(client, link)

    response = Client().get(link)

    assert response.status_code == 200
    page = response.content.decode()
    assert "This link is not valid" in page
    assert "It may have been used already or have expired." in page
    assert "new_password1" not in page


def test_a_tampered_link_shows_the_invalid_link_page(client, alice, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)
    token = link.split("/")[-2]
    tampered = link.replace(token, token[:-1] + ("a" if token[-1] != "a" else "b"))

    page = client.get(tampered).content.decode()

    assert "This link is not valid" in page
    assert "new_password1" not in page
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_link_for_bob_cannot_reset_alice(client, alice, bob, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "bob@example.org", mailoutbox, emailed_link)
    uid = link.split("/")[-3]
    alice_link = link.replace(uid, urlsafe_base64_encode(force_bytes(alice.pk)))

    page = Client().get(alice_link).content.decode()

    assert "This link is not valid" in page
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_an_unknown_email_shows_the_same_page_and_sends_nothing(client, alice, mailoutbox):
    response = client.post(RESET, {"email": "nobody@example.org"}, follow=True)

    assert response.redirect_chain == [(SENT, 302)]
    assert "Check your email" in response.content.decode()
    assert mailoutbox == []
