"""CheckoutAttempt and RiskReview now belong to the risk app (risk/migrations/0001_initial.py): state only,
their tables stay as they are."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0008_one_stock'),
        ('risk', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='CheckoutAttempt'),
            migrations.DeleteModel(name='RiskReview'),
        ], database_operations=[]),
    ]
