"""Encryption of secrets at rest with the keys in ``TEXTPEAK_ENCRYPTION_KEYS``.

MultiFernet encrypts with the first key and decrypts with any, so a new key is added in front,
data is re-encrypted (``manage.py rotate_encryption_keys``), and the old key is dropped later.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Every column holding values of `encrypt`, by model: rotate_encryption_keys re-encrypts these,
# so a column missing here would keep an old key needed. Such columns are named *_encrypted;
# a test fails when a column holds encrypted values, or is so named, and is not listed.
ENCRYPTED_FIELDS = {
    "whatsapp.WhatsAppAccount": ("access_token_encrypted", "app_secret_encrypted"),
    "webhooks.WebhookEndpoint": (
        "headers_encrypted",
        "signing_secret_encrypted",
        "previous_signing_secret_encrypted",
    ),
}


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str | None:
    """``token`` encrypted with the first key, or None when it already is (so a rotation that
    stopped half-way can run again and skips what it did). Raises InvalidToken when no key
    decrypts it."""
    try:
        _fernet(tuple(settings.ENCRYPTION_KEYS[:1])).decrypt(token.encode())
    except InvalidToken:
        return fernet().rotate(token.encode()).decode()
    return None
