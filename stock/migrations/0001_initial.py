"""StockLocation, StockMovement, StockOverride and PosSale move here from commerce with their tables (state only:
not a row moves), and their content types follow them (so permissions and admin log entries do)."""

import django.db.models.deletion
import microstage.ids
from django.conf import settings
from django.db import migrations, models


OLD_LABEL, NEW_LABEL = "commerce", "stock"
MODELS = ["stocklocation", "stockmovement", "stockoverride", "possale"]


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
        ('commerce', '0009_risk_moves_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('microstage', '0007_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='StockLocation',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('loc'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('name', models.CharField(max_length=80)),
                    ('kind', models.CharField(choices=[('central', 'Central stock'), ('popup', 'Pop-up')], default='popup', max_length=8)),
                    ('event_id', models.CharField(blank=True, help_text='The show a pop-up belongs to (evt_…).', max_length=40)),
                    ('is_active', models.BooleanField(default=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stock_locations', to='microstage.creator')),
                ],
                options={
                    'db_table': 'commerce_stocklocation',
                    'ordering': ['creator', 'kind', 'name'],
                },
            ),
            migrations.CreateModel(
                name='PosSale',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('pos'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('client_id', models.CharField(max_length=64, unique=True)),
                    ('items', models.JSONField(help_text='[{"variant": "var_…", "quantity": n, "unit_price": "12.00"}]')),
                    ('total', models.DecimalField(decimal_places=2, max_digits=12)),
                    ('currency', models.CharField(max_length=3)),
                    ('payment_method', models.CharField(choices=[('cash', 'Cash'), ('qr', "Paid by the buyer's phone (QR)")], max_length=8)),
                    ('status', models.CharField(choices=[('pending_payment', 'Waiting for the buyer to pay'), ('completed', 'Completed'), ('conflict', 'Sold more than the pop-up held'), ('back_ordered', 'Back-ordered'), ('cancelled', 'Cancelled')], db_index=True, default='completed', max_length=16)),
                    ('sold_at', models.DateTimeField(help_text='When the device rang it up (maybe offline).')),
                    ('synced_at', models.DateTimeField(auto_now_add=True)),
                    ('device', models.CharField(blank=True, max_length=80)),
                    ('resolution', models.CharField(blank=True, help_text='How a conflict was resolved.', max_length=200)),
                    ('order', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='pos_sale', to='commerce.order')),
                    ('sold_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('location', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pos_sales', to='stock.stocklocation')),
                ],
                options={
                    'db_table': 'commerce_possale',
                    'ordering': ['-sold_at'],
                },
            ),
            migrations.CreateModel(
                name='StockOverride',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('quantity', models.PositiveIntegerField()),
                    ('expires_at', models.DateTimeField()),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('location', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='overrides', to='stock.stocklocation')),
                    ('variant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='commerce.productvariant')),
                ],
                options={
                    'db_table': 'commerce_stockoverride',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.CreateModel(
                name='StockMovement',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('quantity', models.IntegerField(help_text='Positive in, negative out.')),
                    ('reason', models.CharField(choices=[('received', 'Received'), ('transfer_out', 'Transfer out'), ('transfer_in', 'Transfer in'), ('pos_sale', 'Pop-up sale'), ('online_sale', 'Online sale'), ('return', 'Return'), ('correction', 'Correction')], max_length=16)),
                    ('key', models.CharField(max_length=120, unique=True)),
                    ('note', models.CharField(blank=True, max_length=200)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('location', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='stock.stocklocation')),
                    ('variant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='commerce.productvariant')),
                ],
                options={
                    'db_table': 'commerce_stockmovement',
                    'ordering': ['-created_at', '-id'],
                    'indexes': [models.Index(fields=['location', 'variant'], name='movement_location_variant_idx')],
                },
            ),
        ], database_operations=[]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
