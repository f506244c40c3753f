"""A group-buy's product and variant live in the catalog app now: state only, the columns and their constraints stay as they are (the tables did not move)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('groupbuys', '0001_initial'),
        ('catalog', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='groupbuy',
                name='product',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='group_buys', to='catalog.product'),
            ),
            migrations.AlterField(
                model_name='groupbuy',
                name='variant',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.productvariant'),
            ),
        ], database_operations=[]),
    ]
