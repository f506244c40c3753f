"""GroupBuy, GroupBuyPriceTier, GroupBuyParticipant now belong to the groupbuys app (groupbuys/migrations/0001_initial.py): state only,
their tables stay as they are."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0012_fulfilment_moves_out'),
        ('groupbuys', '0001_initial'),
        ('fulfilment', '0002_alter_shippingbatch_group_buy'),  # its batches point at the new model first
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='GroupBuyPriceTier'),
            migrations.DeleteModel(name='GroupBuyParticipant'),
            migrations.DeleteModel(name='GroupBuy'),
        ], database_operations=[]),
    ]
