"""Today's email alerts keep working as channels.

Alerts went to the alert address of each job's creator while they were in its project.
Each project gets an email channel for each address its jobs alerted (its owner's too, as
the project's default), confirmed where the address was; each job selects its creator's
(the default, if they have left). Changes not yet delivered become a delivery to their
job's channel.
"""

from django.db import migrations
from django.utils import timezone


def alert_address(user, EmailAddress) -> tuple[str, bool]:
    """The member's alert address (as User.alert_address chose it), and whether it is
    confirmed; the unconfirmed sign-in address when there is none."""
    confirmed = {a.email.lower(): a for a in EmailAddress.objects.filter(user=user, verified=True)}
    chosen = confirmed.get(user.notification_email.lower())
    if chosen is None:
        chosen = next((address for address in confirmed.values() if address.primary), None)
    return (chosen.email, True) if chosen else (user.email, False)


def channels_for_todays_alerts(apps, schema_editor) -> None:
    Project = apps.get_model("accounts", "Project")
    EmailAddress = apps.get_model("account", "EmailAddress")
    Channel = apps.get_model("alerts", "Channel")
    Delivery = apps.get_model("alerts", "Delivery")
    Job = apps.get_model("jobs", "Job")
    HealthChange = apps.get_model("jobs", "HealthChange")
    now = timezone.now()
    for project in Project.objects.all():
        owner = project.memberships.get(role="owner").user
        members = set(project.members.all())
        channels, default = {}, None
        for user in [owner, *{job.user for job in project.jobs.filter(user__in=members)}]:
            address, confirmed = alert_address(user, EmailAddress)
            if address.lower() not in channels:
                channels[address.lower()] = Channel.objects.create(
                    project=project,
                    kind="email",
                    address=address,
                    confirmed_at=now if confirmed else None,
                    is_default=user == owner,
                )
            default = default or channels[address.lower()]
        for job in project.jobs.all():
            if job.user in members:
                address, _ = alert_address(job.user, EmailAddress)
                job.channels.add(channels[address.lower()])
            else:
                job.channels.add(default)
    undelivered = HealthChange.objects.filter(delivery__in=["pending", "sending"])
    for change in undelivered.order_by("id"):
        for channel in Job.objects.get(id=change.job_id).channels.all():
            Delivery.objects.create(
                channel=channel,
                job_id=change.job_id,
                change=change,
                kind=change.kind,
                created_at=change.created_at,
                attempts=change.attempts,
                retry_after=change.retry_after,
                last_error=change.last_error,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_channels"),
        ("jobs", "0013_job_channels"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.RunPython(channels_for_todays_alerts, migrations.RunPython.noop),
    ]
