"""Guessing stream tokens: an address whose tokens keep missing is refused for a while, with a
429 and no database query per guess; other addresses, and their known tokens, are served."""

import json
import time

import pytest

from tests.factories import StreamFactory
from textpeak.lib import misses

pytestmark = pytest.mark.django_db

STATUS_URL = "/api/messages_status/"
GUESSER = "203.0.113.7"
NEIGHBOUR = "203.0.113.8"
UNKNOWN_UUID = "3f1c1a52-9d7e-4c1b-8a43-5a1f0d2b6c7e"


@pytest.fixture(autouse=True)
def three_misses_a_minute(settings):
    settings.UNKNOWN_KEY_MISS_LIMIT = 3
    settings.UNKNOWN_KEY_WINDOW_SECONDS = 60


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


def _post(client, authorization=None, *, address=GUESSER):
    extra = {"REMOTE_ADDR": address}
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    return client.post(
        STATUS_URL,
        json.dumps({"message_uuids": [UNKNOWN_UUID]}),
        content_type="application/json",
        **extra,
    )


def _guess(number: int) -> str:
    return f"tp_{number:043d}"


def _guesses(client, count, *, start=0, address=GUESSER):
    return [_post(client, _guess(start + n), address=address).status_code for n in range(count)]


def _assert_refused_for_guessing(response):
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 20
    assert response.json() == {
        "detail": f"Too many requests with an unknown token: retry after {retry_after} s"
    }


def test_it_stops_querying_after_a_few_unknown_tokens_from_one_address(
    client, token, django_assert_num_queries
):
    assert _guesses(client, 3) == [403, 403, 403]
    # The miss past the limit was looked up, and is the last one to be.
    _assert_refused_for_guessing(_post(client, _guess(3)))
    with django_assert_num_queries(0):
        response = _post(client, _guess(4))
    _assert_refused_for_guessing(response)


def test_it_still_serves_a_known_token_from_a_blocked_neighbour_address(client, token):
    assert _guesses(client, 4)[-1] == 429
    assert _post(client, token, address=NEIGHBOUR).status_code == 200
    assert _guesses(client, 1, address=NEIGHBOUR) == [403]


def test_it_refuses_the_blocked_address_whatever_its_token(client, token):
    assert _guesses(client, 4)[-1] == 429
    _assert_refused_for_guessing(_post(client, token))


def test_it_blocks_an_ipv6_address_with_its_whole_64_bit_network(client, token):
    assert _guesses(client, 4, address="2001:db8:1:2::1")[-1] == 429
    assert _guesses(client, 1, address="2001:db8:1:2:ffff::9") == [429]
    assert _post(client, token, address="2001:db8:1:3::1").status_code == 200


def test_a_process_that_has_not_seen_the_guesses_learns_of_them_at_its_first_miss(
    client, token, django_assert_num_queries
):
    assert _guesses(client, 4)[-1] == 429
    misses.forget()  # as in another web process: the misses are counted where all see them
    with django_assert_num_queries(1):
        _assert_refused_for_guessing(_post(client, _guess(9)))
    with django_assert_num_queries(0):
        _assert_refused_for_guessing(_post(client, _guess(10)))


def test_it_forgets_misses_after_the_window(client, settings, token):
    settings.UNKNOWN_KEY_MISS_LIMIT = 2
    settings.UNKNOWN_KEY_WINDOW_SECONDS = 0.5
    assert _guesses(client, 3) == [403, 403, 429]
    time.sleep(0.6)
    assert _guesses(client, 3, start=3) == [403, 403, 429]


def test_it_does_not_count_requests_without_a_well_formed_token(client, token):
    for authorization in (None, "garbage", "Bearer ", "tp_" + "a" * 500):
        assert [_post(client, authorization).status_code for _ in range(4)] == [403] * 4
    assert _post(client, token).status_code == 200
