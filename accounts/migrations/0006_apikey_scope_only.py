import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """After 0005 filled them in."""

    dependencies = [
        ("accounts", "0005_personal_projects"),
    ]

    operations = [
        migrations.RemoveField(
            model_name='apikey',
            name='read_only',
        ),
        migrations.AlterField(
            model_name='apikey',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='accounts.project'),
        ),
        ]
