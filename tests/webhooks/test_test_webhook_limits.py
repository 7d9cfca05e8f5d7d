"""Test webhook is limited per stream: one test at a time, and a few a minute; a refused test
is said so in the tab, and sends nothing."""

import html
import re
import threading

import pytest
from django.test import Client
from django.urls import reverse

from webhooks import services

pytestmark = pytest.mark.django_db

ALREADY_SENDING = "A test is already being sent to this webhook: wait for its answer."


@pytest.fixture
def endpoint(stream, receiver):
    return services.webhook_save(stream=stream, method="POST", url=receiver.url(), headers=[])


def _test(client, stream, *, htmx=True):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("webhooks:test", args=[stream.uid]), **extra)


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_second_test_while_one_is_being_sent(
    owner_client, owner, stream, endpoint, receiver
):
    receiver.answer(200, delay=1.5)
    teammate_tab = Client()
    teammate_tab.force_login(owner)
    first = []
    sending = threading.Thread(target=lambda: first.append(_test(teammate_tab, stream)))
    sending.start()
    try:
        receiver.wait_for(1)
        refused = _test(owner_client, stream)
    finally:
        sending.join()

    assert refused.status_code == 200  # shown in place of the result, as htmx swaps it
    assert ALREADY_SENDING in _text(refused)
    assert "Your server answered <strong>200</strong>" in _text(first[0])
    assert len(receiver.requests) == 1
    assert endpoint.deliveries.count() == 1
    # Once the answer came, the next test goes.
    assert "Your server answered" in _text(_test(owner_client, stream))


def test_it_refuses_more_tests_a_minute_than_the_limit(
    owner_client, settings, stream, endpoint, receiver
):
    settings.WEBHOOK_TESTS_PER_MINUTE = 2
    answered = [_text(_test(owner_client, stream)) for _ in range(2)]
    assert all("Your server answered <strong>200</strong>" in page for page in answered)

    refused = _text(_test(owner_client, stream))

    wait = re.search(r"You can send 2 tests a minute: try again in (\d+) s\.", refused)
    assert wait
    assert 1 <= int(wait[1]) <= 30
    assert len(receiver.requests) == 2
    assert endpoint.deliveries.count() == 2


def test_it_says_why_a_test_was_refused_without_javascript(
    owner_client, settings, stream, endpoint, receiver
):
    settings.WEBHOOK_TESTS_PER_MINUTE = 1
    _test(owner_client, stream, htmx=False)

    response = _test(owner_client, stream, htmx=False)

    assert response.status_code == 302
    page = _text(owner_client.get(response.url))
    assert re.search(
        r'class="flash-error">You can send 1 test a minute: try again in \d+ s\.', page
    )
    assert len(receiver.requests) == 1
