"""Stream tokens: shown once, stored as a keyed hash with a short visible prefix.

A token carries 32 random bytes, so a fast keyed hash (HMAC-SHA256 with the secret key) is as
safe as a slow password hash and lets the send API find the stream with one indexed lookup.
"""

import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

PREFIX = "tp_"
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class IssuedToken:
    token: str
    prefix: str
    hash: str


def token_hash(token: str, *, secret: str | None = None) -> str:
    return salted_hmac(
        "textpeak.streams.token", token, secret=secret, algorithm="sha256"
    ).hexdigest()


def token_hashes(token: str) -> list[str]:
    """The token's hash under the current secret key and each fallback, so keys can rotate."""
    secrets_in_use = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [token_hash(token, secret=secret) for secret in secrets_in_use]


def token_matches(token: str, stored_hash: str) -> bool:
    return any(hmac.compare_digest(candidate, stored_hash) for candidate in token_hashes(token))


def issue() -> IssuedToken:
    token = PREFIX + secrets.token_urlsafe(32)
    return IssuedToken(token=token, prefix=token[:PREFIX_LENGTH], hash=token_hash(token))
