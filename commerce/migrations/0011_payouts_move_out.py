"""Tip, LedgerEntry, Dispute, PayoutProfile, Payout, PayoutLine now belong to the payouts app (payouts/migrations/0001_initial.py): state only,
their tables stay as they are."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0010_stock_moves_out'),
        ('payouts', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='Tip'),
            migrations.DeleteModel(name='LedgerEntry'),
            migrations.DeleteModel(name='Dispute'),
            migrations.DeleteModel(name='PayoutProfile'),
            migrations.DeleteModel(name='Payout'),
            migrations.DeleteModel(name='PayoutLine'),
        ], database_operations=[]),
    ]
