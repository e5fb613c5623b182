"""accounts/migrations/0002: members from before allauth get EmailAddress rows from
email_verified_at and notification_email, on a database filled in the old shape."""

from datetime import UTC, datetime

import pytest

from tests.conftest import migrate

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0003_remove_user_email_verified_at")]
CONFIRMED_AT = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def old_shape(transactional_db):
    old = migrate(BEFORE)
    yield old.get_model("accounts", "User")
    migrate()  # back to the latest, whatever the test did


def addresses(user_id: int) -> list[tuple[str, bool, bool]]:
    from allauth.account.models import EmailAddress

    rows = EmailAddress.objects.filter(user_id=user_id).order_by("-primary", "email")
    return list(rows.values_list("email", "primary", "verified"))


def test_every_member_gets_their_addresses(old_shape):
    User = old_shape
    alice = User.objects.create(email="Alice@Example.org", email_verified_at=CONFIRMED_AT)
    carol = User.objects.create(email="carol@example.org")
    erin = User.objects.create(
        email="erin@example.org",
        email_verified_at=CONFIRMED_AT,
        notification_email="Alerts@Example.net",
    )
    frank = User.objects.create(
        email="frank@example.org",
        email_verified_at=CONFIRMED_AT,
        notification_email="frank@example.org",
    )

    migrate(AFTER)

    assert addresses(alice.pk) == [("alice@example.org", True, True)]
    assert addresses(carol.pk) == [("carol@example.org", True, False)]
    assert addresses(erin.pk) == [
        ("erin@example.org", True, True),
        ("alerts@example.net", False, True),
    ]
    assert addresses(frank.pk) == [("frank@example.org", True, True)]


def test_the_rule_for_alerts_keeps_each_members_alert_address(old_shape):
    User = old_shape
    ids = {
        "confirmed": User.objects.create(email="a@example.org", email_verified_at=CONFIRMED_AT),
        "unconfirmed": User.objects.create(email="c@example.org"),
        "elsewhere": User.objects.create(
            email="e@example.org",
            email_verified_at=CONFIRMED_AT,
            notification_email="alerts@example.net",
        ),
    }

    migrate(AFTER)

    from accounts.models import User as Member

    members = {name: Member.objects.get(pk=user.pk) for name, user in ids.items()}
    assert members["confirmed"].alert_address == "a@example.org"
    assert members["confirmed"].is_verified
    assert members["unconfirmed"].alert_address is None
    assert not members["unconfirmed"].is_verified
    assert members["elsewhere"].alert_address == "alerts@example.net"


def test_an_address_is_confirmed_for_one_member_at_most(old_shape):
    User = old_shape
    bob = User.objects.create(email="bob@example.org", email_verified_at=CONFIRMED_AT)
    # Two members once confirmed the same notification address, one of them bob's.
    dave = User.objects.create(
        email="dave@example.org",
        email_verified_at=CONFIRMED_AT,
        notification_email="shared@example.net",
    )
    erin = User.objects.create(
        email="erin@example.org",
        email_verified_at=CONFIRMED_AT,
        notification_email="shared@example.net",
    )
    gina = User.objects.create(
        email="gina@example.org",
        email_verified_at=CONFIRMED_AT,
        notification_email="BOB@example.org",
    )

    migrate(AFTER)

    assert addresses(bob.pk) == [("bob@example.org", True, True)]
    assert addresses(dave.pk)[1] == ("shared@example.net", False, True)
    assert addresses(erin.pk)[1] == ("shared@example.net", False, False)
    assert addresses(gina.pk)[1] == ("bob@example.org", False, False)


def test_migrating_back_keeps_who_was_confirmed(transactional_db):
    from accounts.models import User as Member

    alice = Member.objects.create_user("alice@example.org", verified=True)
    carol = Member.objects.create_user("carol@example.org")

    try:
        User = migrate(BEFORE).get_model("accounts", "User")
        assert User.objects.get(pk=alice.pk).email_verified_at is not None
        assert User.objects.get(pk=carol.pk).email_verified_at is None
    finally:
        migrate()
    assert addresses(alice.pk) == [("alice@example.org", True, True)]
