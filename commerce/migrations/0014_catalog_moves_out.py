"""Product and ProductVariant now belong to the catalog app (catalog/migrations/0001_initial.py): state only, their
tables stay as they are."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0013_groupbuys_move_out'),
        ('catalog', '0001_initial'),
        # their foreign keys point at the new models first
        ('events', '0012_products_move_to_catalog'),
        ('groupbuys', '0002_products_move_to_catalog'),
        ('stock', '0002_products_move_to_catalog'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='ProductVariant'),
            migrations.DeleteModel(name='Product'),
        ], database_operations=[]),
    ]
