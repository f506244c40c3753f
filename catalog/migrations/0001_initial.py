"""Product and ProductVariant move here from commerce with their tables (state only: not a row moves), and their
content types follow them (so permissions and admin log entries do)."""

import django.db.models.deletion
import microstage.ids
import microstage.uploads
from django.db import migrations, models


OLD_LABEL, NEW_LABEL = "commerce", "catalog"
MODELS = ["product", "productvariant"]


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
        ('commerce', '0013_groupbuys_move_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('microstage', '0007_language'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Product',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('prd'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('name', models.CharField(max_length=120)),
                    ('description', models.TextField(blank=True, max_length=5000)),
                    ('kind', models.CharField(choices=[('physical', 'Physical'), ('digital', 'Digital')], default='physical', max_length=8)),
                    ('price', models.DecimalField(decimal_places=2, max_digits=10)),
                    ('currency', models.CharField(max_length=3)),
                    ('image', microstage.uploads.SafeImageField(blank=True, upload_to='creators/products/')),
                    ('digital_file', microstage.uploads.PrivateFileField(blank=True, help_text='For digital products: unlocked by a signed, expiring link.', upload_to='products/files/')),
                    ('is_active', models.BooleanField(default=True)),
                    ('made_to_order', models.BooleanField(default=False, help_text="Made after it is ordered: a group-buy of it takes no stock. Otherwise a group-buy holds units of the variant's stock until it settles, like the shop and drops.")),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='products', to='microstage.creator')),
                ],
                options={
                    'db_table': 'commerce_product',
                    'ordering': ['creator', 'name'],
                },
            ),
            migrations.CreateModel(
                name='ProductVariant',
                fields=[
                    ('id', models.CharField(default=microstage.ids.IdFactory('var'), editable=False, max_length=32, primary_key=True, serialize=False)),
                    ('name', models.CharField(help_text='e.g. "M / black"; "Default" for products without variants.', max_length=60)),
                    ('sku', models.CharField(blank=True, max_length=60)),
                    ('price', models.DecimalField(blank=True, decimal_places=2, help_text="Overrides the product's price when set.", max_digits=10, null=True)),
                    ('stock', models.PositiveIntegerField(default=0, help_text='Central stock available to sell online.')),
                    ('position', models.PositiveSmallIntegerField(default=0)),
                    ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variants', to='catalog.product')),
                ],
                options={
                    'db_table': 'commerce_productvariant',
                    'ordering': ['product', 'position', 'name'],
                },
            ),
            migrations.AddConstraint(
                model_name='product',
                constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='product_price_not_negative'),
            ),
        ], database_operations=[]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
