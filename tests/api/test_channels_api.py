"""REST API v1 channels (/api/v1/channels/...) and the job's `channels` field: what a
member's key can see and change, and bad input refused per field."""

import pytest
from django.conf import settings
from django.core import mail

from alerts import delivery
from alerts.models import Channel, Delivery
from tests.conftest import make_channel, make_job, page_text

CHANNELS = "/api/v1/channels/"
SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


def the_email_channel(user) -> Channel:
    """The member's personal project's channel made with it (their sign-in address)."""
    return Channel.objects.get(project__memberships__user=user, kind="email")


def test_a_webhook_channel_is_created_and_its_url_never_read_back(alice_api, alice):
    url = "https://hooks.example.com/cron?token=s3cret"
    response = alice_api.post(
        CHANNELS, {"kind": "webhook", "name": "Ops hook", "url": url}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("kind", "name", "url", "confirmed", "is_default")} == {
        "kind": "webhook",
        "name": "Ops hook",
        "url": "https://hooks.example.com/…",
        "confirmed": True,
        "is_default": False,
    }
    channel = Channel.objects.get(id=body["id"])
    assert channel.url == url
    assert "s3cret" not in channel.url_encrypted
    listed = alice_api.get(CHANNELS).json()["results"]
    assert "s3cret" not in str(listed)
    assert [item["kind"] for item in listed] == ["email", "webhook"]


def test_an_apprise_channel_shows_only_its_scheme(alice_api):
    response = alice_api.post(CHANNELS, {"kind": "apprise", "url": SLACK}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["url"] == "slack://…"
    assert Channel.objects.get(id=response.json()["id"]).url == SLACK


def test_an_email_channel_waits_for_the_link_sent_to_its_address(
    alice_api, alice, client, emailed_link, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(
            CHANNELS, {"kind": "email", "address": "oncall@example.net"}, format="json"
        )

    assert response.status_code == 201
    assert response.json()["confirmed"] is False
    (message,) = mail.outbox
    assert message.to == ["oncall@example.net"]
    path = emailed_link(message).removeprefix(settings.SITE_URL)
    assert "Get alerts at oncall@example.net?" in page_text(client.get(path))
    assert alice_api.get(f"{CHANNELS}{response.json()['id']}/").json()["confirmed"] is False
    assert "Address confirmed" in page_text(client.post(path))
    assert alice_api.get(f"{CHANNELS}{response.json()['id']}/").json()["confirmed"] is True


def test_a_confirmation_link_for_an_address_since_changed_confirms_nothing(
    alice_api, client, emailed_link, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_api.post(
            CHANNELS, {"kind": "email", "address": "oncall@example.net"}, format="json"
        ).json()
    link = emailed_link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        changed = {"address": "other@example.net"}
        alice_api.patch(f"{CHANNELS}{created['id']}/", changed, format="json")

    page = client.post(link.removeprefix(settings.SITE_URL))

    assert page.status_code == 400
    assert Channel.objects.get(id=created["id"]).confirmed_at is None
    assert [message.to for message in mail.outbox] == [
        ["oncall@example.net"],
        ["other@example.net"],
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "pigeon", "url": "https://example.com/"}, "kind", "is not a valid choice"),
        ({"kind": "apprise", "url": "slack://nonsense"}, "url", "Apprise cannot read this URL"),
        ({"kind": "apprise", "url": "mailto://me@example.com"}, "url", "these kinds"),
        ({"kind": "webhook", "url": "ftp://example.com/"}, "url", "Only http:// and https://"),
        ({"kind": "webhook"}, "url", "Enter the URL"),
        ({"kind": "email", "address": "not an address"}, "address", "valid email"),
        ({"kind": "email"}, "address", "Enter the address"),
    ],
)
def test_bad_input_is_refused_on_its_field(alice_api, body, field, message):
    response = alice_api.post(CHANNELS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert message in " ".join(response.json()[field])
    assert Channel.objects.count() == 1  # only alice's email channel


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/"},
        {"kind": "webhook", "url": "http://127.0.0.1:8080/hook"},
        {"kind": "apprise", "url": "ntfy://169.254.169.254/topic"},
        {"kind": "apprise", "url": "json://10.0.0.7:8080/hook"},
    ],
)
def test_a_channel_to_an_internal_address_is_refused_when_saved(
    alice_api, private_targets_refused, body
):
    response = alice_api.post(CHANNELS, body, format="json")

    assert response.status_code == 400
    assert "internal address" in response.json()["url"][0]


def test_the_kind_cannot_change(alice_api, alice):
    channel = make_channel(alice, url="https://hooks.example.com/a")

    response = alice_api.patch(f"{CHANNELS}{channel.id}/", {"kind": "email"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["kind"]


def test_patch_changes_the_name_and_keeps_the_url(alice_api, alice):
    channel = make_channel(alice, url="https://hooks.example.com/a?token=x")

    response = alice_api.patch(f"{CHANNELS}{channel.id}/", {"name": "Renamed"}, format="json")

    assert response.status_code == 200
    channel.refresh_from_db()
    assert (channel.name, channel.url) == ("Renamed", "https://hooks.example.com/a?token=x")


def test_a_test_send_is_accepted_and_shows_in_the_last_deliveries(alice_api, alice):
    channel = the_email_channel(alice)

    response = alice_api.post(f"{CHANNELS}{channel.id}/test/")

    assert response.status_code == 202
    assert (response.json()["kind"], response.json()["status"]) == ("test", "pending")
    delivery.deliver_pending()
    (last,) = alice_api.get(f"{CHANNELS}{channel.id}/").json()["last_deliveries"]
    assert (last["kind"], last["status"], last["last_error"]) == ("test", "sent", "")
    assert [message.subject for message in mail.outbox] == ["Test alert from cronsvc"]


def test_delete_removes_the_channel_from_its_jobs(alice_api, alice):
    channel = make_channel(alice, url="https://hooks.example.com/a")
    job = make_job(alice)
    job.channels.add(channel)

    assert alice_api.delete(f"{CHANNELS}{channel.id}/").status_code == 204

    assert list(job.channels.all()) == [the_email_channel(alice)]


def test_a_read_only_key_reads_but_cannot_add_or_test(alice_read_only_api, alice):
    channel = the_email_channel(alice)

    assert alice_read_only_api.get(CHANNELS).status_code == 200
    added = alice_read_only_api.post(
        CHANNELS, {"kind": "webhook", "url": "https://example.com/"}, format="json"
    )
    assert added.status_code == 403
    assert alice_read_only_api.post(f"{CHANNELS}{channel.id}/test/").status_code == 403
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "test/")],
)
def test_bob_cannot_reach_alices_channel(bob_api, alice, method, path):
    channel = the_email_channel(alice)

    response = getattr(bob_api, method)(f"{CHANNELS}{channel.id}/{path}", {}, format="json")

    assert response.status_code == 404
    assert Channel.objects.filter(id=channel.id).exists()
    assert not Delivery.objects.exists()


def test_bob_does_not_see_alices_channels(bob_api, bob, alice):
    listed = bob_api.get(CHANNELS).json()["results"]

    assert [item["address"] for item in listed] == ["bob@example.org"]


def test_a_job_selects_its_channels_by_id(alice_api, alice):
    hook = make_channel(alice, url="https://hooks.example.com/a")
    body = {"title": "Report", "url": "https://example.com/", "schedule": "0 9 * * *"}

    created = alice_api.post("/api/v1/jobs/", {**body, "channels": [hook.id]}, format="json")
    defaults = alice_api.post("/api/v1/jobs/", body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["channels"] == [hook.id]
    assert defaults.json()["channels"] == [the_email_channel(alice).id]
    changed = alice_api.patch(
        f"/api/v1/jobs/{created.json()['id']}/", {"channels": []}, format="json"
    )
    assert changed.json()["channels"] == []


def test_a_job_cannot_select_another_projects_channel(alice_api, alice, bob):
    bobs = the_email_channel(bob)
    job = make_job(alice)

    response = alice_api.patch(f"/api/v1/jobs/{job.id}/", {"channels": [bobs.id]}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["channels"]
    assert list(job.channels.all()) == [the_email_channel(alice)]


def test_channel_changes_are_in_the_audit_log_without_the_url(alice_api, alice):
    url = "https://hooks.example.com/a?token=s3cret"
    created = alice_api.post(CHANNELS, {"kind": "webhook", "name": "Ops", "url": url}).json()
    alice_api.patch(f"{CHANNELS}{created['id']}/", {"url": url + "2", "name": "Ops 2"})
    alice_api.delete(f"{CHANNELS}{created['id']}/")

    entries = alice_api.get("/api/v1/audit/").json()["results"]

    assert [entry["action"] for entry in entries] == [
        "channel.deleted",
        "channel.updated",
        "channel.created",
    ]
    assert entries[1]["changes"] == {"name": ["Ops", "Ops 2"], "url_encrypted": "(changed)"}
    assert "s3cret" not in str(entries)
