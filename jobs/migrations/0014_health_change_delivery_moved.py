"""Delivery state moved from the health change to one row per channel (alerts.Delivery)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_channels_for_todays_alerts"),
        ("jobs", "0013_job_channels"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='healthchange',
            name='health_undelivered_idx',
        ),
        migrations.RemoveField(
            model_name='healthchange',
            name='attempts',
        ),
        migrations.RemoveField(
            model_name='healthchange',
            name='claimed_at',
        ),
        migrations.RemoveField(
            model_name='healthchange',
            name='delivery',
        ),
        migrations.RemoveField(
            model_name='healthchange',
            name='last_error',
        ),
        migrations.RemoveField(
            model_name='healthchange',
            name='notified_at',
        ),
        migrations.RemoveField(
            model_name='healthchange',
            name='retry_after',
        ),
    ]
