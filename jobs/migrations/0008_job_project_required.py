import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """After 0007 filled it in."""

    dependencies = [
        ("jobs", "0007_jobs_into_personal_projects"),
    ]

    operations = [
        migrations.AlterField(
            model_name='job',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='accounts.project'),
        ),
        ]
