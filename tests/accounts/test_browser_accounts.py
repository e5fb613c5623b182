"""A new member's first visit in a real browser: sign up, confirm, log in, make and revoke a
key; and a member with two-factor sign-in logging in with their authenticator app's code.

Finding every field by its label and every control by its role also checks that the pages
can be used without seeing them.
"""

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Page, expect

from accounts.models import ApiKey, User
from tests.conftest import PASSWORD, log_in_as_alice, totp_code

pytestmark = pytest.mark.browser

EMAIL = "dave@example.org"
DAVES_PASSWORD = "plum tree harbour 42"


def test_a_new_member_signs_up_confirms_logs_in_and_manages_a_key(
    page: Page, live_server, settings, mailoutbox, emailed_link
):
    settings.SITE_URL = live_server.url
    main = page.get_by_role("main")

    page.goto(live_server.url)
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign up").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(DAVES_PASSWORD)
    main.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    (message,) = mailoutbox
    assert message.to == [EMAIL]
    link = emailed_link(message)
    assert link.startswith(f"{live_server.url}/accounts/confirm-email/")
    page.goto(link)
    assert not User.objects.get(email=EMAIL).is_verified
    main.get_by_role("button", name="Confirm").click()

    expect(page.get_by_text(f"You have confirmed {EMAIL}.")).to_be_visible()
    assert User.objects.get(email=EMAIL).is_verified

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(EMAIL.upper())
    page.get_by_label("Password").fill(DAVES_PASSWORD)
    main.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    expect(main.get_by_text(f"Signed in as {EMAIL}.")).to_be_visible()
    settings_nav = page.get_by_role("navigation", name="Settings")
    settings_nav.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("No keys yet.")).to_be_visible()
    page.get_by_label("Name").fill("deploy script")
    expect(page.get_by_label("Scope")).to_have_value("write")
    page.get_by_role("button", name="Create key").click()
    # A new key asks for the password again; then it is made.
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Password").fill(DAVES_PASSWORD)
    main.get_by_role("button", name="Confirm").click()

    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    plain = page.locator("#new-key").inner_text()
    key = ApiKey.objects.get(user__email=EMAIL)
    assert plain.startswith(key.prefix + "_")
    row = page.get_by_role("row").filter(has_text="deploy script")
    expect(row).to_contain_text(f"{key.prefix}…")
    expect(row).to_contain_text("write")

    settings_nav.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("Copy it now")).to_have_count(0)
    expect(page.get_by_text(plain)).to_have_count(0)
    expect(row).to_contain_text(f"{key.prefix}…")

    row.get_by_role("button", name="Revoke deploy script").click()

    expect(page.get_by_text("The key “deploy script” has been revoked.")).to_be_visible()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke deploy script")).to_have_count(0)
    key.refresh_from_db()
    assert key.is_revoked


def test_a_member_with_an_authenticator_app_logs_in_with_its_code(
    page: Page, live_server, alice_totp
):
    main = page.get_by_role("main")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    main.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    page.get_by_label("Code").fill(totp_code(alice_totp))
    main.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
    page.get_by_role("link", name="Settings").click()
    expect(main.get_by_text("Two-factor sign-in is on.")).to_be_visible()


def test_a_member_adds_a_passkey_and_logs_in_with_it(page: Page, live_server, alice):
    """allauth's passkey pages run its own scripts, as static files under the
    Content-Security-Policy; the browser's virtual authenticator stands in for the key."""
    authenticator = page.context.new_cdp_session(page)
    authenticator.send("WebAuthn.enable")
    authenticator.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    main = page.get_by_role("main")
    log_in_as_alice(page, live_server)

    page.goto(f"{live_server.url}/accounts/2fa/webauthn/add/")
    page.get_by_label("Password").fill(PASSWORD)  # adding a key asks for it again
    main.get_by_role("button", name="Confirm").click()
    page.get_by_label("Name").fill("Laptop")
    main.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    assert Authenticator.objects.filter(user=alice, type="webauthn").count() == 1

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    main.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    main.get_by_role("button", name="Use a passkey or security key").click()

    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
