from django.db import migrations, models

import accounts.models


def give_each_project_a_key(apps, schema_editor):
    Project = apps.get_model("accounts", "Project")
    for project in Project.objects.filter(tag_badge_key=None).only("id"):
        project.tag_badge_key = accounts.models.new_badge_key()
        project.save(update_fields=["tag_badge_key"])


class Migration(migrations.Migration):
    # A callable default gives every existing row the same value: added empty, filled in
    # row by row, then made unique.
    dependencies = [("accounts", "0007_project_signing_secret")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="tag_badge_key",
            field=models.CharField(max_length=32, null=True),
        ),
        migrations.RunPython(give_each_project_a_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="project",
            name="tag_badge_key",
            field=models.CharField(
                default=accounts.models.new_badge_key, max_length=32, unique=True
            ),
        ),
    ]
