"""CheckoutAttempt and RiskReview move here from commerce with their tables (state only: not a row moves),
and their content types follow them (so permissions and admin log entries do)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


OLD_LABEL, NEW_LABEL = "commerce", "risk"
MODELS = ["checkoutattempt", "riskreview"]


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
        ('commerce', '0008_one_stock'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='RiskReview',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('score', models.PositiveSmallIntegerField()),
                    ('reasons', models.JSONField(default=list)),
                    ('status', models.CharField(choices=[('pending', 'Waiting for review'), ('approved', 'Approved'), ('rejected', 'Rejected (refunded)')], db_index=True, default='pending', max_length=10)),
                    ('decided_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('order', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='risk_review', to='commerce.order')),
                ],
                options={
                    'db_table': 'commerce_riskreview',
                },
            ),
            migrations.CreateModel(
                name='CheckoutAttempt',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('email', models.EmailField(blank=True, max_length=254)),
                    ('ip_hash', models.CharField(blank=True, max_length=64)),
                    ('card_fingerprint_hash', models.CharField(blank=True, max_length=64)),
                    ('succeeded', models.BooleanField(default=False)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='commerce.order')),
                    ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'commerce_checkoutattempt',
                    'indexes': [models.Index(fields=['email', 'created_at'], name='attempt_email_idx'), models.Index(fields=['ip_hash', 'created_at'], name='attempt_ip_idx'), models.Index(fields=['user', 'created_at'], name='attempt_user_idx')],
                },
            ),
        ], database_operations=[]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
