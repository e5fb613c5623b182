"""The migration to channels, run on a database filled in the old shape: alerts keep going
where they went (each job creator's alert address), and one waiting to go still goes."""

import pytest

from tests.conftest import migrate

BEFORE = [("jobs", "0012_chains_one_off_and_spread"), ("accounts", "0007_project_signing_secret")]
AFTER = [
    ("jobs", "0014_health_change_delivery_moved"),
    ("alerts", "0002_channels_for_todays_alerts"),
]


@pytest.mark.django_db(transaction=True)
def test_each_project_alerts_the_addresses_it_alerted_and_undelivered_changes_still_go():
    old = migrate(BEFORE)
    get = old.get_model
    User, EmailAddress = get("accounts", "User"), get("account", "EmailAddress")
    Project, Membership = get("accounts", "Project"), get("accounts", "Membership")
    Job, HealthChange = get("jobs", "Job"), get("jobs", "HealthChange")
    alice = User.objects.create(
        email="alice@example.org", password="x", notification_email="alerts@example.org"
    )
    EmailAddress.objects.create(user=alice, email="alice@example.org", primary=True, verified=True)
    EmailAddress.objects.create(user=alice, email="alerts@example.org", verified=True)
    carol = User.objects.create(email="carol@example.org", password="x")
    EmailAddress.objects.create(user=carol, email="carol@example.org", primary=True)
    team = Project.objects.create(name="Team")
    Membership.objects.create(project=team, user=alice, role="owner")
    Membership.objects.create(project=team, user=carol, role="member")
    alices = Job.objects.create(
        project=team, user=alice, title="A", url="https://example.com/", schedule="@daily"
    )
    carols = Job.objects.create(
        project=team, user=carol, title="C", url="https://example.com/", schedule="@daily"
    )
    waiting = HealthChange.objects.create(job=alices, kind="failing", attempts=2)
    HealthChange.objects.create(job=carols, kind="failing", delivery="sent")

    try:
        new = migrate(AFTER)
        Channel, Delivery = new.get_model("alerts", "Channel"), new.get_model("alerts", "Delivery")
        Job = new.get_model("jobs", "Job")
        channels = Channel.objects.filter(project_id=team.id).order_by("id")
        assert [
            (c.kind, c.address, c.is_default, c.confirmed_at is not None) for c in channels
        ] == [
            ("email", "alerts@example.org", True, True),
            ("email", "carol@example.org", False, False),  # not confirmed: nothing goes yet
        ]
        assert [c.address for c in Job.objects.get(id=alices.id).channels.all()] == [
            "alerts@example.org"
        ]
        assert [c.address for c in Job.objects.get(id=carols.id).channels.all()] == [
            "carol@example.org"
        ]
        (pending,) = Delivery.objects.all()
        assert (pending.change_id, pending.channel.address, pending.status, pending.attempts) == (
            waiting.id,
            "alerts@example.org",
            "pending",
            2,
        )
    finally:
        migrate()
