"""The migration that gives every existing WhatsApp account its secret callback path."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# The streams app too: a column it added later (NOT NULL, without a default in the database)
# would refuse the rows written with the models of then.
BEFORE = [("whatsapp", "0003_inbound_payload"), ("streams", "0003_ip_acl_entries_strict")]
AFTER = [("whatsapp", "0005_whatsappaccount_callback_key_unique")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_gives_each_existing_account_its_own_callback_key():
    apps = _migrate(BEFORE)
    Account = apps.get_model("accounts", "Account")
    Stream = apps.get_model("streams", "Stream")
    WhatsAppAccount = apps.get_model("whatsapp", "WhatsAppAccount")
    company = Account.objects.create(name="Acme Ltd")
    for name in ("Orders", "Returns"):
        stream = Stream.objects.create(account=company, type="whatsapp", name=name)
        WhatsAppAccount.objects.create(stream=stream, business_id="102000000000001")
    try:
        apps = _migrate(AFTER)
        keys = list(
            apps.get_model("whatsapp", "WhatsAppAccount").objects.values_list(
                "callback_key", flat=True
            )
        )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert len(set(keys)) == 2
    assert all(len(key) >= 43 for key in keys)
