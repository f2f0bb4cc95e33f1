"""A pickup order's idempotency key belongs to its caller (an API client or a staff member), not to the store."""

from django.conf import settings
from django.db import migrations, models


def owners_fill(apps, schema_editor):
    PickupOrder = apps.get_model("pos", "PickupOrder")
    for order in PickupOrder.objects.exclude(api_client=None).only("pk", "api_client_id").iterator():
        PickupOrder.objects.filter(pk=order.pk).update(idempotency_owner=f"client:{order.api_client_id}")
    for order in PickupOrder.objects.filter(api_client=None).exclude(created_by=None).only("pk", "created_by_id"):
        PickupOrder.objects.filter(pk=order.pk).update(idempotency_owner=f"user:{order.created_by_id}")


class Migration(migrations.Migration):

    dependencies = [
        ('dispensary', '0004_checkout'),
        ('pos', '0004_register_checks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='pickuporder',
            name='pos_pickup_idempotency_per_store',
        ),
        migrations.AddField(
            model_name='pickuporder',
            name='idempotency_owner',
            field=models.CharField(default='', help_text='Whose key it is: "client:<id>" or "user:<id>"; two callers may use the same key.', max_length=40),
        ),
        migrations.RunPython(owners_fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='pickuporder',
            constraint=models.UniqueConstraint(fields=('store', 'idempotency_owner', 'idempotency_key'), name='pos_pickup_idempotency_per_caller'),
        ),
    ]
