from django.db import migrations


def into_personal_projects(apps, schema_editor):
    """Each job goes to its member's personal project (made by accounts 0005)."""
    Job = apps.get_model("jobs", "Job")
    Membership = apps.get_model("accounts", "Membership")
    personal = dict(
        Membership.objects.filter(role="owner", project__personal=True).values_list(
            "user_id", "project_id"
        )
    )
    for user_id, project_id in personal.items():
        Job.objects.filter(user_id=user_id).update(project_id=project_id)


class Migration(migrations.Migration):
    # Data alone, between the schema changes around it (see accounts 0005).
    dependencies = [
        ("jobs", "0006_job_project"),
        ("accounts", "0005_personal_projects"),
    ]

    operations = [
        migrations.RunPython(into_personal_projects, migrations.RunPython.noop),
    ]
