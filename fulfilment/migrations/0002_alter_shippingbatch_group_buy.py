"""The shipping batch's group-buy now lives in the groupbuys app: state only, the column and its constraint
stay as they are (the table did not move)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fulfilment', '0001_initial'),
        ('groupbuys', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='shippingbatch',
                name='group_buy',
                field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='shipping_batch', to='groupbuys.groupbuy'),
            ),
        ], database_operations=[]),
    ]
