import django.db.models.deletion
from django.db import migrations, models


def forget_unattributed(apps, schema_editor):
    """Statuses kept so far do not say which stream's callback received them, so applying one
    could move another tenant's message: forgotten. They live seconds normally, a day at most,
    and a message whose status is lost this way still takes the later ones (delivered,
    read)."""
    apps.get_model("whatsapp", "PendingStatus").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('streams', '0002_stream_setup_tokens_deletion'),
        ('whatsapp', '0005_whatsappaccount_callback_key_unique'),
    ]

    operations = [
        migrations.RunPython(forget_unattributed, migrations.RunPython.noop),
        migrations.AddField(
            model_name='pendingstatus',
            name='stream',
            field=models.ForeignKey(db_index=False, default=None, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='streams.stream'),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name='pendingstatus',
            index=models.Index(fields=['stream', 'id'], name='pending_status_stream_idx'),
        ),
        migrations.AddIndex(
            model_name='pendingstatus',
            index=models.Index(fields=['received_at'], name='pending_status_received_idx'),
        ),
    ]
