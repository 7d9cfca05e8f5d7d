"""Stream tokens: random, shown once, stored as a keyed hash that survives key rotation."""

import base64

import pytest
from django.db import connection

from streams import services, tokens
from streams.models import Stream
from tests.factories import StreamFactory


def _random_part(token):
    return token.removeprefix(tokens.PREFIX)


def test_it_carries_at_least_32_random_bytes():
    token = tokens.issue().token
    raw = base64.urlsafe_b64decode(_random_part(token) + "=" * (-len(_random_part(token)) % 4))
    assert len(raw) >= 32


def test_it_issues_a_different_token_each_time():
    issued = {tokens.issue().token for _ in range(50)}
    assert len(issued) == 50


def test_it_starts_every_token_with_the_visible_prefix():
    issued = tokens.issue()
    assert issued.token.startswith("tp_")
    assert issued.prefix == issued.token[:8]
    assert issued.prefix.startswith("tp_")


def test_it_hashes_with_the_secret_key():
    issued = tokens.issue()
    assert issued.hash == tokens.token_hash(issued.token)
    assert len(issued.hash) == 64
    assert issued.token not in issued.hash


def test_it_matches_the_right_token():
    issued = tokens.issue()
    assert tokens.token_matches(issued.token, issued.hash)


def test_it_does_not_match_another_token():
    assert not tokens.token_matches(tokens.issue().token, tokens.issue().hash)


def test_it_does_not_match_a_token_cut_short():
    issued = tokens.issue()
    assert not tokens.token_matches(issued.token[:-1], issued.hash)


def test_it_gives_different_tokens_different_hashes():
    first, second = tokens.issue(), tokens.issue()
    assert first.hash != second.hash
    assert tokens.token_hash(first.token) != tokens.token_hash(second.token)


def test_it_depends_on_the_secret_key(settings):
    issued = tokens.issue()
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = []
    assert not tokens.token_matches(issued.token, issued.hash)


def test_it_still_matches_after_the_secret_key_is_rotated(settings):
    old_key = settings.SECRET_KEY
    issued = tokens.issue()
    settings.SECRET_KEY = "rotated-secret-key-" + "z" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert tokens.token_matches(issued.token, issued.hash)
    assert issued.hash in tokens.token_hashes(issued.token)


def test_it_hashes_new_tokens_with_the_new_key_after_rotation(settings):
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-secret-key-" + "z" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    issued = tokens.issue()
    assert issued.hash == tokens.token_hash(issued.token, secret=settings.SECRET_KEY)
    assert issued.hash != tokens.token_hash(issued.token, secret=old_key)


@pytest.mark.django_db
def test_it_stores_only_the_hash_and_prefix_of_a_streams_token(account):
    stream = StreamFactory(account=account, status=Stream.Status.DRAFT)
    token = services.stream_activate(stream=stream, steps_done=4)
    stream.refresh_from_db()
    assert tokens.token_matches(token, stream.token_hash)
    assert stream.token_prefix == token[:8]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Stream._meta.db_table}")  # noqa: S608
        rows = cursor.fetchall()
    assert rows
    assert not any(token in str(value) for row in rows for value in row)
    assert not any(_random_part(token) in str(value) for row in rows for value in row)
