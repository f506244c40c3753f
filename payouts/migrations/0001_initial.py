"""Tip, LedgerEntry, Dispute, PayoutProfile, Payout and PayoutLine move here from commerce with their tables (state
only: not a row moves), and their content types follow them (so permissions and admin log entries do)."""

import django.db.models.deletion
import microstage.ids
from django.conf import settings
from django.db import migrations, models


OLD_LABEL, NEW_LABEL = "commerce", "payouts"
MODELS = ["tip", "ledgerentry", "dispute", "payoutprofile", "payout", "payoutline"]


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
        ('commerce', '0010_stock_moves_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('microstage', '0007_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Dispute',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('dsp'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('provider_reference', models.CharField(max_length=255, unique=True)),
                    ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                    ('currency', models.CharField(max_length=3)),
                    ('reason', models.CharField(blank=True, max_length=120)),
                    ('status', models.CharField(choices=[('open', 'Open'), ('won', 'Won'), ('lost', 'Lost')], db_index=True, default='open', max_length=8)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('resolved_at', models.DateTimeField(blank=True, null=True)),
                    ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='disputes', to='commerce.order')),
                ],
                options={
                    'db_table': 'commerce_dispute',
                },
            ),
            migrations.CreateModel(
                name='LedgerEntry',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('sale', 'Sale (gross)'), ('fee', 'Platform fee'), ('refund', 'Refund'), ('dispute_hold', 'Held for a dispute'), ('dispute_release', 'Dispute resolved'), ('dispute_loss', 'Dispute lost'), ('payout', 'Payout')], max_length=16)),
                    ('amount', models.DecimalField(decimal_places=2, help_text='Positive credits, negative debits.', max_digits=12)),
                    ('currency', models.CharField(max_length=3)),
                    ('key', models.CharField(max_length=120, unique=True)),
                    ('note', models.CharField(blank=True, max_length=255)),
                    ('available_at', models.DateTimeField(blank=True, help_text="When a sale (and its fee and refunds) stops being pending: the show's end plus the settling period. Empty means at once.", null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to='microstage.creator')),
                    ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='commerce.order')),
                ],
                options={
                    'verbose_name_plural': 'ledger entries',
                    'db_table': 'commerce_ledgerentry',
                    'ordering': ['-created_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='Payout',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('pyt'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                    ('currency', models.CharField(max_length=3)),
                    ('status', models.CharField(choices=[('pending', 'Being sent'), ('in_transit', 'On its way'), ('paid', 'Paid'), ('failed', 'Failed')], db_index=True, default='pending', max_length=12)),
                    ('method', models.CharField(choices=[('sandbox', 'Sandbox (test mode)'), ('stripe', 'Stripe Connect')], max_length=8)),
                    ('schedule', models.CharField(choices=[('weekly', 'Weekly'), ('after_show', 'After each show')], max_length=12)),
                    ('key', models.CharField(help_text='One payout per creator, currency and period.', max_length=120, unique=True)),
                    ('destination', models.CharField(blank=True, max_length=64)),
                    ('transfer_reference', models.CharField(blank=True, max_length=255)),
                    ('provider_reference', models.CharField(blank=True, max_length=255)),
                    ('failure_reason', models.CharField(blank=True, max_length=255)),
                    ('expected_at', models.DateTimeField(blank=True, help_text='When it should land in the bank.', null=True)),
                    ('paid_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payouts', to='microstage.creator')),
                ],
                options={
                    'db_table': 'commerce_payout',
                    'ordering': ['-created_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='PayoutLine',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='payout_line', to='payouts.ledgerentry')),
                    ('payout', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='payouts.payout')),
                ],
                options={
                    'db_table': 'commerce_payoutline',
                    'ordering': ['payout', 'entry__created_at', 'entry_id'],
                },
            ),
            migrations.CreateModel(
                name='PayoutProfile',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('schedule', models.CharField(choices=[('weekly', 'Weekly'), ('after_show', 'After each show')], default='weekly', max_length=12)),
                    ('sandbox_connected', models.BooleanField(default=False, help_text="The sandbox's stand-in for a Connect account.")),
                    ('charges_enabled', models.BooleanField(default=False)),
                    ('payouts_enabled', models.BooleanField(default=False)),
                    ('details_submitted', models.BooleanField(default=False)),
                    ('requirements', models.JSONField(blank=True, default=list, help_text='What Stripe still needs (currently_due).')),
                    ('disabled_reason', models.CharField(blank=True, max_length=120)),
                    ('account_updated_at', models.DateTimeField(blank=True, null=True)),
                    ('creator', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='payout_profile', to='microstage.creator')),
                ],
                options={
                    'db_table': 'commerce_payoutprofile',
                },
            ),
            migrations.CreateModel(
                name='Tip',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('tip'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('event_id', models.CharField(blank=True, max_length=40)),
                    ('amount', models.DecimalField(decimal_places=2, max_digits=10)),
                    ('currency', models.CharField(max_length=3)),
                    ('message', models.CharField(blank=True, max_length=200)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tips', to='microstage.creator')),
                    ('order', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='tip', to='commerce.order')),
                    ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tips', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'commerce_tip',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.AddConstraint(
                model_name='payout',
                constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='payout_amount_positive'),
            ),
            migrations.AddConstraint(
                model_name='tip',
                constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='tip_amount_positive'),
            ),
        ], database_operations=[]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
