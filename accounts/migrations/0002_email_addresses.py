"""Every member gets allauth's EmailAddress rows: their sign-in address (primary, confirmed
when email_verified_at says so) and their notification address, confirmed (the old flow
stored it only once confirmed) unless it is someone's confirmed sign-in address or
another member's confirmed notification address (an address is confirmed for one member
at most)."""

from django.db import migrations
from django.utils import timezone


def create_email_addresses(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    members = User.objects.exclude(emailaddress__isnull=False).order_by("pk")
    # Sign-in addresses first: a member always keeps the address they sign in with.
    confirmed = {email.lower() for email in EmailAddress.objects.filter(verified=True).values_list("email", flat=True)}
    confirmed |= {
        email.lower()
        for email in members.filter(email_verified_at__isnull=False).values_list("email", flat=True)
    }
    for user in members.iterator():
        email = user.email.lower()
        rows = [
            EmailAddress(
                user=user, email=email, primary=True, verified=user.email_verified_at is not None
            )
        ]
        notification = user.notification_email.lower()
        if notification and notification != email:
            verified = notification not in confirmed
            confirmed.add(notification)
            rows.append(EmailAddress(user=user, email=notification, verified=verified))
        EmailAddress.objects.bulk_create(rows)


def restore_email_verified_at(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    verified = EmailAddress.objects.filter(primary=True, verified=True).values("user_id")
    User.objects.filter(pk__in=verified, email_verified_at__isnull=True).update(
        email_verified_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(create_email_addresses, restore_email_verified_at)]
