"""ShippingBatch, Shipment, PickupWindow, Pickup, FulfilmentCost now belong to the fulfilment app (fulfilment/migrations/0001_initial.py): state only,
their tables stay as they are."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0011_payouts_move_out'),
        ('fulfilment', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='ShippingBatch'),
            migrations.DeleteModel(name='Shipment'),
            migrations.DeleteModel(name='PickupWindow'),
            migrations.DeleteModel(name='Pickup'),
            migrations.DeleteModel(name='FulfilmentCost'),
        ], database_operations=[]),
    ]
