"""Webhook signing secrets: how a new one is made, and the key each signature is made with.

A secret is shown as ``whsec_<base64>``. ``X-TextPeak-Signature`` is keyed with the whole string
as shown (its UTF-8 bytes), as it always was, so no customer's verification changes with a
secret's format. ``webhook-signature`` (Standard Webhooks) is keyed, as that standard says, with
the base64-decoded part after ``whsec_``.

New secrets are standard base64, padded, of `KEY_BYTES` random bytes: what the Standard Webhooks
libraries of every language decode. Secrets made before were ``whsec_`` and
``secrets.token_urlsafe(32)``, URL-safe base64 without padding, which those libraries decode
wrongly or refuse (Python's drops ``-`` and ``_``, Go's refuses them): their Standard Webhooks
key is still their own 32 random bytes (URL-safe decoding), and the Webhooks tab asks their
owners to rotate before verifying with a library.
"""

import base64
import binascii
import secrets

PREFIX = "whsec_"
KEY_BYTES = 32
# The Standard Webhooks specification's bounds on a key.
_STANDARD_KEY_BYTES = range(24, 65)


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def standard_key(secret: str) -> bytes:
    """The key of ``webhook-signature``: the part after the prefix, base64-decoded in either
    alphabet (standard for new secrets, URL-safe for older ones), padding optional."""
    encoded = secret.removeprefix(PREFIX).rstrip("=").replace("-", "+").replace("_", "/")
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def is_standard(secret: str) -> bool:
    """Whether the Standard Webhooks libraries decode this secret, as shown, to its key."""
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        return False
    return secret.startswith(PREFIX) and len(key) in _STANDARD_KEY_BYTES
