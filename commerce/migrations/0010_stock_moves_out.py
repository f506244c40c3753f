"""StockLocation, StockMovement, StockOverride, PosSale now belong to the stock app (stock/migrations/0001_initial.py): state only,
their tables stay as they are."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0009_risk_moves_out'),
        ('stock', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='StockLocation'),
            migrations.DeleteModel(name='StockMovement'),
            migrations.DeleteModel(name='StockOverride'),
            migrations.DeleteModel(name='PosSale'),
        ], database_operations=[]),
    ]
