from django.db import migrations


def promote_first_members(apps, schema_editor):
    """Roles now matter: an account whose members were all left at the default role would have
    nobody able to change it, so its longest-standing member becomes its admin."""
    Account = apps.get_model("accounts", "Account")
    Member = apps.get_model("accounts", "Member")
    for account in Account.objects.exclude(members__role="admin"):
        first = Member.objects.filter(account=account).order_by("created_at", "id").first()
        if first is not None:
            first.role = "admin"
            first.save(update_fields=["role"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(promote_first_members, migrations.RunPython.noop)]
