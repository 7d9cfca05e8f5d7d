"""Guessing callback URLs: an address whose callback ids keep missing is refused for a while,
in plain text with a 429, and without a database query per guess."""

import secrets

import pytest
from django.urls import reverse

from streams import services as stream_services
from tests.factories import StreamFactory
from tests.whatsapp.fixtures import WABA_ID, fixture
from whatsapp import services

pytestmark = pytest.mark.django_db

GUESSER = "203.0.113.7"


@pytest.fixture(autouse=True)
def three_misses_a_minute(settings):
    settings.UNKNOWN_KEY_MISS_LIMIT = 3
    settings.UNKNOWN_KEY_WINDOW_SECONDS = 60


def _guess(client, *, address=GUESSER):
    return client.post(
        reverse("whatsapp:callback", args=[secrets.token_urlsafe(32)]),
        data=fixture("text"),
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_it_answers_429_with_retry_after_for_unknown_callback_ids(
    client, enqueued, django_assert_num_queries
):
    assert [_guess(client).status_code for _ in range(3)] == [404, 404, 404]
    assert _guess(client).status_code == 429
    with django_assert_num_queries(0):
        response = _guess(client)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/plain")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 20
    assert (
        response.text == f"Too many requests for unknown callback URLs: retry after {retry_after} s"
    )
    assert _guess(client, address="203.0.113.8").status_code == 404


def test_it_does_not_count_metas_calls_to_a_deleted_streams_url_as_guesses(
    client, account, enqueued
):
    # Meta keeps calling a deleted stream's URL, from the addresses it calls every stream's from.
    stream = StreamFactory(account=account, setup_progress=4)
    services.whatsapp_settings_save(stream=stream, business_id=WABA_ID)
    url = services.callback_path(stream.whatsapp)
    stream_services.stream_delete(stream=stream)
    statuses = [
        client.post(url, fixture("text"), content_type="application/json", REMOTE_ADDR=GUESSER)
        for _ in range(5)
    ]
    assert [response.status_code for response in statuses] == [404] * 5
    assert "No stream has this callback URL" in statuses[-1].text
    assert _guess(client).status_code == 404


def test_it_answers_an_old_stream_id_url_without_a_query_or_counting_it(
    client, account, enqueued, django_assert_num_queries
):
    # Meta may call a stream's old /<stream uid>/ URL until its new one is registered.
    stream = StreamFactory(account=account, setup_progress=4)
    old_url = reverse("whatsapp:callback", args=[stream.uid])
    with django_assert_num_queries(0):
        statuses = [
            client.post(
                old_url, fixture("text"), content_type="application/json", REMOTE_ADDR=GUESSER
            ).status_code
            for _ in range(5)
        ]
    assert statuses == [404] * 5
    assert _guess(client).status_code == 404
