"""Delivery rules say whether delivery is allowed, whether the state sets hours (or says it sets none), when
the driver must be back, and a sub-cap for goods not yet ordered."""

from django.db import migrations, models


def hours_kind_fill(apps, schema_editor):
    DeliveryRule = apps.get_model("compliance", "DeliveryRule")
    DeliveryRule.objects.filter(hours_start__isnull=False, hours_end__isnull=False).update(hours="window")


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0008_sync_record_order_keys_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="deliveryrule",
            name="delivery_permitted",
            field=models.BooleanField(
                default=True, help_text="Off: the state's rules allow no retail delivery to customers."
            ),
        ),
        migrations.AddField(
            model_name="deliveryrule",
            name="hours",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not about hours"),
                    ("window", "Deliveries only between the hours given"),
                    ("none_stated", "The state's rules set no delivery hours"),
                ],
                default="",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="deliveryrule",
            name="return_by",
            field=models.TimeField(
                blank=True, null=True, help_text="The driver must be back at the premises by this local time."
            ),
        ),
        migrations.AddField(
            model_name="deliveryrule",
            name="unordered_value_cap",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=12,
                null=True,
                help_text="Of the vehicle's value, the most that may be goods not yet on a customer's order.",
            ),
        ),
        migrations.RunPython(hours_kind_fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="deliveryrule",
            constraint=models.CheckConstraint(
                condition=(
                    models.Q(hours="window", hours_start__isnull=False, hours_end__isnull=False)
                    | models.Q(hours="none_stated", hours_start__isnull=True, hours_end__isnull=True)
                    | models.Q(hours="")
                ),
                name="delivery_rule_hours_given_with_window",
            ),
        ),
        migrations.AddConstraint(
            model_name="deliveryrule",
            constraint=models.CheckConstraint(
                condition=models.Q(hours_start__isnull=True) | models.Q(hours_end__gt=models.F("hours_start")),
                name="delivery_rule_hours_in_order",
            ),
        ),
    ]
