"""Drops, bundle items and tier perks point at products and variants in the catalog app now: state only, the columns and their constraints stay as they are (the tables did not move)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0011_language'),
        ('catalog', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='bundleitem',
                name='variant',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.productvariant'),
            ),
            migrations.AlterField(
                model_name='drop',
                name='product',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='drops', to='catalog.product'),
            ),
            migrations.AlterField(
                model_name='drop',
                name='variant',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='drops', to='catalog.productvariant'),
            ),
            migrations.AlterField(
                model_name='tierperk',
                name='product',
                field=models.ForeignKey(blank=True, help_text='Download: the digital product unlocked.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product'),
            ),
        ], database_operations=[]),
    ]
