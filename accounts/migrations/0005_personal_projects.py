from django.db import migrations


def personal_projects(apps, schema_editor):
    """Every member gets the personal project a new member gets at sign-up, owning it;
    their API keys move into it, read-only keys with the read scope."""
    User = apps.get_model("accounts", "User")
    Project = apps.get_model("accounts", "Project")
    Membership = apps.get_model("accounts", "Membership")
    ApiKey = apps.get_model("accounts", "ApiKey")
    for user in User.objects.order_by("id"):
        project = Project.objects.create(name=f"{user.email}'s jobs", personal=True)
        Membership.objects.create(project=project, user=user, role="owner")
        ApiKey.objects.filter(user=user).update(project=project)
    ApiKey.objects.filter(read_only=True).update(scope="read")


class Migration(migrations.Migration):
    # Data alone: PostgreSQL will not alter a table (or index it, as Django does at the end
    # of a migration) with row changes pending in the same transaction.
    dependencies = [
        ("accounts", "0004_projects"),
    ]

    operations = [
        migrations.RunPython(personal_projects, migrations.RunPython.noop),
    ]
