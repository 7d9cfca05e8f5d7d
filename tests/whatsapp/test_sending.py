"""The outbox's sending side against the fake Graph API: Meta's payloads, claims, retries,
permanent errors, the per-sender rate limit, the sweeper and demo sending."""

import itertools
import socket
import time
from collections import Counter
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from streams import services as stream_services
from tests.factories import (
    StreamFactory,
    UserFactory,
    contact_wrote,
    grant_whatsapp_access,
    whatsapp_stream,
)
from textpeak.accounts import beta
from textpeak.lib import outbox, ratelimit
from whatsapp import tasks
from whatsapp.models import Message, MessageEvent, Sender, WhatsAppAccount
from whatsapp.outbox import send
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.sweep import outbox_sweep
from whatsapp.selectors import message_statuses
from whatsapp.testing import fake_graph as graph

pytestmark = pytest.mark.django_db

SENDER = "15550001111"  # the fake business's number
DEMO_SENDER = "15550100100"  # whatsapp.graph.demo.DEMO_SENDERS
RECIPIENT = "4915112345678"
OTHER = "4915187654321"


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    return whatsapp_stream(account=account, fake_graph=fake_graph)


def _queue(stream, *items, sender=SENDER) -> list[Message]:
    """Accept messages as the send API does: rows ``queued``. The recipient has written, so
    any type may be sent to them."""
    full = [{"sender": sender, "recipient_phone": RECIPIENT, **item} for item in items]
    for number in {item["recipient_phone"] for item in full}:
        contact_wrote(stream, number)
    _, results = messages_accept(stream=stream, items=full)
    assert [r.error for r in results] == [None] * len(items), results
    return [Message.objects.get(uuid=r.message_uuid) for r in results]


def _text(stream, body="Thanks, see you soon", **fields) -> Message:
    [message] = _queue(stream, {"type": "text", "message_content": body, **fields})
    return message


def _send(*messages) -> None:
    send.messages_send(message_ids=[m.pk for m in messages])


def _sent_payload(fake_graph, *messages) -> dict:
    _send(*messages)
    return fake_graph.sent[-1].payload


def _sent_texts(fake_graph) -> list[str]:
    return [sent.payload["text"]["body"] for sent in fake_graph.sent]


def _reload(message) -> Message:
    message.refresh_from_db()
    return message


def _claim_elsewhere(message) -> None:
    """Another worker claims the message."""
    outbox.claim(Message.objects.filter(pk=message.pk), seconds=60)


def _make_due(*messages) -> None:
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(next_attempt_at=timezone.now())


def _earlier(stream, fake_graph) -> Message:
    """A message of the stream that WhatsApp accepted."""
    message = _text(stream, "Your order is on its way")
    _send(message)
    return _reload(message)


# -- Meta's payloads


def test_it_sends_a_text_in_metas_format(stream, fake_graph):
    payload = _sent_payload(fake_graph, _text(stream))
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": RECIPIENT,
        "type": "text",
        "text": {"body": "Thanks, see you soon", "preview_url": False},
    }


def test_it_sends_from_the_senders_phone_number_id(stream, fake_graph):
    _send(_text(stream))
    assert fake_graph.sent[-1].phone_number_id == fake_graph.business.phone_numbers[0]["id"]


def test_it_sends_with_the_streams_access_token(stream, fake_graph):
    _send(_text(stream))
    sends = [r for r in fake_graph.requests if r.path.endswith("/messages")]
    assert sends[-1].headers["authorization"] == f"Bearer {fake_graph.business.token}"


def test_it_sends_a_reply_with_the_quoted_wamid_as_context(stream, fake_graph):
    earlier = _earlier(stream, fake_graph)
    payload = _sent_payload(fake_graph, _text(stream, "Yes", reply_to=str(earlier.uuid)))
    assert payload["context"] == {"message_id": earlier.wamid}
    assert payload["text"] == {"body": "Yes", "preview_url": False}


def test_it_sends_a_template_with_its_body_variables(stream, fake_graph):
    [message] = _queue(
        stream,
        {
            "type": "template",
            "template": {
                "name": "order_update",
                "language": "en_US",
                "variables": ["Anna", "#1001"],
            },
        },
    )
    assert _sent_payload(fake_graph, message)["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "#1001"}],
            }
        ],
    }


def test_it_sends_a_template_without_variables_without_components(stream, fake_graph):
    [message] = _queue(
        stream, {"type": "template", "template": {"name": "hello_world", "language": "en_US"}}
    )
    assert _sent_payload(fake_graph, message)["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US"},
    }


def test_it_sends_a_template_with_a_media_header_and_buttons(stream, fake_graph):
    template = {
        "name": "order_update",
        "language": "en_US",
        "variables": ["Anna", "#1001"],
        "header": {"type": "document", "url": "https://example.com/invoice.pdf"},
        "buttons": [
            {"index": 0, "sub_type": "url", "parameter": "track/1001"},
            {"index": 1, "sub_type": "quick_reply", "parameter": "STOP"},
        ],
    }
    [message] = _queue(stream, {"type": "template", "template": template})
    components = _sent_payload(fake_graph, message)["template"]["components"]
    assert components == [
        {
            "type": "header",
            "parameters": [
                {"type": "document", "document": {"link": "https://example.com/invoice.pdf"}}
            ],
        },
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "#1001"}],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "track/1001"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "1",
            "parameters": [{"type": "payload", "payload": "STOP"}],
        },
    ]


def test_it_sends_a_template_with_a_text_header(stream, fake_graph):
    template = {
        "name": "order_update",
        "language": "en_US",
        "variables": ["Anna", "#1001"],
        "header": {"type": "text", "text": "Order #1001"},
    }
    [message] = _queue(stream, {"type": "template", "template": template})
    components = _sent_payload(fake_graph, message)["template"]["components"]
    assert components[0] == {
        "type": "header",
        "parameters": [{"type": "text", "text": "Order #1001"}],
    }


@pytest.mark.parametrize(
    ("kind", "media", "expected"),
    [
        (
            "image",
            {"url": "https://e.com/a.jpg", "caption": "Your parcel"},
            {"link": "https://e.com/a.jpg", "caption": "Your parcel"},
        ),
        ("video", {"url": "https://e.com/a.mp4"}, {"link": "https://e.com/a.mp4"}),
        ("audio", {"url": "https://e.com/a.ogg"}, {"link": "https://e.com/a.ogg"}),
        (
            "document",
            {"url": "https://e.com/i.pdf", "caption": "Invoice", "filename": "invoice.pdf"},
            {"link": "https://e.com/i.pdf", "caption": "Invoice", "filename": "invoice.pdf"},
        ),
    ],
)
def test_it_sends_media_by_link(stream, fake_graph, kind, media, expected):
    [message] = _queue(stream, {"type": kind, "media": media})
    payload = _sent_payload(fake_graph, message)
    assert payload["type"] == kind
    assert payload[kind] == expected
    assert "context" not in payload


@pytest.mark.parametrize("kind", ["image", "video", "audio", "document"])
def test_it_sends_media_by_the_id_of_an_upload(stream, fake_graph, kind):
    media_id = fake_graph.add_media(fake_graph.business, b"\x89PNG\r\n\x1a\n", "image/png")
    [message] = _queue(stream, {"type": kind, "media": {"id": media_id, "caption": "Yours"}})

    payload = _sent_payload(fake_graph, message)

    expected = {"id": media_id} if kind == "audio" else {"id": media_id, "caption": "Yours"}
    assert payload[kind] == expected
    assert _reload(message).status == Message.Status.SENT


def test_it_fails_a_message_by_a_media_id_whatsapp_does_not_know(stream, fake_graph):
    [message] = _queue(stream, {"type": "image", "media": {"id": "1037543291543636"}})

    _send(message)

    message = _reload(message)
    assert message.status == Message.Status.SENT_FAILED
    assert message.error_message == "(#100) Param image['id'] is not a valid media id."


def test_it_sends_media_in_reply_with_context(stream, fake_graph):
    earlier = _earlier(stream, fake_graph)
    [message] = _queue(
        stream,
        {"type": "image", "media": {"url": "https://e.com/a.jpg"}, "reply_to": str(earlier.uuid)},
    )
    assert _sent_payload(fake_graph, message)["context"] == {"message_id": earlier.wamid}


def test_it_sends_a_location(stream, fake_graph):
    location = {"latitude": 52.52, "longitude": 13.405, "name": "Shop", "address": "Berlin"}
    [message] = _queue(stream, {"type": "location", "location": location})
    assert _sent_payload(fake_graph, message)["location"] == location


def test_it_leaves_out_a_locations_empty_name_and_address(stream, fake_graph):
    [message] = _queue(stream, {"type": "location", "location": {"latitude": 1, "longitude": 2}})
    assert _sent_payload(fake_graph, message)["location"] == {"latitude": 1.0, "longitude": 2.0}


def test_it_sends_a_reaction_to_the_quoted_wamid(stream, fake_graph):
    earlier = _earlier(stream, fake_graph)
    [message] = _queue(
        stream, {"type": "reaction", "reaction": {"message_uuid": str(earlier.uuid), "emoji": "👍"}}
    )
    payload = _sent_payload(fake_graph, message)
    assert payload["reaction"] == {"message_id": earlier.wamid, "emoji": "👍"}
    assert "context" not in payload


# -- recording the outcome


def test_it_records_the_message_sent_with_metas_wamid(stream, fake_graph):
    message = _text(stream)
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.SENT
    assert message.wamid == fake_graph.sent[-1].wamid
    assert message.sent_at is not None
    assert message.attempts == 1
    assert message.claim_id is None
    assert message.claimed_until is None


def test_it_records_a_sent_event(stream, fake_graph):
    message = _text(stream)
    _send(message)
    assert list(message.events.values_list("status", flat=True)) == ["sent"]


def test_it_sends_a_message_once_when_sending_runs_twice(stream, fake_graph):
    message = _text(stream)
    _send(message)
    _send(message)
    assert fake_graph.sent_count == 1
    assert message.events.count() == 1


def test_it_sends_a_batch_of_messages(stream, fake_graph):
    messages = _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(10)])
    _send(*messages)
    assert sorted(s.payload["text"]["body"] for s in fake_graph.sent) == sorted(
        f"#{n}" for n in range(10)
    )
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_a_task_also_sends_what_else_is_due_on_its_stream(stream, fake_graph):
    """Requests of one message each: the first task to run sends what the others queued."""
    first, second, third = (_text(stream, f"#{n}") for n in range(3))
    _send(first)
    assert sorted(_sent_texts(fake_graph)) == ["#0", "#1", "#2"]
    assert {_reload(m).status for m in (first, second, third)} == {Message.Status.SENT}


def test_the_later_tasks_of_a_group_send_nothing_again(stream, fake_graph):
    messages = [_text(stream, f"#{n}") for n in range(3)]
    for message in messages:
        _send(message)
    assert fake_graph.sent_count == 3


def test_a_task_leaves_the_due_messages_of_other_streams_to_their_own_tasks(
    stream, fake_graph, account
):
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    mine, theirs = _text(stream, "mine"), _text(other, "theirs")
    _send(mine)
    assert _sent_texts(fake_graph) == ["mine"]
    assert _reload(theirs).status == Message.Status.QUEUED


def test_a_task_takes_at_most_a_batch_of_its_streams_other_messages(stream, fake_graph):
    messages = _queue(
        stream,
        *[{"type": "text", "message_content": f"#{n}"} for n in range(outbox.BATCH_SIZE + 5)],
    )
    _send(messages[-1])
    assert fake_graph.sent_count == outbox.BATCH_SIZE + 1


def test_a_task_takes_its_streams_free_messages_past_those_another_worker_is_sending(
    stream, fake_graph
):
    messages = _queue(
        stream,
        *[{"type": "text", "message_content": f"#{n}"} for n in range(outbox.BATCH_SIZE + 2)],
    )
    outbox.claim(Message.objects.filter(pk__in=[m.pk for m in messages[:-2]]), seconds=60)
    _send(messages[-1])
    assert sorted(_sent_texts(fake_graph)) == [f"#{outbox.BATCH_SIZE}", f"#{outbox.BATCH_SIZE + 1}"]


def test_a_task_does_not_take_its_streams_messages_that_are_not_due(stream, fake_graph):
    mine, later = _text(stream, "now"), _text(stream, "later")
    Message.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    _send(mine)
    assert _sent_texts(fake_graph) == ["now"]


def test_it_sends_nothing_while_another_worker_holds_the_claim(stream, fake_graph):
    message = _text(stream)
    _claim_elsewhere(message)
    _send(message)
    assert fake_graph.sent_count == 0
    assert _reload(message).status == Message.Status.QUEUED


def test_it_takes_over_a_message_whose_claim_expired(stream, fake_graph):
    message = _text(stream)
    _claim_elsewhere(message)
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    _send(message)
    assert fake_graph.sent_count == 1
    assert _reload(message).status == Message.Status.SENT


def test_it_does_not_send_a_message_before_it_is_due(stream, fake_graph):
    message = _text(stream)
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    _send(message)
    assert fake_graph.sent_count == 0


# -- retries


RETRYABLE = [
    graph.APP_RATE_LIMITED,
    graph.WABA_RATE_LIMITED,
    graph.THROUGHPUT_LIMITED,
    graph.PAIR_RATE_LIMITED,
    graph.UNKNOWN_ERROR,
    graph.SERVICE_UNAVAILABLE,
    graph.SERVER_UNAVAILABLE,
    graph.BAD_GATEWAY,
]
RETRYABLE_IDS = ["4", "80007", "130429", "131056", "500-1", "500-2", "503", "502-plain"]


@pytest.mark.parametrize("reply", RETRYABLE, ids=RETRYABLE_IDS)
def test_it_keeps_a_message_queued_for_later_after_a_retryable_error(stream, fake_graph, reply):
    message = _text(stream)
    fake_graph.fail_next(reply, path="/messages")
    before = timezone.now()
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.QUEUED
    assert message.attempts == 1
    assert message.next_attempt_at > before
    assert message.wamid is None
    assert message.claim_id is None
    assert fake_graph.sent_count == 0


def test_it_records_the_failed_attempt_in_the_history(stream, fake_graph):
    message = _text(stream)
    fake_graph.fail_next(graph.WABA_RATE_LIMITED, path="/messages")
    _send(message)
    event = message.events.get()
    assert event.status == "queued"
    assert event.error_code == "80007"
    assert event.note.startswith("Attempt 1 failed; retrying in")


def test_it_retries_a_network_error(stream, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{closed}"
    message = _text(stream)
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.QUEUED
    assert message.attempts == 1


@pytest.mark.parametrize("reply", RETRYABLE, ids=RETRYABLE_IDS)
def test_it_sends_a_message_on_a_later_run_after_a_retryable_error(
    stream, fake_graph, settings, reply
):
    settings.SEND_RETRY_BASE_SECONDS = 0
    message = _text(stream)
    fake_graph.fail_next(reply, path="/messages")
    _send(message)
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.SENT
    assert message.attempts == 2
    assert message.wamid == fake_graph.sent[-1].wamid
    assert fake_graph.sent_count == 1


def test_it_backs_off_exponentially(stream, fake_graph, settings):
    settings.SEND_RETRY_BASE_SECONDS = 10
    message = _text(stream)
    waits = []
    for _ in range(3):
        fake_graph.fail_next(graph.SERVICE_UNAVAILABLE, path="/messages")
        _make_due(message)
        started = timezone.now()
        _send(message)
        waits.append((_reload(message).next_attempt_at - started).total_seconds())
    # 10, 20, 40 s, each with jitter of ±50 %.
    assert 5 <= waits[0] <= 15.5
    assert 10 <= waits[1] <= 30.5
    assert 20 <= waits[2] <= 60.5


def test_it_enqueues_a_near_retry_with_a_countdown(
    stream, fake_graph, settings, publish, django_capture_on_commit_callbacks
):
    settings.SEND_RETRY_BASE_SECONDS = 2
    message = _text(stream)
    fake_graph.fail_next(graph.THROUGHPUT_LIMITED, path="/messages")
    with django_capture_on_commit_callbacks(execute=True):
        _send(message)
    [call] = publish.call_args_list
    assert call.kwargs["args"] == ([message.pk],)
    assert 1 <= call.kwargs["countdown"] <= 3


def test_it_gives_up_when_the_attempts_are_used_up(stream, fake_graph, settings):
    settings.SEND_RETRY_BASE_SECONDS = 0
    settings.SEND_MAX_ATTEMPTS = 2
    message = _text(stream)
    fake_graph.fail_next(graph.SERVICE_UNAVAILABLE, path="/messages", times=5)
    _send(message)
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.SENT_FAILED
    assert message.attempts == 2
    assert message.error_code == "2"
    assert message.events.last().note == "Gave up after retries"
    _send(message)
    assert len([r for r in fake_graph.requests if r.path.endswith("/messages")]) == 2


def test_it_forgets_an_earlier_attempts_error_once_sent(stream, fake_graph, settings):
    settings.SEND_RETRY_BASE_SECONDS = 0
    message = _text(stream)
    fake_graph.fail_next(graph.WABA_RATE_LIMITED, path="/messages")
    _send(message)
    _send(message)
    [answer] = message_statuses(stream=stream, uuids=[str(message.uuid)])
    assert answer["status"] == "sent"
    assert answer["error"] is None


# -- permanent errors


PERMANENT = [
    graph.UNDELIVERABLE,
    graph.REENGAGEMENT,
    graph.TEMPLATE_PARAM_MISMATCH,
    graph.TEMPLATE_NOT_FOUND,
    graph.INVALID_PARAMETER,
]
PERMANENT_IDS = ["131026", "131047", "132000", "132001", "100"]


@pytest.mark.parametrize("reply", PERMANENT, ids=PERMANENT_IDS)
def test_it_fails_a_message_meta_refuses_for_good(stream, fake_graph, reply):
    message = _text(stream)
    fake_graph.fail_next(reply, path="/messages")
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.SENT_FAILED
    assert message.error_code == str(reply.code)
    assert message.error_message == reply.message
    assert message.failed_at is not None


@pytest.mark.parametrize("reply", PERMANENT, ids=PERMANENT_IDS)
def test_it_never_retries_a_permanent_error(stream, fake_graph, settings, reply):
    settings.SEND_RETRY_BASE_SECONDS = 0
    message = _text(stream)
    fake_graph.fail_next(reply, path="/messages")
    _send(message)
    _make_due(message)
    _send(message)
    assert outbox_sweep() == 0
    assert len([r for r in fake_graph.requests if r.path.endswith("/messages")]) == 1
    assert _reload(message).attempts == 1


def test_it_records_a_failed_event_with_metas_code(stream, fake_graph):
    message = _text(stream)
    fake_graph.fail_next(graph.UNDELIVERABLE, path="/messages")
    _send(message)
    event = message.events.get()
    assert (event.status, event.error_code, event.note) == ("sent_failed", "131026", "Not retried")
    assert event.error_message == graph.UNDELIVERABLE.message


def test_it_shows_metas_error_in_the_status_api(stream, fake_graph):
    message = _text(stream)
    fake_graph.fail_next(graph.UNDELIVERABLE, path="/messages")
    _send(message)
    [answer] = message_statuses(stream=stream, uuids=[str(message.uuid)])
    assert answer["status"] == "sent_failed"
    assert answer["error"] == {"code": "131026", "message": graph.UNDELIVERABLE.message}


def test_it_fails_a_message_whose_token_meta_rejects(stream, fake_graph):
    message = _text(stream)
    fake_graph.business.token = "EAAGrotated-elsewhere"
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.SENT_FAILED
    assert message.error_code == "190"
    assert _reload(message).attempts == 1


def test_it_flags_the_streams_account_when_meta_rejects_the_token(stream, fake_graph):
    fake_graph.business.token = "EAAGrotated-elsewhere"
    _send(_text(stream))
    assert WhatsAppAccount.objects.get(stream=stream).token_rejected_at is not None


def test_it_tells_the_whatsapp_tab_that_the_token_must_be_updated(stream, fake_graph, owner_client):
    fake_graph.business.token = "EAAGrotated-elsewhere"
    _send(_text(stream))
    page = owner_client.get(reverse("streams:tab", args=[stream.uid, "whatsapp"]))
    assert "The access token was rejected by Meta" in page.content.decode()


def test_it_does_not_flag_the_account_for_other_errors(stream, fake_graph):
    fake_graph.fail_next(graph.UNDELIVERABLE, path="/messages")
    _send(_text(stream))
    assert WhatsAppAccount.objects.get(stream=stream).token_rejected_at is None


def test_it_fails_a_message_of_a_stream_without_whatsapp_settings(
    account, whatsapp_access, fake_graph
):
    stream = StreamFactory(account=account, name="Unfinished")
    message = Message.objects.create(
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number=SENDER,
        phone_number_id="109000000000001",
        contact_number=RECIPIENT,
        type="text",
        payload={"body": "Hi", "preview_url": False},
        status=Message.Status.QUEUED,
    )
    _send(message)
    assert _reload(message).status == Message.Status.SENT_FAILED
    assert fake_graph.sent_count == 0


# -- the per-sender rate limit


def _busiest_second(times: list[float]) -> int:
    """The most sends in any one second of the clock."""
    return max(Counter(int(t) for t in times).values())


def _drain(stream, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while Message.objects.filter(status=Message.Status.QUEUED).exists():
        assert time.monotonic() < deadline, "messages left queued"
        ids = list(
            Message.objects.filter(status=Message.Status.QUEUED).values_list("pk", flat=True)
        )
        send.messages_send(message_ids=ids)
        time.sleep(0.1)


def test_it_never_sends_faster_than_the_senders_rate(stream, fake_graph):
    Sender.objects.filter(whatsapp_account__stream=stream).update(messages_per_second=5)
    _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(15)])
    _drain(stream)
    assert fake_graph.sent_count == 15
    assert _busiest_second([s.at for s in fake_graph.sent]) <= 5


def test_it_spreads_a_burst_over_time_or_defers_it(stream, fake_graph):
    Sender.objects.filter(whatsapp_account__stream=stream).update(messages_per_second=5)
    messages = _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(15)])
    started = time.monotonic()
    _send(*messages)
    elapsed = time.monotonic() - started
    deferred = Message.objects.filter(status=Message.Status.QUEUED)
    assert elapsed >= 1.8 or deferred.exists()
    assert fake_graph.sent_count + deferred.count() == 15
    # Waiting for a slot is not a failed attempt.
    assert set(deferred.values_list("attempts", flat=True)) <= {0}
    assert all(m.next_attempt_at > timezone.now() for m in deferred)


def test_a_deferred_message_comes_back_before_the_slots_ahead_of_it_are_used_up(stream, fake_graph):
    Sender.objects.filter(whatsapp_account__stream=stream).update(messages_per_second=1)
    [message] = _queue(stream, {"type": "text", "message_content": "later"})
    # Another worker holds the sender's next five slots.
    held = ratelimit.reserve_per_second(
        f"sender:{stream.account_id}:{message.phone_number_id}",
        per_second=1,
        count=5,
        max_wait=send.MAX_SLOT_WAIT,
    )
    free_in, _ = held.window(5)
    _send(message)
    message.refresh_from_db()
    back_in = (message.next_attempt_at - timezone.now()).total_seconds()
    assert message.status == Message.Status.QUEUED
    assert free_in - send.MAX_SLOT_WAIT < back_in < free_in - 0.5


def test_a_message_whose_slot_closed_before_its_turn_is_not_sent_but_is_due_at_once(
    stream, fake_graph, monkeypatch
):
    [message] = _queue(stream, {"type": "text", "message_content": "late"})
    # A slot of a second that is already over, as a stalled worker would find it.
    closed = ratelimit.Slots(granted=True, second=-2.0, per_second=80)
    monkeypatch.setattr(ratelimit, "reserve_per_second", lambda *args, **kwargs: closed)
    _send(message)
    message.refresh_from_db()
    assert fake_graph.sent_count == 0
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 0)
    assert message.next_attempt_at <= timezone.now()


def test_a_message_whose_slot_closed_is_sent_in_the_senders_next_slot(
    stream, fake_graph, monkeypatch
):
    [message] = _queue(stream, {"type": "text", "message_content": "late"})
    reserve = ratelimit.reserve_per_second
    answers = iter([ratelimit.Slots(granted=True, second=-2.0, per_second=80)])
    monkeypatch.setattr(
        ratelimit, "reserve_per_second", lambda *a, **kw: next(answers, None) or reserve(*a, **kw)
    )
    _send(message)
    message.refresh_from_db()
    assert fake_graph.sent_count == 1
    assert (message.status, message.attempts) == (Message.Status.SENT, 1)


def test_it_sends_every_message_of_a_burst_exactly_once(stream, fake_graph):
    Sender.objects.filter(whatsapp_account__stream=stream).update(messages_per_second=5)
    _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(15)])
    _drain(stream)
    bodies = [s.payload["text"]["body"] for s in fake_graph.sent]
    assert sorted(bodies) == sorted(f"#{n}" for n in range(15))


# -- Meta's pair limit


@pytest.fixture
def pair_limit(settings):
    settings.SEND_PAIR_SECONDS = 1
    return 1


def test_it_sends_a_senders_messages_to_one_recipient_a_pair_interval_apart(
    stream, fake_graph, pair_limit
):
    _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(3)])
    _drain(stream)
    times = [sent.at for sent in fake_graph.sent]
    assert len(times) == 3
    assert all(later - earlier >= pair_limit for earlier, later in itertools.pairwise(times))


def test_it_sends_a_recipients_messages_in_the_order_they_were_accepted(
    stream, fake_graph, pair_limit
):
    _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(3)])
    _drain(stream)
    assert _sent_texts(fake_graph) == ["#0", "#1", "#2"]


def test_a_message_waiting_for_its_pair_is_deferred_without_holding_other_recipients(
    stream, fake_graph, pair_limit
):
    first, second = _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in (1, 2)])
    [other] = _queue(stream, {"type": "text", "message_content": "other", "recipient_phone": OTHER})
    _send(first, second, other)
    assert sorted(_sent_texts(fake_graph)) == ["#1", "other"]
    second.refresh_from_db()
    assert (second.status, second.attempts) == (Message.Status.QUEUED, 0)
    assert second.next_attempt_at > timezone.now()


def test_it_sends_every_message_once_under_the_pair_limit(stream, fake_graph, pair_limit):
    items = [
        {"type": "text", "message_content": f"{phone}#{n}", "recipient_phone": phone}
        for phone in (RECIPIENT, OTHER)
        for n in range(2)
    ]
    _queue(stream, *items)
    _drain(stream)
    assert sorted(_sent_texts(fake_graph)) == sorted(item["message_content"] for item in items)


# -- the sweeper


def _age(message, *, seconds, **fields) -> None:
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=seconds), **fields
    )


def _swept(publish) -> list[int]:
    return [pk for call in publish.call_args_list for pk in call.kwargs["args"][0]]


def test_it_sweeps_an_overdue_queued_message(
    stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _text(stream)
    _age(message, seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 1
    assert _swept(publish) == [message.pk]


def test_it_leaves_a_fresh_queued_message_to_its_own_task(
    stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _text(stream)
    _age(message, seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 0
    publish.assert_not_called()


def test_it_leaves_a_message_claimed_by_a_live_worker(
    stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _text(stream)
    _claim_elsewhere(message)
    _age(message, seconds=600)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 0
    publish.assert_not_called()


def test_it_sweeps_a_message_whose_claim_expired(
    stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _text(stream)
    _claim_elsewhere(message)
    _age(message, seconds=600, claimed_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 1
    assert _swept(publish) == [message.pk]


def test_it_does_not_sweep_sent_or_failed_messages(
    stream, fake_graph, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    sent, failed = _text(stream), _text(stream)
    _send(sent)
    fake_graph.fail_next(graph.UNDELIVERABLE, path="/messages")
    _send(failed)
    _age(sent, seconds=600)
    _age(failed, seconds=600)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 0
    publish.assert_not_called()


def test_it_does_not_sweep_the_same_message_twice_in_a_row(
    stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    _age(_text(stream), seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 1
        assert outbox_sweep() == 0


def test_it_sweeps_in_chunks_of_100(stream, settings, publish, django_capture_on_commit_callbacks):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    _queue(stream, *[{"type": "text", "message_content": f"#{n}"} for n in range(150)])
    Message.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 150
    assert [len(call.kwargs["args"][0]) for call in publish.call_args_list] == [100, 50]


def test_it_sends_a_swept_message(stream, fake_graph, settings):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = _text(stream)
    _age(message, seconds=61)
    outbox_sweep()
    _send(message)
    assert _reload(message).status == Message.Status.SENT


# -- held: a disabled stream, an account whose access was revoked, a deleted stream


def _revoke(access_request) -> None:
    beta.beta_access_revoke(
        request_ids=[access_request.id], reviewer=UserFactory(is_staff=True), note="Abuse report"
    )


def _on_the_way(monkeypatch, change) -> None:
    """Run ``change`` after the worker has claimed its batch, while it waits for its sender's
    rate-limit slots: just before the call to WhatsApp."""
    reserve = ratelimit.reserve_per_second

    def reserve_then_change(*args, **kwargs):
        change()
        return reserve(*args, **kwargs)

    monkeypatch.setattr(ratelimit, "reserve_per_second", reserve_then_change)


def test_it_refuses_to_send_the_queued_messages_of_a_disabled_stream(stream, fake_graph):
    message = _text(stream)
    stream_services.stream_disable(stream=stream)
    _send(message)
    assert fake_graph.sent_count == 0
    assert (_reload(message).status, message.attempts, message.claim_id) == ("queued", 0, None)


def test_it_sends_a_disabled_streams_messages_once_when_it_is_enabled(
    stream, fake_graph, publish, django_capture_on_commit_callbacks
):
    messages = [_text(stream, "one"), _text(stream, "two")]
    stream_services.stream_disable(stream=stream)
    _send(*messages)
    publish.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        stream_services.stream_enable(stream=stream)
    assert _swept(publish) == [m.pk for m in messages]
    _send(*messages)
    _send(*messages)
    assert sorted(_sent_texts(fake_graph)) == ["one", "two"]
    assert {_reload(m).status for m in messages} == {"sent"}


def test_it_refuses_to_send_a_message_claimed_just_before_the_stream_was_disabled(
    stream, fake_graph, monkeypatch
):
    message = _text(stream)
    _on_the_way(monkeypatch, lambda: stream_services.stream_disable(stream=stream))
    _send(message)
    assert fake_graph.sent_count == 0
    assert (_reload(message).status, message.attempts, message.claim_id) == ("queued", 0, None)


@pytest.fixture
def one_record_per_batch(settings):
    """The fake answers at once, so a batch's outcomes all come within this: recorded once."""
    settings.SEND_RECORD_SECONDS = 5


@pytest.mark.usefixtures("one_record_per_batch")
def test_it_checks_for_held_streams_once_per_batch_not_per_message(stream, fake_graph):
    def queries(count):
        messages = [_text(stream, f"#{count}-{n}") for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            _send(*messages)
        assert {_reload(m).status for m in messages} == {"sent"}
        return len(captured)

    assert queries(1) == queries(20)


@pytest.mark.usefixtures("one_record_per_batch")
def test_it_writes_a_batchs_errors_in_one_update_and_one_insert_whatever_their_kinds(
    stream, fake_graph
):
    def queries(*errors):
        messages = [_text(stream, f"#{n}") for n in range(len(errors))]
        for error in errors:
            fake_graph.fail_next(error, path="/messages")
        with CaptureQueriesContext(connection) as captured:
            _send(*messages)
        return sorted(_reload(m).status for m in messages), len(captured)

    retried_and_failed = queries(graph.SERVICE_UNAVAILABLE, graph.UNDELIVERABLE)
    failed = queries(graph.UNDELIVERABLE, graph.UNDELIVERABLE)
    assert retried_and_failed[0] == ["queued", "sent_failed"]
    assert failed[0] == ["sent_failed", "sent_failed"]
    assert retried_and_failed[1] == failed[1]


def test_it_refuses_to_send_for_an_account_whose_access_was_revoked(
    stream, fake_graph, whatsapp_access
):
    message = _text(stream)
    _revoke(whatsapp_access)
    _send(message)
    assert fake_graph.sent_count == 0
    assert _reload(message).status == "queued"


def test_it_refuses_to_send_a_message_claimed_just_before_access_was_revoked(
    stream, fake_graph, whatsapp_access, monkeypatch
):
    message = _text(stream)
    _on_the_way(monkeypatch, lambda: _revoke(whatsapp_access))
    _send(message)
    assert fake_graph.sent_count == 0
    assert _reload(message).status == "queued"


def test_it_sends_the_held_messages_once_access_is_granted_again(
    stream, fake_graph, whatsapp_access, account, settings
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    message = _text(stream)
    _revoke(whatsapp_access)
    _send(message)
    grant_whatsapp_access(account)
    assert outbox_sweep() == 1
    _send(message)
    assert _sent_texts(fake_graph) == ["Thanks, see you soon"]


def test_it_rejects_the_queued_messages_of_a_deleted_stream(stream, fake_graph):
    message = _text(stream)
    stream_services.stream_delete(stream=stream)
    _send(message)
    assert fake_graph.sent_count == 0
    found = _reload(message)
    assert found.status == "rejected"
    assert found.error_message == "The stream was deleted before this message was sent."


def test_it_rejects_a_message_claimed_just_before_the_stream_was_deleted(
    stream, fake_graph, monkeypatch
):
    message = _text(stream)
    _on_the_way(monkeypatch, lambda: stream_services.stream_delete(stream=stream))
    _send(message)
    assert fake_graph.sent_count == 0
    assert _reload(message).status == "rejected"


def test_it_does_not_sweep_the_messages_of_a_disabled_stream(
    stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    _age(_text(stream), seconds=600)
    stream_services.stream_disable(stream=stream)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 0
    publish.assert_not_called()


def test_held_messages_do_not_crowd_out_other_streams_in_a_sweep(
    stream, account, fake_graph, settings, publish, django_capture_on_commit_callbacks
):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    settings.OUTBOX_SWEEP_LIMIT = 1
    _age(_text(stream), seconds=600)
    stream_services.stream_disable(stream=stream)
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    waiting = _text(other)
    _age(waiting, seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep() == 1
    assert _swept(publish) == [waiting.pk]


# -- demo streams


def test_it_sends_a_demo_message_without_calling_whatsapp(demo_stream, fake_graph, demo_statuses):
    [message] = _queue(demo_stream, {"type": "text", "message_content": "Hi"}, sender=DEMO_SENDER)
    _send(message)
    message = _reload(message)
    assert message.status == Message.Status.SENT
    assert message.wamid.startswith("wamid.DEMO")
    assert fake_graph.requests == []


def test_it_schedules_the_demo_statuses_of_a_sent_demo_message(demo_stream, demo_statuses):
    [message] = _queue(demo_stream, {"type": "text", "message_content": "Hi"}, sender=DEMO_SENDER)
    _send(message)
    [call] = demo_statuses.call_args_list
    assert call.args[0] == (_reload(message).wamid,)


def test_it_delivers_then_reads_a_demo_message(demo_stream, demo_statuses):
    [message] = _queue(demo_stream, {"type": "text", "message_content": "Hi"}, sender=DEMO_SENDER)
    _send(message)
    wamid = _reload(message).wamid
    tasks.simulate_demo_statuses(wamid)
    assert _reload(message).status == Message.Status.DELIVERED
    assert demo_statuses.call_args_list[-1].args[0] == (wamid, 1)
    tasks.simulate_demo_statuses(wamid, 1)
    message = _reload(message)
    assert message.status == Message.Status.READ
    assert message.delivered_at is not None
    assert message.read_at is not None
    assert list(message.events.values_list("status", flat=True)) == ["sent", "delivered", "read"]


def test_the_demo_prices_a_template_by_its_category_and_a_reply_as_free_service(
    demo_stream, demo_statuses
):
    template, text = _queue(
        demo_stream,
        {
            "type": "template",
            "template": {"name": "hello_world", "language": "en_US", "variables": []},
        },
        {"type": "text", "message_content": "Hi"},
        sender=DEMO_SENDER,
    )
    for message in (template, text):
        _send(message)
        tasks.simulate_demo_statuses(_reload(message).wamid)
    assert _reload(template).pricing == {
        "billable": True,
        "category": "marketing",
        "model": "PMP",
    }
    assert _reload(text).pricing == {"billable": False, "category": "service", "model": "PMP"}


def test_it_retries_a_demo_status_that_arrives_before_the_wamid_is_recorded(demo_stream):
    with pytest.raises(Retry):
        tasks.simulate_demo_statuses("wamid.DEMOnot-recorded-yet")


def test_it_sends_every_demo_message_type(demo_stream, demo_statuses):
    earlier_items = [{"type": "text", "message_content": "Hi"}]
    [earlier] = _queue(demo_stream, *earlier_items, sender=DEMO_SENDER)
    _send(earlier)
    messages = _queue(
        demo_stream,
        {
            "type": "template",
            "template": {"name": "order_update", "language": "en_US", "variables": ["A", "B"]},
        },
        {"type": "image", "media": {"url": "https://e.com/a.jpg"}},
        {"type": "location", "location": {"latitude": 1, "longitude": 2}},
        {"type": "reaction", "reaction": {"message_uuid": str(earlier.uuid), "emoji": "👍"}},
        {"type": "sticker", "media": {"url": "https://e.com/a.webp"}},
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Deliver?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
            },
        },
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Acme Support"}}]},
        sender=DEMO_SENDER,
    )
    _send(*messages)
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert MessageEvent.objects.filter(status="sent").count() == 8


def test_it_records_the_messages_sent_even_when_another_of_the_batch_raises(stream, fake_graph):
    good = _text(stream)
    broken = _text(stream)
    Message.objects.filter(pk=broken.pk).update(payload={})  # e.g. a row of an older version
    _send(good, broken)
    assert fake_graph.sent_count == 1
    assert _reload(good).status == Message.Status.SENT


def test_it_never_gives_up_on_a_message_only_because_whatsapp_throttles(
    stream, fake_graph, settings
):
    settings.SEND_RETRY_BASE_SECONDS = 0
    settings.SEND_MAX_ATTEMPTS = 2
    message = _text(stream)
    fake_graph.fail_next(graph.WABA_RATE_LIMITED, path="/messages", times=3)
    for _ in range(3):
        _send(message)
    assert _reload(message).status == Message.Status.QUEUED
    _send(message)
    assert _reload(message).status == Message.Status.SENT
