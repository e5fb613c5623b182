from urllib.parse import urlsplit

from django.test import Client
from django.utils.http import int_to_base36

from accounts.models import ApiKey
from accounts.projects import personal_project
from tests.conftest import PASSWORD, log_in

RESET = "/accounts/password/reset/"
SENT = "/accounts/password/reset/done/"
NEW_PASSWORD = "quiet lantern orbit 7"


def ask_for_a_link(client: Client, email: str, mailoutbox: list, emailed_link) -> str:
    client.post(RESET, {"email": email})
    (message,) = mailoutbox
    return urlsplit(emailed_link(message)).path


def set_password(client: Client, link: str, password: str = NEW_PASSWORD) -> object:
    # The emailed link stores the key in the session and redirects to a key-less URL.
    form_url = client.get(link).url
    return client.post(form_url, {"password1": password, "password2": password})


def test_it_sends_a_link_to_the_member(client, alice, mailoutbox, emailed_link):
    response = client.post(RESET, {"email": "alice@example.org"}, follow=True)

    assert response.redirect_chain == [(SENT, 302)]
    assert "Check your email" in response.content.decode()
    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]
    assert message.subject == "Reset your cronsvc password"
    assert "Someone asked to reset the password for alice@example.org." in message.body
    assert "<strong>alice@example.org</strong>" in message.alternatives[0].content
    assert emailed_link(message).startswith("http://localhost:8000/accounts/password/reset/key/")


def test_it_finds_the_member_whatever_the_case_of_the_email(client, alice, mailoutbox):
    client.post(RESET, {"email": "ALICE@Example.ORG"})

    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]


def test_the_link_sets_a_new_password_and_signs_in(client, alice, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)

    page = client.get(client.get(link).url).content.decode()
    assert "Choose a new password" in page
    response = set_password(client, link)

    assert response.status_code == 302
    assert response.url == "/"
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert not alice.check_password(PASSWORD)
    assert client.get("/accounts/settings/").status_code == 200
    assert log_in(Client(), "alice@example.org", NEW_PASSWORD).url == "/"


def test_a_reset_ends_other_sessions_and_revokes_older_keys_and_says_which(
    client, alice, bob, mailoutbox, emailed_link
):
    laptop, phone = Client(), Client()
    log_in(laptop, "alice@example.org")
    log_in(phone, "alice@example.org")
    mine, bobs_project = personal_project(alice), personal_project(bob)
    deploy, _ = ApiKey.issue(user=alice, project=mine, name="deploy script")
    dashboard, _ = ApiKey.issue(user=alice, project=mine, name="dashboard", scope="read")
    bobs, _ = ApiKey.issue(user=bob, project=bobs_project, name="bob's key")
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)

    response = set_password(client, link)

    page = client.get(response.url, follow=True).content.decode()
    assert (
        "Your password was reset, so the API keys made before it are revoked: "
        f"“dashboard” ({dashboard.prefix}…), “deploy script” ({deploy.prefix}…)."
    ) in page
    assert set(ApiKey.objects.filter(revoked_at__isnull=False)) == {deploy, dashboard}
    assert laptop.get("/accounts/settings/").status_code == 302
    assert phone.get("/accounts/settings/").status_code == 302
    assert client.get("/accounts/settings/").status_code == 200
    bobs.refresh_from_db()
    assert not bobs.is_revoked


def test_a_reset_lifts_the_lock_on_unknown_devices(client, alice, mailoutbox, emailed_link):
    for _ in range(5):
        log_in(client, "alice@example.org", "wrong password")
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)
    set_password(client, link)
    client.post("/accounts/logout/")

    assert log_in(Client(), "alice@example.org", NEW_PASSWORD).url == "/"


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
    assert "password1" not in page


def test_a_tampered_link_shows_the_invalid_link_page(client, alice, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)
    tampered = link[:-2] + ("a" if link[-2] != "a" else "b") + "/"

    page = client.get(tampered).content.decode()

    assert "This link is not valid" in page
    assert "password1" not in page
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_link_for_bob_cannot_reset_alice(client, alice, bob, mailoutbox, emailed_link):
    link = ask_for_a_link(client, "bob@example.org", mailoutbox, emailed_link)
    uid = link.split("/")[-2].partition("-")[0]
    alice_link = link.replace(f"/{uid}-", f"/{int_to_base36(alice.pk)}-")

    page = Client().get(alice_link).content.decode()

    assert "This link is not valid" in page
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_an_unknown_email_shows_the_same_page_and_sends_nothing(client, alice, mailoutbox):
    response = client.post(RESET, {"email": "nobody@example.org"}, follow=True)

    assert response.redirect_chain == [(SENT, 302)]
    assert "Check your email" in response.content.decode()
    assert mailoutbox == []


def test_a_member_made_without_an_address_row_can_reset_too(
    client, alice, mailoutbox, emailed_link
):
    # As the admin's "add user" makes them: a User and no EmailAddress.
    alice.emailaddress_set.all().delete()
    link = ask_for_a_link(client, "alice@example.org", mailoutbox, emailed_link)

    response = set_password(client, link)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
