import re

from accounts.models import ApiKey, hash_key
from tests.conftest import reauthenticate, table_rows

API_KEYS = "/accounts/settings/api-keys/"


def revoke_url(key: ApiKey) -> str:
    return f"/accounts/settings/api-keys/{key.pk}/revoke/"


def shown_key(page: str) -> str:
    (plain,) = re.findall(r'<code class="secret" id="new-key">([^<]+)</code>', page)
    return plain


def test_creating_a_key_asks_for_the_password_again_first(client, alice):
    client.force_login(alice)

    response = client.post(API_KEYS, {"name": "deploy script"})

    assert response.status_code == 302
    assert response.url == f"/accounts/reauthenticate/?next={API_KEYS.replace('/', '%2F')}"
    assert not alice.api_keys.exists()
    reauthenticate(client)
    assert client.post(API_KEYS, {"name": "deploy script"}).status_code == 200
    assert alice.api_keys.get().name == "deploy script"


def test_listing_and_revoking_keys_need_no_fresh_password(client, alice, alice_key):
    client.force_login(alice)

    assert client.get(API_KEYS).status_code == 200
    assert client.post(revoke_url(alice.api_keys.get())).status_code == 302


def test_it_shows_a_new_key_once(alice_reauthenticated, alice):
    response = alice_reauthenticated.post(API_KEYS, {"name": "deploy script"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Copy it now: it will not be shown again." in page
    plain = shown_key(page)
    key = alice.api_keys.get()
    assert key.name == "deploy script"
    assert plain.startswith(key.prefix + "_")

    reloaded = alice_reauthenticated.get(API_KEYS).content.decode()
    assert plain not in reloaded
    assert "Copy it now" not in reloaded
    assert f"<code>{key.prefix}…</code>" in reloaded
    assert "deploy script" in reloaded


def test_it_stores_only_the_prefix_and_a_hash(alice_reauthenticated, alice):
    plain = shown_key(
        alice_reauthenticated.post(API_KEYS, {"name": "deploy script"}).content.decode()
    )

    key = alice.api_keys.get()
    assert key.prefix == plain[: len(key.prefix)]
    assert key.prefix.startswith("csk_")
    assert key.key_hash == hash_key(plain)
    stored = [str(value) for value in ApiKey.objects.values_list().get()]
    assert not any(plain in value for value in stored)


def test_each_key_is_different(alice_reauthenticated, alice):
    first = shown_key(alice_reauthenticated.post(API_KEYS, {"name": "one"}).content.decode())
    second = shown_key(alice_reauthenticated.post(API_KEYS, {"name": "two"}).content.decode())

    assert first != second
    assert alice.api_keys.count() == 2


def test_keys_write_unless_given_the_read_scope(alice_reauthenticated, alice):
    alice_reauthenticated.post(API_KEYS, {"name": "deploy script"})
    alice_reauthenticated.post(API_KEYS, {"name": "dashboard", "scope": "read"})

    assert dict(alice.api_keys.values_list("name", "scope")) == {
        "deploy script": "write",
        "dashboard": "read",
    }
    rows = {row[0]: row for row in table_rows(alice_reauthenticated.get(API_KEYS))}
    assert rows["deploy script"][3] == "write"
    assert rows["dashboard"][3] == "read"


def test_it_refuses_a_key_without_a_name(alice_reauthenticated, alice):
    response = alice_reauthenticated.post(API_KEYS, {"name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert 'id="new-key"' not in response.content.decode()
    assert not alice.api_keys.exists()


def test_it_revokes_a_key(alice_reauthenticated, alice, alice_key):
    key = alice.api_keys.get()

    response = alice_reauthenticated.post(revoke_url(key))

    assert response.status_code == 302
    assert response.url == API_KEYS
    key.refresh_from_db()
    assert key.is_revoked
    page = alice_reauthenticated.get(API_KEYS).content.decode()
    assert "The key “alice&#x27;s key” has been revoked." in page
    assert f"revoked {key.revoked_at:%Y-%m-%d}" in page
    assert 'aria-label="Revoke alice&#x27;s key"' not in page


def test_revoking_needs_a_post(alice_reauthenticated, alice, alice_key):
    key = alice.api_keys.get()

    assert alice_reauthenticated.get(revoke_url(key)).status_code == 405
    key.refresh_from_db()
    assert not key.is_revoked


def test_bob_cannot_revoke_alices_key(client, alice_key, alice, bob):
    key = alice.api_keys.get()
    client.force_login(bob)

    assert client.post(revoke_url(key)).status_code == 404
    key.refresh_from_db()
    assert not key.is_revoked


def test_bob_does_not_see_alices_keys(client, alice_key, alice, bob):
    client.force_login(bob)

    page = client.get(API_KEYS).content.decode()

    assert "alice&#x27;s key" not in page
    assert alice.api_keys.get().prefix not in page
    assert "No keys yet." in page
