"""POST /api/whatsapp/read/: a received message marked as read at WhatsApp, optionally with the
typing indicator, through the worker and its sender's pacing, against the fake Graph API."""

import json
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from streams import services as stream_services
from tests.factories import contact_wrote, whatsapp_stream
from textpeak.lib import outbox, ratelimit
from whatsapp import tasks
from whatsapp.inbound.parse import parse
from whatsapp.inbound.store import store
from whatsapp.models import Message, ReadReceipt, Sender
from whatsapp.outbox import read, send
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.sweep import read_receipts_sweep
from whatsapp.testing import fake_graph as graph

pytestmark = pytest.mark.django_db

URL = "/api/whatsapp/read/"
SENDER = "15550001111"  # the fake business's number
CONTACT = "4915112345678"


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    return whatsapp_stream(account=account, fake_graph=fake_graph)


@pytest.fixture
def published_task():
    return tasks.send_read_receipts


@pytest.fixture
def api(client, token, django_capture_on_commit_callbacks):
    """POST a body with the stream's token, its on-commit work run."""

    def post(body, *, authorization=token):
        data = body if isinstance(body, str) else json.dumps(body)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                URL, data, content_type="application/json", HTTP_AUTHORIZATION=authorization
            )

    return post


def _received(stream, fake_graph, *, wamid=None) -> Message:
    """A text the contact sent to the fake business's number, stored as the callback's worker
    stores Meta's webhook."""
    business = fake_graph.business
    wamid = wamid or fake_graph.add_received(business)
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": SENDER,
                                "phone_number_id": business.phone_numbers[0]["id"],
                            },
                            "contacts": [{"profile": {"name": "Anna"}, "wa_id": CONTACT}],
                            "messages": [
                                {
                                    "from": CONTACT,
                                    "id": wamid,
                                    "timestamp": str(int(timezone.now().timestamp())),
                                    "type": "text",
                                    "text": {"body": "Is my order on its way?"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    with mock.patch("webhooks.services.webhook_events_enqueue"):
        store(stream=stream, events=parse(json.dumps(body).encode()))
    return Message.objects.get(stream=stream, wamid=wamid)


@pytest.fixture
def work(publish, django_capture_on_commit_callbacks):
    """Run the tasks enqueued so far, as the sending worker would; what they enqueue is
    published in turn, for the next run."""

    def run():
        batches = publish.ids()
        publish.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            for ids in batches:
                tasks.send_read_receipts.run(ids)

    return run


def _receipt(message) -> ReadReceipt:
    return ReadReceipt.objects.get(message=message)


def _metas_body(message, **fields) -> dict:
    return {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message.wamid,
        **fields,
    }


# -- accepted, and what WhatsApp receives


def test_it_answers_202_with_the_receipt_queued(stream, fake_graph, api, publish):
    message = _received(stream, fake_graph)
    response = api({"message_uuid": str(message.uuid)})
    assert response.status_code == 202
    assert response.json() == {
        "status": True,
        "message_uuid": str(message.uuid),
        "read": "queued",
        "typing": False,
    }
    assert fake_graph.read == []  # the worker sends it, not the request


def test_the_worker_sends_whatsapp_metas_read_receipt(stream, fake_graph, api, publish, work):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    work()
    [mark] = fake_graph.read
    assert mark.payload == _metas_body(message)
    assert mark.phone_number_id == fake_graph.business.phone_numbers[0]["id"]
    assert _receipt(message).status == ReadReceipt.Status.SENT


def test_the_worker_sends_the_typing_indicator_when_asked(stream, fake_graph, api, publish, work):
    message = _received(stream, fake_graph)
    response = api({"message_uuid": str(message.uuid), "typing": True})
    assert response.json()["typing"] is True
    work()
    [mark] = fake_graph.read
    assert mark.payload == _metas_body(message, typing_indicator={"type": "text"})


def test_it_sends_with_the_streams_access_token(stream, fake_graph, api, publish, work):
    api({"message_uuid": str(_received(stream, fake_graph).uuid)})
    work()
    marks = [r for r in fake_graph.requests if r.json and r.json.get("status") == "read"]
    assert marks[-1].headers["authorization"] == f"Bearer {fake_graph.business.token}"


def test_it_takes_any_letter_case_of_the_uuid(stream, fake_graph, api, publish):
    message = _received(stream, fake_graph)
    response = api({"message_uuid": str(message.uuid).upper()})
    assert response.status_code == 202
    assert response.json()["message_uuid"] == str(message.uuid).upper()


def test_a_demo_stream_marks_its_received_messages_read(account, whatsapp_access, client, publish):
    stream = whatsapp_stream(account=account, name="Demo")
    token = stream_services.stream_token_regenerate(stream=stream)
    message = Message.objects.create(
        stream=stream,
        direction=Message.Direction.INBOUND,
        status=Message.Status.RECEIVED,
        sender_number="15550100100",
        phone_number_id="100000000000001",
        contact_number=CONTACT,
        type="text",
        wamid="wamid.DEMOREPLYabc",
    )
    response = client.post(
        URL,
        {"message_uuid": str(message.uuid), "typing": True},
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    assert response.status_code == 202
    read.read_receipts_send(receipt_ids=[_receipt(message).pk])
    assert _receipt(message).status == ReadReceipt.Status.SENT


# -- idempotency


def test_marking_a_message_again_sends_nothing_more(stream, fake_graph, api, publish, work):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    work()
    again = api({"message_uuid": str(message.uuid), "typing": True})
    assert again.status_code == 200
    assert again.json() == {
        "status": True,
        "message_uuid": str(message.uuid),
        "read": "sent",
        "typing": False,
    }
    publish.assert_not_called()
    assert len(fake_graph.read) == 1


def test_typing_asked_again_before_the_receipt_is_sent_is_added(
    stream, fake_graph, api, publish, work
):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    again = api({"message_uuid": str(message.uuid), "typing": True})
    assert (again.status_code, again.json()["typing"]) == (202, True)
    work()
    assert [mark.payload for mark in fake_graph.read] == [
        _metas_body(message, typing_indicator={"type": "text"})
    ]


def test_two_requests_before_the_worker_make_one_receipt(stream, fake_graph, api, publish, work):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    api({"message_uuid": str(message.uuid)})
    work()
    assert ReadReceipt.objects.count() == 1
    assert len(fake_graph.read) == 1


def test_a_task_run_twice_sends_the_receipt_once(stream, fake_graph, api, publish):
    api({"message_uuid": str(_received(stream, fake_graph).uuid)})
    [ids] = publish.ids()
    tasks.send_read_receipts.run(ids)
    tasks.send_read_receipts.run(ids)
    assert len(fake_graph.read) == 1


# -- refusals


@pytest.mark.parametrize(
    "body",
    [{}, {"message_uuid": "not a uuid"}, {"message_uuid": 42}, {"message_uuid": ""}],
    ids=["missing", "not-a-uuid", "number", "empty"],
)
def test_it_refuses_a_message_uuid_that_is_not_a_uuid(stream, api, body):
    response = api(body)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "“message_uuid” must be the uuid of a message the stream received."
    }


def test_it_refuses_a_typing_that_is_not_a_boolean(stream, fake_graph, api):
    message = _received(stream, fake_graph)
    response = api({"message_uuid": str(message.uuid), "typing": "yes"})
    assert response.status_code == 400
    assert response.json() == {"detail": "“typing” must be true or false."}
    assert not ReadReceipt.objects.exists()


def test_it_answers_an_unknown_uuid_with_404(stream, api):
    response = api({"message_uuid": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json() == {"detail": "This stream has no message with this uuid."}


def test_it_refuses_a_message_the_stream_sent(stream, fake_graph, api):
    contact_wrote(stream, CONTACT)
    _, [result] = messages_accept(
        stream=stream,
        items=[
            {"sender": SENDER, "recipient_phone": CONTACT, "type": "text", "message_content": "Hi"}
        ],
    )
    response = api({"message_uuid": result.message_uuid})
    assert response.status_code == 400
    assert "only a message it received can be marked as read" in response.json()["detail"]
    assert not ReadReceipt.objects.exists()


def test_another_streams_message_is_as_unknown(stream, fake_graph, api, account):
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    message = _received(other, fake_graph)
    response = api({"message_uuid": str(message.uuid)})
    assert response.status_code == 404
    assert response.json() == api({"message_uuid": str(uuid.uuid4())}).json()
    assert not ReadReceipt.objects.exists()


def test_it_refuses_a_request_without_the_token(stream, fake_graph, api):
    message = _received(stream, fake_graph)
    response = api({"message_uuid": str(message.uuid)}, authorization="")
    assert response.status_code == 403
    assert not ReadReceipt.objects.exists()


# -- pacing: the sender's rate limit, shared with its sends


def test_a_send_and_a_read_receipt_do_not_leave_in_the_same_second(
    stream, fake_graph, api, publish, work
):
    Sender.objects.filter(whatsapp_account__stream=stream).update(messages_per_second=1)
    message = _received(stream, fake_graph)
    _, [result] = messages_accept(
        stream=stream,
        items=[
            {"sender": SENDER, "recipient_phone": CONTACT, "type": "text", "message_content": "Hi"}
        ],
    )
    api({"message_uuid": str(message.uuid)})
    send.messages_send(message_ids=[Message.objects.get(uuid=result.message_uuid).pk])
    work()
    [sent], [mark] = fake_graph.sent, fake_graph.read
    assert int(sent.at) != int(mark.at)


def test_a_receipt_without_a_slot_soon_waits_without_using_an_attempt(
    stream, fake_graph, api, publish, work
):
    Sender.objects.filter(whatsapp_account__stream=stream).update(messages_per_second=1)
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    # The sender's sends hold its next five slots.
    ratelimit.reserve_per_second(
        send.sender_key(stream.account_id, message.phone_number_id),
        per_second=1,
        count=5,
        max_wait=send.MAX_SLOT_WAIT,
    )
    work()
    receipt = _receipt(message)
    assert fake_graph.read == []
    assert (receipt.status, receipt.attempts) == (ReadReceipt.Status.QUEUED, 0)
    assert receipt.next_attempt_at > timezone.now()
    assert publish.ids() == [[receipt.pk]]  # back soon, by a countdown


# -- errors


def test_a_retryable_error_is_retried_after_a_back_off_then_sent(
    stream, fake_graph, api, publish, work
):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    fake_graph.fail_next(graph.SERVICE_UNAVAILABLE, path="/messages")
    work()
    receipt = _receipt(message)
    assert (receipt.status, receipt.error_code) == (ReadReceipt.Status.QUEUED, "2")
    assert receipt.next_attempt_at > timezone.now()
    ReadReceipt.objects.filter(pk=receipt.pk).update(next_attempt_at=timezone.now())
    work()
    receipt = _receipt(message)
    assert (receipt.status, receipt.error_code, receipt.attempts) == ("sent", "", 2)
    assert [mark.payload for mark in fake_graph.read] == [_metas_body(message)]


def test_metas_refusal_fails_the_receipt_for_good(stream, fake_graph, api, publish, work):
    # A wamid Meta does not know as one the number received.
    message = _received(stream, fake_graph, wamid="wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFj")
    api({"message_uuid": str(message.uuid)})
    work()
    receipt = _receipt(message)
    assert (receipt.status, receipt.error_code) == (ReadReceipt.Status.FAILED, "100")
    assert publish.ids() == []
    assert read_receipts_sweep() == 0


def test_the_messages_tab_shows_whatsapps_refusal(
    stream, fake_graph, api, publish, owner_client, work
):
    message = _received(stream, fake_graph, wamid="wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFj")
    api({"message_uuid": str(message.uuid)})
    work()
    page = owner_client.get(reverse("streams:tab", args=[stream.uid, "messages"])).content.decode()
    assert "Not marked read: <code>100</code> (#100) Invalid parameter" in page


def test_the_messages_tab_shows_a_message_marked_read(
    stream, fake_graph, api, publish, owner_client, work
):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    page = owner_client.get(reverse("streams:tab", args=[stream.uid, "messages"])).content.decode()
    assert "Being marked read" in page
    work()
    page = owner_client.get(reverse("streams:tab", args=[stream.uid, "messages"])).content.decode()
    assert "Marked read <time" in page


def test_a_disabled_streams_receipt_waits(stream, fake_graph, api, publish, work):
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    stream_services.stream_disable(stream=stream)
    work()
    assert fake_graph.read == []
    assert _receipt(message).status == ReadReceipt.Status.QUEUED


# -- the broker down: the sweeper sends it later


def _age(receipt, *, seconds) -> None:
    ReadReceipt.objects.filter(pk=receipt.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.django_db(transaction=True)
def test_a_receipt_recorded_while_the_broker_is_down_is_swept_and_sent(
    stream, fake_graph, client, token, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _received(stream, fake_graph)
    down = mock.Mock(side_effect=OperationalError("Connection refused"))
    monkeypatch.setattr(tasks.send_read_receipts, "apply_async", down)
    response = client.post(
        URL,
        {"message_uuid": str(message.uuid)},
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    assert response.status_code == 202
    down.assert_called_once()  # on commit, within the request
    receipt = _receipt(message)
    assert receipt.status == ReadReceipt.Status.QUEUED

    published = mock.Mock()
    monkeypatch.setattr(tasks.send_read_receipts, "apply_async", published)
    assert read_receipts_sweep() == 0  # fresh: left to its own task a while
    _age(receipt, seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_outbox.run()
    [call] = published.call_args_list
    tasks.send_read_receipts.run(*call.kwargs["args"])
    assert _receipt(message).status == ReadReceipt.Status.SENT
    assert [mark.payload for mark in fake_graph.read] == [_metas_body(message)]


def test_the_sweeper_leaves_a_receipt_claimed_by_a_live_worker(
    stream, fake_graph, api, publish, settings
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    receipt = _receipt(message)
    outbox.claim(ReadReceipt.objects.filter(pk=receipt.pk), seconds=60)
    _age(receipt, seconds=600)
    assert read_receipts_sweep() == 0


def test_the_sweeper_does_not_sweep_a_sent_receipt(
    stream, fake_graph, api, publish, settings, work
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _received(stream, fake_graph)
    api({"message_uuid": str(message.uuid)})
    work()
    _age(_receipt(message), seconds=600)
    assert read_receipts_sweep() == 0
