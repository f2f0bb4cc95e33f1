"""The quiet hours and frequency caps the gate starts with (messaging.gate_rules_seed)."""

from django.db import migrations

from messaging.gate_rules_seed import gate_rules_seed, gate_rules_unseed


def seed(apps, schema_editor):
    gate_rules_seed(apps.get_model("messaging", "QuietHoursRule"), apps.get_model("messaging", "FrequencyCapRule"))


def unseed(apps, schema_editor):
    gate_rules_unseed(
        apps.get_model("messaging", "QuietHoursRule"), apps.get_model("messaging", "FrequencyCapRule")
    )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_providers")]

    operations = [migrations.RunPython(seed, unseed)]
