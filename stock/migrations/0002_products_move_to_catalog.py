"""Stock movements and overrides point at variants in the catalog app now: state only, the columns and their constraints stay as they are (the tables did not move)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('stock', '0001_initial'),
        ('catalog', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='stockmovement',
                name='variant',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='catalog.productvariant'),
            ),
            migrations.AlterField(
                model_name='stockoverride',
                name='variant',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.productvariant'),
            ),
        ], database_operations=[]),
    ]
