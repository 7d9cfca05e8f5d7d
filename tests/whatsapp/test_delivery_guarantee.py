"""A stream's delivery guarantee: what becomes of a send whose worker died during its call."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from streams.services import stream_token_regenerate
from tests.factories import contact_wrote, whatsapp_stream
from textpeak.lib import outbox
from whatsapp import services
from whatsapp.models import Message, WhatsAppAccount
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.send import messages_send
from whatsapp.outbox.sweep import outbox_sweep

pytestmark = pytest.mark.django_db

AT_MOST_ONCE = WhatsAppAccount.DeliveryGuarantee.AT_MOST_ONCE
AT_LEAST_ONCE = WhatsAppAccount.DeliveryGuarantee.AT_LEAST_ONCE


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    contact_wrote(stream, "4915112345678")
    stream.token = stream_token_regenerate(stream=stream)
    return stream


def _account(stream) -> WhatsAppAccount:
    return WhatsAppAccount.objects.get(stream=stream)


def _accept(stream, text="Your code is 123456") -> Message:
    item = {"sender": "15550001111", "recipient_phone": "4915112345678", "type": "text"}
    _, [result] = messages_accept(stream=stream, items=[{**item, "message_content": text}])
    return Message.objects.get(uuid=result.message_uuid)


def _worker_died_holding(message) -> None:
    """A worker claimed the message, made its call and died; its claim has run out."""
    outbox.claim(Message.objects.filter(pk=message.pk), seconds=60)
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1),
        next_attempt_at=timezone.now() - timedelta(hours=1),
    )


def _status(client, stream, message) -> dict:
    response = client.post(
        "/api/messages_status/",
        json.dumps({"message_uuids": [str(message.uuid)]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=stream.token,
    )
    return response.json()["messages"][0]


def test_a_stream_sends_at_least_once_unless_told_otherwise(stream):
    assert _account(stream).delivery_guarantee == AT_LEAST_ONCE
    assert _accept(stream).send_once is False


def test_an_at_most_once_message_in_doubt_ends_unknown_and_is_not_sent_again(
    client, stream, fake_graph, publish, django_capture_on_commit_callbacks
):
    services.delivery_guarantee_set(account=_account(stream), guarantee=AT_MOST_ONCE)
    message = _accept(stream)
    _worker_died_holding(message)

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 0
    messages_send(message_ids=[message.pk])

    answer = _status(client, stream, message)
    assert answer["status"] == "unknown"
    assert "may or may not have reached" in answer["error"]["message"]
    assert fake_graph.sent_count == 0
    assert message.events.get().status == "unknown"


def test_a_redelivered_task_does_not_send_an_at_most_once_message_in_doubt(stream, fake_graph):
    services.delivery_guarantee_set(account=_account(stream), guarantee=AT_MOST_ONCE)
    message = _accept(stream)
    _worker_died_holding(message)

    messages_send(message_ids=[message.pk])

    assert fake_graph.sent_count == 0
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED


def test_an_at_least_once_message_in_doubt_is_sent_again(
    client, stream, fake_graph, publish, django_capture_on_commit_callbacks
):
    message = _accept(stream)
    _worker_died_holding(message)

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 1
    messages_send(message_ids=publish.ids()[0])

    assert _status(client, stream, message)["status"] == "sent"
    assert fake_graph.sent_count == 1


def test_an_at_most_once_message_that_was_never_claimed_is_sent(stream, fake_graph):
    services.delivery_guarantee_set(account=_account(stream), guarantee=AT_MOST_ONCE)
    message = _accept(stream)

    messages_send(message_ids=[message.pk])

    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_the_guarantee_applies_to_messages_accepted_after_the_change(stream):
    before = _accept(stream, "before")
    services.delivery_guarantee_set(account=_account(stream), guarantee=AT_MOST_ONCE)

    after = _accept(stream, "after")

    assert (before.send_once, after.send_once) == (False, True)


def _tab(stream):
    return reverse("streams:tab", args=[stream.uid, "whatsapp"])


def test_an_admin_chooses_at_most_once_on_the_whatsapp_tab(owner_client, stream):
    page = owner_client.get(_tab(stream)).content.decode()
    assert "If a worker stops during a send" in page

    response = owner_client.post(_tab(stream), {"guarantee": AT_MOST_ONCE}, follow=True)

    assert "it applies to the messages accepted from now on" in response.content.decode()
    assert _account(stream).delivery_guarantee == AT_MOST_ONCE


def test_a_choice_that_is_not_offered_is_refused_next_to_it(owner_client, stream):
    response = owner_client.post(_tab(stream), {"guarantee": "exactly_once"})

    assert "Choose what happens to a send in doubt." in response.content.decode()
    assert _account(stream).delivery_guarantee == AT_LEAST_ONCE


def test_a_member_sees_the_guarantee_but_cannot_change_it(teammate_client, stream):
    page = teammate_client.get(_tab(stream)).content.decode()
    assert "At least once: send again" in page
    assert 'name="guarantee"' not in page

    response = teammate_client.post(_tab(stream), {"guarantee": AT_MOST_ONCE})

    assert response.status_code == 403
    assert _account(stream).delivery_guarantee == AT_LEAST_ONCE
