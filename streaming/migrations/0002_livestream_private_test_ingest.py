"""The private test ingest: a third key per stream (filled for existing streams) and its recording source."""
import secrets

import streaming.models
from django.db import migrations, models


def fill_test_keys(apps, schema_editor):
    LiveStream = apps.get_model("streaming", "LiveStream")
    for stream in LiveStream.objects.filter(test_key__isnull=True).only("pk"):
        LiveStream.objects.filter(pk=stream.pk).update(test_key=f"test_{secrets.token_urlsafe(24)}")


class Migration(migrations.Migration):

    dependencies = [
        ("streaming", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="livestream",
            name="test_key",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(fill_test_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="livestream",
            name="test_key",
            field=models.CharField(default=streaming.models.StreamKey("test"), max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="recording",
            name="source",
            field=models.CharField(choices=[("live", "Live ingest"), ("file", "Go live from a file"),
                                            ("upload", "Uploaded recording"),
                                            ("test", "Private test ingest (team only)")], max_length=8),
        ),
    ]
