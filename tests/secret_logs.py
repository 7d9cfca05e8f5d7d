"""No secret in any log line, in any test: every record the suite logs is written out as both
log formats write it, and after each test its lines are searched for the secrets made during
it, the fixed ones of the suite and the settings' keys.

A secret is noted where the app makes or keeps one, whoever asks (a factory, a view, a test):
``streams.tokens.issue`` (stream tokens), ``textpeak.lib.crypto.encrypt`` (Meta access tokens,
app secrets, webhook signing secrets and the values of webhooks' headers), and each saved
WhatsApp account (its callback key and verify token). ``tests/conftest.py`` uses the fixtures.
"""

import contextlib
import json
import logging
from unittest import mock

import pytest
from django.conf import settings
from django.db.models.signals import post_save

from streams import tokens
from tests.factories import APP_SECRET, PASSWORD
from tests.logs import configured_formatter
from textpeak.lib import crypto
from textpeak.logcontext import ContextFilter
from whatsapp.models import WhatsAppAccount

# Shorter values (a test's "x") would be found in lines by chance.
SHORTEST = 8


class _Lines(logging.Handler):
    """Every record as the text and the JSON formats write it."""

    def __init__(self):
        super().__init__()
        self.addFilter(ContextFilter())
        self.formats = (configured_formatter("text"), configured_formatter("json"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines += [log_format.format(record) for log_format in self.formats]


class _Secrets:
    def __init__(self):
        self.fixed = {PASSWORD, APP_SECRET, settings.SECRET_KEY, *settings.ENCRYPTION_KEYS}
        self.made: set[str] = set()

    def note(self, *values) -> None:
        self.made.update(value for value in values if value and len(value) >= SHORTEST)

    def found_in(self, lines: list[str]) -> list[tuple[str, str]]:
        secrets = self.fixed | self.made
        return [(secret, line) for line in lines for secret in secrets if secret in line]


def _noting_encrypt(secrets: _Secrets, encrypt):
    def wrapper(plaintext: str) -> str:
        secrets.note(plaintext)
        # A webhook's headers are encrypted as one JSON list of [name, value].
        with contextlib.suppress(ValueError, TypeError):
            secrets.note(*(value for _, value in json.loads(plaintext)))
        return encrypt(plaintext)

    return wrapper


def _noting_issue(secrets: _Secrets, issue):
    def wrapper():
        issued = issue()
        secrets.note(issued.token)
        return issued

    return wrapper


@pytest.fixture(scope="session")
def logged_lines():
    """The suite's log lines, and the secrets that must never be in them."""
    handler, secrets = _Lines(), _Secrets()

    def note_account(instance, **kwargs):
        secrets.note(instance.callback_key, instance.verify_token)

    post_save.connect(note_account, sender=WhatsAppAccount, weak=False)
    logging.getLogger().addHandler(handler)
    with (
        mock.patch.object(crypto, "encrypt", _noting_encrypt(secrets, crypto.encrypt)),
        mock.patch.object(tokens, "issue", _noting_issue(secrets, tokens.issue)),
    ):
        yield handler, secrets
    logging.getLogger().removeHandler(handler)
    post_save.disconnect(note_account, sender=WhatsAppAccount)


def _loggers_apart() -> list[logging.Logger]:
    """Loggers whose records never reach the root's handlers (django.server's)."""
    loggers = logging.root.manager.loggerDict.values()
    return [log for log in loggers if isinstance(log, logging.Logger) and not log.propagate]


@pytest.fixture(autouse=True)
def no_secret_logged(logged_lines):
    handler, secrets = logged_lines
    apart = _loggers_apart()
    for logger in apart:
        logger.addHandler(handler)
    yield
    for logger in apart:
        logger.removeHandler(handler)
    found = secrets.found_in(handler.lines)
    handler.lines.clear()
    secrets.made.clear()
    if found:
        secret, line = found[0]
        shown = line.replace(secret, f"<the secret {secret[:3]}…>")
        pytest.fail(f"A secret was logged: {shown}", pytrace=False)
