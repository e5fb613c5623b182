"""The Channels page (alerts/views.py) and the job form's channel choice, as a member sees
them; another project's channels are not found."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Channel, Delivery
from tests.conftest import (
    labelled_rows,
    make_channel,
    make_job,
    page_text,
)
from tests.web.test_job_form import job_form_data

PAGE = "/channels/"


def alices_email_channel(alice) -> Channel:
    return Channel.objects.get(project__memberships__user=alice, kind="email")


def test_each_channel_shows_its_last_deliveries_and_errors(alice_client, alice):
    hook = make_channel(alice, name="Ops hook", url="https://hooks.example.com/a?token=s3cret")
    job = make_job(alice)
    Delivery.objects.create(
        channel=hook,
        job=job,
        kind="failing",
        status="pending",
        attempts=2,
        retry_after=timezone.now() + timedelta(minutes=2),
        last_error="Could not connect: connection refused",
    )

    response = alice_client.get(PAGE)

    text = page_text(response)
    assert "alice@example.org" in text
    assert "https://hooks.example.com/…" in text
    assert "s3cret" not in response.content.decode()
    assert labelled_rows(response) == [
        {
            "When": labelled_rows(response)[0]["When"],
            "Alert": "Failing: Nightly report",
            "Status": "Pending (2 tries)",
            "Error": "Could not connect: connection refused",
        }
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "apprise", "url": "slack://nonsense"}, "url", "Apprise cannot read this URL"),
        ({"kind": "webhook", "url": ""}, "url", "Enter the URL alerts go to."),
        ({"kind": "email", "address": ""}, "address", "Enter the address alerts go to."),
        ({"kind": "pigeon"}, "kind", "Select a valid choice."),
    ],
)
def test_bad_input_shows_on_its_field_and_saves_nothing(alice_client, data, field, message):
    response = alice_client.post(PAGE, data)

    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Channel.objects.count() == 1


def test_a_webhook_to_an_internal_address_is_refused(alice_client, private_targets_refused):
    response = alice_client.post(PAGE, {"kind": "webhook", "url": "http://169.254.169.254/"})

    assert "internal address" in response.context["form"].errors["url"][0]
    assert Channel.objects.count() == 1


def test_bob_cannot_test_or_delete_alices_channel(client, bob, alice):
    channel = alices_email_channel(alice)
    client.force_login(bob)

    assert client.post(f"/channels/{channel.id}/test/").status_code == 404
    assert client.post(f"/channels/{channel.id}/delete/").status_code == 404
    assert "alice@example.org" not in page_text(client.get(PAGE))
    assert Channel.objects.filter(id=channel.id).exists()
    assert not Delivery.objects.exists()


def test_a_new_job_form_ticks_the_default_channels_and_lists_only_the_projects(
    alice_client, alice, bob
):
    hook = make_channel(alice, name="Ops hook", url="https://hooks.example.com/a")

    form = alice_client.get("/jobs/new/").context["form"]

    assert list(form.fields["channels"].queryset) == [alices_email_channel(alice), hook]
    assert form.initial["channels"] == [alices_email_channel(alice)]


def test_the_job_form_saves_the_ticked_channels(alice_client, alice, bob, private_targets):
    hook = make_channel(alice, name="Ops hook", url="https://hooks.example.com/a")
    bobs = Channel.objects.get(project__memberships__user=bob)

    refused = alice_client.post("/jobs/new/", job_form_data(channels=[bobs.id]))
    created = alice_client.post("/jobs/new/", job_form_data(channels=[hook.id]))

    assert "channels" in refused.context["form"].errors
    assert created.status_code == 302
    (job,) = alice.jobs.all()
    assert list(job.channels.all()) == [hook]
