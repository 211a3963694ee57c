"""The feed clock (feed/clock.py): a version per neighbourhood, bumped by triggers, that keys the page cache."""
from django.db import migrations, models


def forward(apps, schema_editor):
    from entraide.feed.clock import create_triggers

    create_triggers(schema_editor.connection)


def backward(apps, schema_editor):
    from entraide.feed.clock import drop_triggers

    drop_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("feed", "0005_search_scoped_lexemes"), ("accounts", "0001_initial"), ("places", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="FeedClock",
            fields=[("neighbourhood_id", models.BigIntegerField(primary_key=True, serialize=False)),
                    ("version", models.BigIntegerField(default=0))],
        ),
        migrations.RunPython(forward, backward),
    ]
