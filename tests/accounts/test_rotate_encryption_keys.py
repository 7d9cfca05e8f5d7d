"""manage.py rotate_encryption_keys: every encrypted column is re-encrypted with the first key
of TEXTPEAK_ENCRYPTION_KEYS, so the keys after it can be removed."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.management import CommandError, call_command

from tests.factories import StreamFactory
from textpeak.lib import crypto
from webhooks import services as webhooks
from webhooks.models import WebhookEndpoint
from whatsapp import services as whatsapp
from whatsapp.models import WhatsAppAccount

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
HEADERS = [("Authorization", "Bearer s3cr3t")]


@pytest.fixture
def secrets_under_the_old_key(settings, account):
    """Three streams with a Meta token, an app secret, webhook headers and a signing secret,
    all encrypted with OLD (one stream has no app secret and no headers, one a rotated secret
    still signing beside the new one)."""
    settings.ENCRYPTION_KEYS = [OLD]
    for i in range(3):
        stream = StreamFactory(account=account)
        whatsapp.whatsapp_settings_save(
            stream=stream,
            business_id=str(1000 + i),
            access_token=f"EAAG-token-{i}",
            app_secret=f"app-secret-{i}" if i else "",
        )
        endpoint = webhooks.webhook_save(
            stream=stream,
            method="POST",
            url="https://example.com/hook",
            headers=HEADERS if i else [],
        )
        if i == 2:
            webhooks.webhook_rotate_secret(endpoint=endpoint)


def _rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out)
    return out.getvalue()


def _secrets() -> list:
    """Every secret, decrypted with the keys in force."""
    return [(a.access_token(), a.app_secret()) for a in WhatsAppAccount.objects.order_by("pk")] + [
        (e.headers(), e.signing_secret()) for e in WebhookEndpoint.objects.order_by("pk")
    ]


def _stored_tokens() -> list[str]:
    return [
        value
        for label, fields in crypto.ENCRYPTED_FIELDS.items()
        for row in apps.get_model(label).objects.values_list(*fields)
        for value in row
        if value
    ]


def test_it_re_encrypts_every_secret_so_the_old_key_can_be_removed(
    settings, secrets_under_the_old_key
):
    before = _secrets()
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    output = _rotate("--batch-size", "2")
    assert "whatsapp.WhatsAppAccount.access_token_encrypted: 3 re-encrypted" in output
    assert "whatsapp.WhatsAppAccount.app_secret_encrypted: 2 re-encrypted, 0 already" in output
    assert "webhooks.WebhookEndpoint.headers_encrypted: 2 re-encrypted" in output
    assert "webhooks.WebhookEndpoint.signing_secret_encrypted: 3 re-encrypted" in output
    assert "webhooks.WebhookEndpoint.previous_signing_secret_encrypted: 1 re-encrypted" in output

    settings.ENCRYPTION_KEYS = [NEW]
    assert _secrets() == before
    tokens = _stored_tokens()
    assert len(tokens) == 11
    for token in tokens:
        with pytest.raises(InvalidToken):
            Fernet(OLD.encode()).decrypt(token.encode())


def test_it_can_run_again_and_skips_what_is_done(settings, secrets_under_the_old_key):
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    _rotate()
    tokens = _stored_tokens()
    output = _rotate()
    assert "whatsapp.WhatsAppAccount.access_token_encrypted: 0 re-encrypted, 3 already" in output
    assert _stored_tokens() == tokens


def test_it_names_the_values_no_key_decrypts(settings, secrets_under_the_old_key):
    # The old key was removed before the command ran: nothing is lost by running it, and it
    # says which rows are unreadable.
    settings.ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match="11 values could not be decrypted"):
        _rotate()


def test_it_lists_every_column_holding_encrypted_values(settings, secrets_under_the_old_key):
    """A column that holds Fernet tokens but is not in crypto.ENCRYPTED_FIELDS would keep the
    old key alive: every text column of every row is tried with the key."""
    settings.ENCRYPTION_KEYS = [OLD]
    found = set()
    for model in apps.get_models():
        text_fields = [
            field.name
            for field in model._meta.concrete_fields
            if field.get_internal_type() in ("TextField", "CharField")
        ]
        for row in model._base_manager.values(*text_fields) if text_fields else []:
            for name, value in row.items():
                try:
                    crypto.decrypt(value)
                except (InvalidToken, AttributeError):
                    continue
                found.add((model._meta.label, name))
    listed = {(label, name) for label, names in crypto.ENCRYPTED_FIELDS.items() for name in names}
    assert found == listed
    # So is every column named for holding them.
    named = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith("_encrypted")
    }
    assert named == listed
