"""Jobs select the channels their alerts go to (alerts.Channel)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_channels"),
        ("jobs", "0012_chains_one_off_and_spread"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="channels",
            field=models.ManyToManyField(blank=True, related_name="jobs", to="alerts.channel"),
        ),
    ]
