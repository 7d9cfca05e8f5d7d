from django.db import migrations, models

import whatsapp.models


def give_each_account_a_key(apps, schema_editor):
    WhatsAppAccount = apps.get_model("whatsapp", "WhatsAppAccount")
    for account in WhatsAppAccount.objects.filter(callback_key__isnull=True).only("pk"):
        account.callback_key = whatsapp.models.new_callback_key()
        account.save(update_fields=["callback_key"])


class Migration(migrations.Migration):
    """The secret callback path, in two steps: the column and a key for every existing
    account here, the unique constraint in 0005 (a single default would give every row the
    same key)."""

    dependencies = [
        ("whatsapp", "0003_inbound_payload"),
    ]

    operations = [
        migrations.AddField(
            model_name="whatsappaccount",
            name="callback_key",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(give_each_account_a_key, migrations.RunPython.noop),
    ]
