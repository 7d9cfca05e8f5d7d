"""Regenerate token, keeping the old one working for 24 hours: the API accepts it until then,
and answers it afterwards as it answers a token it never issued; the console says until when."""

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from streams import services
from streams.models import Stream
from tests.factories import StreamFactory

pytestmark = pytest.mark.django_db

STATUS_URL = "/api/messages_status/"
UNKNOWN_UUID = "3f1c1a52-9d7e-4c1b-8a43-5a1f0d2b6c7e"
TOKEN = re.compile(r"tp_[A-Za-z0-9_-]{43}")
REGENERATED_AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


@pytest.fixture
def clock(monkeypatch):
    """``clock.at(moment)``: what timezone.now answers from then on."""

    class Clock:
        def at(self, moment: datetime) -> None:
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


def _post(client, token):
    return client.post(
        STATUS_URL,
        json.dumps({"message_uuids": [UNKNOWN_UUID]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )


def _answer(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def _unknown_token_answer(client) -> tuple[int, dict]:
    return _answer(_post(client, "tp_" + "x" * 43))


def _regenerate(client, stream, **data):
    response = client.post(reverse("streams:regenerate_token", args=[stream.uid]), data)
    return response, TOKEN.search(response.content.decode())[0]


# -- the API, from the side of whoever holds a token


def test_the_old_token_works_during_the_overlap(client, stream, token, clock):
    clock.at(REGENERATED_AT)
    new = services.stream_token_regenerate(stream=stream, keep_old=True)
    clock.at(REGENERATED_AT + timedelta(hours=23, minutes=59))

    assert _post(client, token).status_code == 200
    assert _post(client, new).status_code == 200


def test_the_old_token_is_refused_after_the_overlap_as_an_unknown_token(
    client, stream, token, clock
):
    clock.at(REGENERATED_AT)
    new = services.stream_token_regenerate(stream=stream, keep_old=True)
    clock.at(REGENERATED_AT + timedelta(hours=24, seconds=1))

    assert _answer(_post(client, token)) == _unknown_token_answer(client)
    assert _post(client, new).status_code == 200


def test_the_old_token_stops_at_its_expiry_even_for_a_process_that_has_just_seen_it(
    client, settings, stream, token, clock
):
    settings.API_CACHE_SECONDS = 3600
    clock.at(REGENERATED_AT)
    services.stream_token_regenerate(stream=stream, keep_old=True)
    assert _post(client, token).status_code == 200

    clock.at(REGENERATED_AT + timedelta(hours=24, seconds=1))

    assert _answer(_post(client, token)) == _unknown_token_answer(client)


def test_regenerating_without_the_overlap_kills_the_old_token_at_once(client, stream, token):
    services.stream_token_regenerate(stream=stream)

    assert _answer(_post(client, token)) == _unknown_token_answer(client)


def test_regenerating_again_stops_the_token_the_first_regeneration_kept(client, stream, token):
    second = services.stream_token_regenerate(stream=stream, keep_old=True)
    third = services.stream_token_regenerate(stream=stream, keep_old=True)

    assert _answer(_post(client, token)) == _unknown_token_answer(client)
    assert _post(client, second).status_code == 200
    assert _post(client, third).status_code == 200


def test_regenerating_without_the_overlap_stops_a_kept_token_too(client, stream, token):
    services.stream_token_regenerate(stream=stream, keep_old=True)
    services.stream_token_regenerate(stream=stream)

    assert _answer(_post(client, token)) == _unknown_token_answer(client)


def test_deleting_the_stream_stops_its_kept_old_token(client, stream, token):
    services.stream_token_regenerate(stream=stream, keep_old=True)
    services.stream_delete(stream=stream)

    assert _answer(_post(client, token)) == _unknown_token_answer(client)


def test_the_old_token_is_one_query_as_the_new_one(client, stream, token):
    services.stream_token_regenerate(stream=stream, keep_old=True)

    with CaptureQueriesContext(connection) as queries:
        assert _post(client, token).status_code == 200

    lookups = [q["sql"] for q in queries.captured_queries if '"streams_stream"' in q["sql"]]
    assert len(lookups) == 1
    assert "old_token_hash" in lookups[0]


def test_the_old_token_names_its_own_stream_only(client, account, stream, token):
    other = StreamFactory(account=account, name="Other")
    services.stream_token_regenerate(stream=other)
    services.stream_token_regenerate(stream=stream, keep_old=True)
    services.stream_disable(stream=other)

    assert _post(client, token).status_code == 200


def test_only_hashes_of_the_old_token_are_stored(stream, token):
    services.stream_token_regenerate(stream=stream, keep_old=True)

    row = Stream.objects.filter(pk=stream.pk).values().get()
    assert token not in json.dumps(row, default=str)
    assert row["old_token_prefix"] == token[:8]


# -- the console


def test_regenerate_keeps_the_old_token_only_when_asked(owner_client, client, stream, token):
    _regenerate(owner_client, stream)

    assert _answer(_post(client, token)) == _unknown_token_answer(client)


def test_regenerate_offers_to_keep_the_old_token_unchecked(owner_client, stream, token):
    page = owner_client.get(reverse("streams:regenerate_token", args=[stream.uid])).content

    box = re.search(rb'<input type="checkbox" name="keep_old_token"[^>]*>', page)[0]
    assert b"checked" not in box
    assert "Keep the old token working for 24 hours" in page.decode()


def test_regenerate_with_the_box_says_until_when_the_old_token_works(
    owner_client, client, stream, token, clock
):
    clock.at(REGENERATED_AT)

    response, new = _regenerate(owner_client, stream, keep_old_token="on")

    page = html.unescape(response.content.decode())
    assert f"({token[:8]}…) keeps working until 3 Mar 2026, 09:15 UTC" in re.sub(
        r"</?code>", "", page
    )
    assert response["Cache-Control"] == "no-store"
    assert token not in page
    assert _post(client, token).status_code == 200
    assert _post(client, new).status_code == 200


def test_the_info_tab_shows_the_old_tokens_expiry(owner_client, stream, token, clock):
    clock.at(REGENERATED_AT)
    services.stream_token_regenerate(stream=stream, keep_old=True)

    page = html.unescape(
        owner_client.get(reverse("streams:detail", args=[stream.uid])).content.decode()
    )

    assert f"<dt>Old token</dt><dd><code>{token[:8]}…</code> works until 3 Mar 2026" in page
    assert token not in page


def test_the_info_tab_no_longer_shows_the_old_token_after_it_expired(
    owner_client, stream, token, clock
):
    clock.at(REGENERATED_AT)
    services.stream_token_regenerate(stream=stream, keep_old=True)
    clock.at(REGENERATED_AT + timedelta(hours=24, seconds=1))

    page = owner_client.get(reverse("streams:detail", args=[stream.uid])).content.decode()

    assert "Old token" not in page
