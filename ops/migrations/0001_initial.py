from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Heartbeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("process", models.CharField(max_length=200)),
                ("instance", models.CharField(max_length=200, unique=True)),
                ("seen_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["process", "-seen_at"], name="heartbeat_process_idx")],
            },
        ),
    ]
