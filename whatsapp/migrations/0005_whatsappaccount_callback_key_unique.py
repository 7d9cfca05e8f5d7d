from django.db import migrations, models

import whatsapp.models


class Migration(migrations.Migration):
    dependencies = [
        ("whatsapp", "0004_whatsappaccount_callback_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="whatsappaccount",
            name="callback_key",
            field=models.CharField(
                default=whatsapp.models.new_callback_key,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
    ]
