"""GroupBuy, GroupBuyPriceTier and GroupBuyParticipant move here from commerce with their tables (state only: not a
row moves), and their content types follow them (so permissions and admin log entries do)."""

import django.db.models.deletion
import microstage.ids
from django.conf import settings
from django.db import migrations, models


OLD_LABEL, NEW_LABEL = "commerce", "groupbuys"
MODELS = ["groupbuy", "groupbuypricetier", "groupbuyparticipant"]


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
        ('commerce', '0012_fulfilment_moves_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('microstage', '0007_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='GroupBuy',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('gb'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('event_id', models.CharField(blank=True, help_text='The show it runs during, if any (evt_…).', max_length=40)),
                    ('title', models.CharField(blank=True, max_length=120)),
                    ('deadline', models.DateTimeField(db_index=True)),
                    ('max_quantity', models.PositiveIntegerField(blank=True, help_text='Cap on committed units.', null=True)),
                    ('currency', models.CharField(max_length=3)),
                    ('status', models.CharField(choices=[('open', 'Open'), ('succeeded', 'Succeeded (settling)'), ('failed', 'Failed (releasing)'), ('settled', 'Settled')], db_index=True, default='open', max_length=12)),
                    ('committed_quantity', models.PositiveIntegerField(default=0)),
                    ('final_price', models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                    ('settle_started_at', models.DateTimeField(blank=True, null=True)),
                    ('settled_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='group_buys', to='microstage.creator')),
                    ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='group_buys', to='commerce.product')),
                    ('variant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='commerce.productvariant')),
                ],
                options={
                    'db_table': 'commerce_groupbuy',
                    'ordering': ['deadline'],
                },
            ),
            migrations.CreateModel(
                name='GroupBuyParticipant',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('gbp'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('quantity', models.PositiveIntegerField()),
                    ('customer', models.CharField(blank=True, help_text='Provider customer (saved-card path).', max_length=255)),
                    ('payment_method', models.CharField(blank=True, help_text='Saved payment method, if any.', max_length=255)),
                    ('status', models.CharField(choices=[('pending', 'Awaiting authorisation'), ('authorized', 'Authorised'), ('captured', 'Charged'), ('released', 'Released'), ('declined', 'Declined at settlement'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=12)),
                    ('charged_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                    ('outcome', models.CharField(blank=True, help_text='What settlement did, in words.', max_length=255)),
                    ('attempts', models.PositiveSmallIntegerField(default=0)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('settled_at', models.DateTimeField(blank=True, null=True)),
                    ('group_buy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='participants', to='groupbuys.groupbuy')),
                    ('order', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='group_buy_share', to='commerce.order')),
                    ('payment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='microstage.payment')),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='group_buys', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'commerce_groupbuyparticipant',
                    'ordering': ['group_buy', 'created_at'],
                },
            ),
            migrations.CreateModel(
                name='GroupBuyPriceTier',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('min_quantity', models.PositiveIntegerField()),
                    ('price', models.DecimalField(decimal_places=2, max_digits=10)),
                    ('group_buy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='price_tiers', to='groupbuys.groupbuy')),
                ],
                options={
                    'db_table': 'commerce_groupbuypricetier',
                    'ordering': ['group_buy', 'min_quantity'],
                },
            ),
            migrations.AddConstraint(
                model_name='groupbuy',
                constraint=models.CheckConstraint(condition=models.Q(('max_quantity__isnull', True), ('committed_quantity__lte', models.F('max_quantity')), _connector='OR'), name='groupbuy_within_cap'),
            ),
            migrations.AddConstraint(
                model_name='groupbuypricetier',
                constraint=models.UniqueConstraint(fields=('group_buy', 'min_quantity'), name='one_price_per_threshold'),
            ),
            migrations.AddConstraint(
                model_name='groupbuypricetier',
                constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='groupbuy_tier_price_not_negative'),
            ),
        ], database_operations=[]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
