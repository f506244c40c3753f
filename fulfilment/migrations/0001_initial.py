"""ShippingBatch, Shipment, PickupWindow, Pickup and FulfilmentCost move here from commerce with their tables (state
only: not a row moves), and their content types follow them (so permissions and admin log entries do)."""

import django.db.models.deletion
import microstage.ids
from django.conf import settings
from django.db import migrations, models


OLD_LABEL, NEW_LABEL = "commerce", "fulfilment"
MODELS = ["shippingbatch", "shipment", "pickupwindow", "pickup", "fulfilmentcost"]


def move_content_types(apps, schema_editor, old_label=OLD_LABEL, new_label=NEW_LABEL):
    """Relabel each model's content type; its id stays, so permissions and log entries follow. A content
    type already made under the new label (post_migrate ran in between) gives way: its permissions that
    the old one also has are dropped, the rest join the old one, then it goes."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for model in MODELS:
        old = ContentType.objects.using(db).filter(app_label=old_label, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.using(db).filter(app_label=new_label, model=model).first()
        if new is not None:
            have = set(Permission.objects.using(db).filter(content_type=old).values_list("codename", flat=True))
            Permission.objects.using(db).filter(content_type=new, codename__in=have).delete()
            Permission.objects.using(db).filter(content_type=new).update(content_type=old)
            new.delete()
        old.app_label = new_label
        old.save(update_fields=["app_label"])


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, old_label=NEW_LABEL, new_label=OLD_LABEL)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('commerce', '0011_payouts_move_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('microstage', '0007_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='PickupWindow',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('pkw'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('event_id', models.CharField(blank=True, max_length=40)),
                    ('place', models.CharField(max_length=160)),
                    ('starts_at', models.DateTimeField()),
                    ('ends_at', models.DateTimeField()),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pickup_windows', to='microstage.creator')),
                ],
                options={
                    'db_table': 'commerce_pickupwindow',
                    'ordering': ['starts_at'],
                },
            ),
            migrations.CreateModel(
                name='Pickup',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('picked_up_at', models.DateTimeField(blank=True, null=True)),
                    ('order', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='pickup', to='commerce.order')),
                    ('picked_up_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('window', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pickups', to='fulfilment.pickupwindow')),
                ],
                options={
                    'db_table': 'commerce_pickup',
                },
            ),
            migrations.CreateModel(
                name='ShippingBatch',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('shp'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('status', models.CharField(choices=[('open', 'Packing'), ('shipped', 'Shipped')], default='open', max_length=8)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('shipped_at', models.DateTimeField(blank=True, null=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shipping_batches', to='microstage.creator')),
                    ('group_buy', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='shipping_batch', to='commerce.groupbuy')),
                ],
                options={
                    'db_table': 'commerce_shippingbatch',
                },
            ),
            migrations.CreateModel(
                name='Shipment',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('sh'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('address', models.TextField(blank=True, max_length=1000)),
                    ('carrier', models.CharField(blank=True, max_length=40)),
                    ('tracking_number', models.CharField(blank=True, max_length=80)),
                    ('shipped_at', models.DateTimeField(blank=True, null=True)),
                    ('order', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='shipment', to='commerce.order')),
                    ('batch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='shipments', to='fulfilment.shippingbatch')),
                ],
                options={
                    'db_table': 'commerce_shipment',
                },
            ),
            migrations.CreateModel(
                name='FulfilmentCost',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('postage', 'Postage'), ('packaging', 'Packaging'), ('handling', 'Handling')], max_length=12)),
                    ('amount', models.DecimalField(decimal_places=2, max_digits=10)),
                    ('currency', models.CharField(max_length=3)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fulfilment_costs', to='commerce.order')),
                ],
                options={
                    'db_table': 'commerce_fulfilmentcost',
                    'constraints': [models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='fulfilment_cost_not_negative')],
                },
            ),
            migrations.AddConstraint(
                model_name='pickupwindow',
                constraint=models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='pickup_ends_after_start'),
            ),
        ], database_operations=[]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
