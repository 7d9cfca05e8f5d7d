"""``whatsapp.inbound``: Meta's webhook bodies normalised into events (``parse``), and stored once
each, with one event for the stream's webhook per new message or status (``store``).

The bodies are Meta-shaped fixtures, one file per event type, in ``fixtures/meta/``.
"""

import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    SentMessageFactory,
    StreamFactory,
    contact_wrote,
    grant_whatsapp_access,
)
from tests.whatsapp.fixtures import (
    CONTACT,
    OUR_NUMBER,
    OUT_WAMID,
    OUT_WAMID_2,
    PHONE_NUMBER_ID,
    WABA_ID,
    fixture,
)
from webhooks import services as webhook_services
from webhooks import tasks as webhook_tasks
from webhooks.models import Delivery
from whatsapp import services, tasks
from whatsapp.inbound.callback import signature_valid
from whatsapp.inbound.events import sample_message_event
from whatsapp.inbound.parse import (
    Conversation,
    InboundMessage,
    MalformedPayload,
    Pricing,
    QualityUpdate,
    StatusUpdate,
    TemplateStatusUpdate,
    parse,
)
from whatsapp.inbound.statuses import pending_statuses_apply
from whatsapp.inbound.store import store
from whatsapp.models import Message, PendingStatus, Template, WhatsAppAccount
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.send import messages_send

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2025, 1, 15, 9, 29, tzinfo=UTC)
RECEIVED_AT = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)  # the fixtures' "1736933400"


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def parse_one(name: str):
    [event] = parse(fixture(name))
    return event


@pytest.fixture
def stream(account):
    stream = StreamFactory(account=account, name="Orders", setup_progress=4)
    services.whatsapp_settings_save(stream=stream, business_id=WABA_ID)
    _verified(stream)
    return stream


def _verified(stream):
    """WhatsApp confirmed the stream's Business ID (statuses reach only such streams)."""
    WhatsAppAccount.objects.filter(stream=stream).update(verified_at=timezone.now())


def outbound(stream, *, internal_id="ord-1001", **fields) -> Message:
    """Our message, with the internal id and send time the expected deliveries carry."""
    return SentMessageFactory(stream=stream, internal_id=internal_id, sent_at=SENT_AT, **fields)


# -- parse: messages


MESSAGE_CONTENTS = [
    ("text", "text", {"body": "Hi! Is my order on its way?"}),
    (
        "image",
        "image",
        {
            "media": {
                "id": "1003383421387256",
                "mime_type": "image/jpeg",
                "sha256": "QRTkdDpj5OQ0UuNqpnWlxZP/TwJg3Y+cV7dPTu6DhOY=",
                "caption": "The parcel arrived like this",
            }
        },
    ),
    (
        "video",
        "video",
        {
            "media": {
                "id": "1172938510498417",
                "mime_type": "video/mp4",
                "sha256": "hT3fIz3aPe7Ds5m8Y0E1t0Qb0WxN4VqGZl9N1YcK8rE=",
                "caption": "Unboxing",
            }
        },
    ),
    (
        "audio",
        "audio",
        {
            "media": {
                "id": "958206136276163",
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": "u7Tj1CqZ3ymXGx0xvB1s8G2dLw3b5Nf0yVQ1pM7oA2k=",
                "voice": True,
            }
        },
    ),
    (
        "document",
        "document",
        {
            "media": {
                "id": "1219946032568210",
                "mime_type": "application/pdf",
                "sha256": "Wm3dX1t6Jb0q0VqzvN3k2dYbS4eE8l9nTqZk7y2QyXo=",
                "caption": "My invoice",
                "filename": "invoice-1001.pdf",
            }
        },
    ),
    (
        "sticker",
        "sticker",
        {
            "media": {
                "id": "3296580887327612",
                "mime_type": "image/webp",
                "sha256": "yJ2Wq0V7B4m8bHk3pQe6rN1tZs5xD9gLcF0uA2oIvE8=",
                "animated": False,
            }
        },
    ),
    (
        "location",
        "location",
        {
            "location": {
                "latitude": 52.520008,
                "longitude": 13.404954,
                "name": "Alexanderplatz",
                "address": "Alexanderplatz 1, 10178 Berlin",
                "url": "https://maps.example.com/alex",
            }
        },
    ),
    (
        "interactive_button_reply",
        "interactive",
        {
            "interactive": {
                "type": "button_reply",
                "id": "confirm-delivery",
                "title": "Yes, deliver",
            }
        },
    ),
    (
        "interactive_list_reply",
        "interactive",
        {
            "interactive": {
                "type": "list_reply",
                "id": "slot-morning",
                "title": "Morning",
                "description": "8:00 to 12:00",
            }
        },
    ),
    (
        "interactive_nfm_reply",
        "interactive",
        {
            "interactive": {
                "type": "nfm_reply",
                "name": "flow",
                "body": "Sent",
                "response_json": {"flow_token": "order-1001", "rating": "5"},
            }
        },
    ),
    ("button", "button", {"button": {"text": "Stop promotions", "payload": "STOP-PROMOTIONS"}}),
    (
        "reaction",
        "reaction",
        {"reaction": {"message_id": OUT_WAMID, "emoji": "👍", "removed": False}},
    ),
    (
        "reaction_removal",
        "reaction",
        {"reaction": {"message_id": OUT_WAMID, "emoji": "", "removed": True}},
    ),
    (
        "order",
        "order",
        {
            "order": {
                "catalog_id": "1561092244717123",
                "text": "Please deliver before 6 pm",
                "product_items": [
                    {
                        "product_retailer_id": "SKU-1001",
                        "quantity": 2,
                        "item_price": 12.5,
                        "currency": "EUR",
                    },
                    {
                        "product_retailer_id": "SKU-2002",
                        "quantity": 1,
                        "item_price": 30,
                        "currency": "EUR",
                    },
                ],
            }
        },
    ),
    (
        "system",
        "system",
        {
            "system": {
                "body": "Anna Schmidt changed from 4915112345678 to 4915187654321",
                "wa_id": "4915187654321",
                "type": "user_changed_number",
            }
        },
    ),
    (
        "unsupported",
        "unsupported",
        {
            "unsupported": {"type": "poll_creation"},
            "errors": [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."},
                }
            ],
        },
    ),
    (
        "unknown_type",
        "event_invite",
        {
            "event_invite": {
                "title": "Summer sale preview",
                "starts_at": "2025-07-01T18:00:00Z",
            }
        },
    ),
]
MESSAGE_FIXTURES = [name for name, _, _ in MESSAGE_CONTENTS] + [
    "contacts",
    "hidden_number",
    "millisecond_timestamp",
]


@pytest.mark.parametrize(("name", "kind", "content"), MESSAGE_CONTENTS)
def test_it_normalises_each_message_type(name, kind, content):
    message = parse_one(name)
    assert isinstance(message, InboundMessage)
    assert (message.type, message.content) == (kind, content)


def test_it_keeps_a_flow_answer_with_a_number_json_cannot_round_trip_as_the_text_sent():
    raw = fixture("interactive_nfm_reply").replace(b'\\"5\\"', b"NaN")
    [message] = parse(raw)
    response = message.content["interactive"]["response_json"]
    assert response == '{"flow_token": "order-1001", "rating": NaN}'


def test_it_keeps_shared_contacts_as_sent():
    message = parse_one("contacts")
    [card] = message.content["contacts"]
    assert card["name"]["formatted_name"] == "Max Muster"
    assert card["phones"] == [
        {"phone": "+49 151 87654321", "wa_id": "4915187654321", "type": "CELL"}
    ]


def test_it_reads_who_sent_it_to_which_of_our_numbers():
    message = parse_one("text")
    assert message.wamid == "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjA0001QzY0RTQ1NzRBMjU0RjA2AA=="
    assert (message.from_number, message.contact_name, message.user_id) == (
        CONTACT,
        "Anna Schmidt",
        "",
    )
    assert (message.phone_number_id, message.display_phone_number) == (PHONE_NUMBER_ID, OUR_NUMBER)
    assert message.timestamp == RECEIVED_AT
    assert message.context_wamid == ""


def test_it_keeps_the_message_a_reply_answers():
    assert parse_one("button").context_wamid == OUT_WAMID


def test_it_identifies_a_user_who_hides_their_number_by_their_user_id():
    message = parse_one("hidden_number")
    assert message.from_number == ""
    assert message.user_id == "DE.1502576394655843"
    assert message.contact_name == "Anna"


def test_it_reads_millisecond_timestamps():
    message = parse_one("millisecond_timestamp")
    assert message.timestamp == datetime(2025, 1, 15, 9, 30, 0, 123000, tzinfo=UTC)


def test_it_keys_an_event_by_its_whole_object():
    reaction, removal = parse_one("reaction"), parse_one("reaction_removal")
    assert reaction.wamid == removal.wamid
    assert reaction.event_key != removal.event_key
    assert parse_one("reaction").event_key == reaction.event_key
    canonical = json.dumps(reaction.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert reaction.event_key == hashlib.sha256(canonical.encode()).hexdigest()


def test_it_keeps_the_ad_a_user_clicked():
    data = json.loads(fixture("text"))
    referral = {"source_url": "https://fb.me/ad", "source_type": "ad", "ctwa_clid": "ARAkLk"}
    data["entry"][0]["changes"][0]["value"]["messages"][0]["referral"] = referral
    [message] = parse(body(data))
    assert message.content["referral"] == referral


# -- parse: statuses, templates, batches


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("status_sent", "sent"),
        ("status_delivered", "delivered"),
        ("status_read", "read"),
        ("status_failed", "sent_failed"),
        ("status_played", "read"),
    ],
)
def test_it_maps_metas_statuses(name, status):
    update = parse_one(name)
    assert isinstance(update, StatusUpdate)
    assert (update.wamid, update.status, update.recipient) == (OUT_WAMID, status, CONTACT)


def test_it_remembers_metas_own_status_value():
    assert parse_one("status_played").meta_status == "played"


def test_it_keeps_the_conversation_and_pricing_of_a_status():
    update = parse_one("status_sent")
    assert update.pricing == Pricing(billable=True, category="utility", model="PMP", type="regular")
    assert update.conversation == Conversation(
        id="b1c1f2f7e0a3a3a5e1f0c0f5f7a1b2c3",
        origin="utility",
        expires_at=datetime(2025, 1, 16, 9, 31, tzinfo=UTC),
    )
    assert update.timestamp == datetime(2025, 1, 15, 9, 31, tzinfo=UTC)


def _with_status_fields(**fields) -> bytes:
    data = json.loads(fixture("status_sent"))
    status = data["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(fields)
    return body(data)


def test_it_reads_the_pricing_model_under_either_of_metas_keys():
    pricing = {"billable": False, "model": "CBP", "category": "service"}
    [update] = parse(_with_status_fields(pricing=pricing))
    assert update.pricing == Pricing(billable=False, category="service", model="CBP", type="")


def test_it_leaves_out_pricing_values_of_a_shape_it_does_not_know():
    pricing = {"billable": "yes", "category": 7, "pricing_model": "PMP"}
    conversation = {"id": 12, "origin": "utility", "expiration_timestamp": "soon"}
    [update] = parse(_with_status_fields(pricing=pricing, conversation=conversation))
    assert update.status == "sent"
    assert update.pricing == Pricing(billable=None, category="", model="PMP", type="")
    assert update.conversation == Conversation(id="", origin="", expires_at=None)


def test_a_status_without_pricing_has_none():
    data = json.loads(fixture("status_sent"))
    status = data["entry"][0]["changes"][0]["value"]["statuses"][0]
    del status["pricing"], status["conversation"]
    [update] = parse(body(data))
    assert (update.pricing, update.conversation) == (None, None)


def test_it_keeps_metas_error_of_a_failed_status():
    update = parse_one("status_failed")
    assert update.error_code == "131049"
    assert update.error_message == (
        "This message was not delivered to maintain healthy ecosystem engagement.: In order to "
        "maintain a healthy ecosystem engagement, the message failed to be delivered."
    )


def test_it_ignores_a_status_no_message_can_take_with_a_log_line(caplog):
    data = json.loads(fixture("status_delivered"))
    data["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    with caplog.at_level(logging.INFO, logger="whatsapp.inbound"):
        assert parse(body(data)) == []
    assert "Ignoring status 'deleted'" in caplog.text


def test_it_reads_a_template_status_update():
    assert parse_one("template_status_update") == TemplateStatusUpdate(
        waba_id=WABA_ID,
        template_id="594425479261596",
        name="order_update",
        language="en_US",
        status="PAUSED",
        reason="",
    )


def test_it_reads_every_entry_change_message_and_status_of_a_batch():
    events = parse(fixture("batch"))
    messages = [e for e in events if isinstance(e, InboundMessage)]
    statuses = [e for e in events if isinstance(e, StatusUpdate)]
    assert [m.type for m in messages] == ["text", "image", "location", "reaction", "text"]
    assert [m.from_number for m in messages][:2] == [CONTACT, "4917612345678"]
    assert [m.contact_name for m in messages][:2] == ["Anna Schmidt", "Ben Braun"]
    assert [(s.wamid, s.status) for s in statuses] == [
        (OUT_WAMID, "delivered"),
        (OUT_WAMID_2, "read"),
        (OUT_WAMID, "read"),
    ]


def test_it_acknowledges_other_fields_without_events():
    assert parse(fixture("account_update")) == []


def test_it_reads_a_phone_number_quality_update():
    assert parse(fixture("phone_number_quality_update")) == [
        QualityUpdate(
            display_phone_number="15550001111", event="UPGRADE", messaging_limit="TIER_10K"
        )
    ]


def _text_body(**message_fields) -> bytes:
    data = json.loads(fixture("text"))
    message = data["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(message_fields)
    return body(data)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b"[]",
        b'"whatsapp"',
        b"{}",
        body({"object": "page", "entry": []}),
        body({"object": "whatsapp_business_account"}),
        body({"object": "whatsapp_business_account", "entry": {}}),
        body({"object": "whatsapp_business_account", "entry": ["x"]}),
        body({"object": "whatsapp_business_account", "entry": [{"id": "1"}]}),
        body({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": 1}]}]}),
        body(
            {
                "object": "whatsapp_business_account",
                "entry": [{"changes": [{"field": "messages", "value": []}]}],
            }
        ),
        body(
            {
                "object": "whatsapp_business_account",
                "entry": [{"changes": [{"field": "messages", "value": {"messages": []}}]}],
            }
        ),
        _text_body(id=None),
        _text_body(type=None),
        _text_body(timestamp="yesterday"),
        _text_body(timestamp=None),
        _text_body(text="Hi"),
        _text_body(**{"from": None}),
        _text_body(context=["wamid.x"]),
    ],
)
def test_it_refuses_a_body_not_of_metas_shape(raw):
    with pytest.raises(MalformedPayload):
        parse(raw)


def test_it_checks_metas_signature_of_the_raw_body():
    raw = fixture("text")
    signature = "sha256=" + hmac.new(b"app-secret", raw, hashlib.sha256).hexdigest()
    assert signature_valid(app_secret="app-secret", body=raw, header=signature)
    assert not signature_valid(app_secret="other", body=raw, header=signature)
    assert not signature_valid(app_secret="app-secret", body=raw + b" ", header=signature)
    assert not signature_valid(app_secret="app-secret", body=raw, header="")


# -- store: messages


@pytest.mark.parametrize("name", MESSAGE_FIXTURES)
def test_it_stores_each_message_type_once_and_hands_it_on(stream, enqueued, name):
    [parsed] = parse(fixture(name))
    store(stream=stream, events=[parsed])
    message = Message.objects.get(stream=stream)
    assert message.direction == Message.Direction.INBOUND
    assert message.status == Message.Status.RECEIVED
    assert (message.type, message.payload) == (parsed.type, parsed.content)
    assert (message.wamid, message.event_key) == (parsed.wamid, parsed.event_key)
    assert (message.sender_number, message.phone_number_id) == (OUR_NUMBER, PHONE_NUMBER_ID)
    assert message.created_at == parsed.timestamp
    [call] = enqueued
    assert (call["stream"], call["kind"]) == (stream, "message")
    assert call["event"]["message_uuid"] == str(message.uuid)
    assert call["event"]["type"] == parsed.type


def test_it_describes_a_text_message_as_the_webhook_preview_does(stream, enqueued):
    store(stream=stream, events=parse(fixture("text")))
    message = Message.objects.get()
    assert (message.contact_number, message.contact_name) == (CONTACT, "Anna Schmidt")
    [call] = enqueued
    assert call["event"] == {
        "event": "message.received",
        "stream_id": str(stream.uid),
        "message_uuid": str(message.uuid),
        "conversation_uuid": str(uuid.uuid5(stream.uid, CONTACT)),
        "received_at": "2025-01-15T09:30:00Z",
        "source_number": CONTACT,
        "source_user_id": None,
        "destination_number": OUR_NUMBER,
        "contact_name": "Anna Schmidt",
        "type": "text",
        "text": "Hi! Is my order on its way?",
        "reply_to": None,
    }
    assert set(sample_message_event(stream_uid="x")) <= set(call["event"])


def _event(stream, enqueued, name) -> dict:
    store(stream=stream, events=parse(fixture(name)))
    return enqueued[-1]["event"]


def test_it_gives_the_customer_a_media_url_for_the_file(stream, enqueued):
    event = _event(stream, enqueued, "document")
    message = Message.objects.get()
    assert event["media"] == {
        "id": "1219946032568210",
        "mime_type": "application/pdf",
        "sha256": "Wm3dX1t6Jb0q0VqzvN3k2dYbS4eE8l9nTqZk7y2QyXo=",
        "caption": "My invoice",
        "filename": "invoice-1001.pdf",
        "url": f"{settings.SITE_URL}/api/media/{message.uuid}/",
    }
    assert event["text"] == "My invoice"


def test_it_tells_a_voice_message_apart(stream, enqueued):
    event = _event(stream, enqueued, "audio")
    assert event["media"]["voice"] is True
    assert (event["media"]["caption"], event["text"]) == (None, None)


@pytest.mark.parametrize(
    ("name", "key", "text"),
    [
        ("location", "location", None),
        ("contacts", "contacts", None),
        ("interactive_button_reply", "interactive", "Yes, deliver"),
        ("interactive_list_reply", "interactive", "Morning"),
        ("button", "button", "Stop promotions"),
        ("order", "order", None),
        ("system", "system", None),
    ],
)
def test_it_describes_each_type_under_its_own_key(stream, enqueued, name, key, text):
    event = _event(stream, enqueued, name)
    assert event[key] == Message.objects.get().payload[key]
    assert event["text"] == text


@pytest.mark.parametrize("name", ["unsupported", "unknown_type"])
def test_it_hands_on_unknown_types_as_meta_sent_them(stream, enqueued, name):
    event = _event(stream, enqueued, name)
    assert event["content"] == Message.objects.get().payload
    assert event["type"] in ("unsupported", "event_invite")


def test_it_links_a_reply_to_the_message_it_answers(stream, enqueued):
    sent = outbound(stream)
    event = _event(stream, enqueued, "interactive_button_reply")
    assert Message.objects.get(direction="inbound").reply_to == sent
    assert event["reply_to"] == str(sent.uuid)


@pytest.mark.parametrize(
    ("name", "sent_type", "choice"),
    [
        (
            "interactive_button_reply",
            "interactive",
            {"type": "button_reply", "id": "confirm-delivery", "title": "Yes, deliver"},
        ),
        (
            "interactive_list_reply",
            "interactive",
            {
                "type": "list_reply",
                "id": "slot-morning",
                "title": "Morning",
                "description": "8:00 to 12:00",
            },
        ),
        ("button", "template", {"text": "Stop promotions", "payload": "STOP-PROMOTIONS"}),
    ],
    ids=["button_reply", "list_reply", "template_quick_reply"],
)
def test_it_tells_the_customer_the_choice_and_the_message_it_answers(
    stream, enqueued, name, sent_type, choice
):
    """The id and title of the button or row chosen, and the uuid of our message that
    offered it."""
    sent = outbound(stream, type=sent_type)
    event = _event(stream, enqueued, name)
    key = "button" if sent_type == "template" else "interactive"
    assert event[key] == choice
    assert event["reply_to"] == str(sent.uuid)


def test_it_leaves_a_reply_to_an_unknown_message_unlinked(stream, enqueued):
    event = _event(stream, enqueued, "button")
    assert Message.objects.get().reply_to is None
    assert event["reply_to"] is None


def test_it_does_not_link_a_reply_to_another_streams_message(stream, enqueued, account):
    outbound(StreamFactory(account=account))
    event = _event(stream, enqueued, "button")
    assert event["reply_to"] is None


def test_it_tells_the_customer_which_message_a_reaction_is_about(stream, enqueued):
    sent = outbound(stream)
    assert _event(stream, enqueued, "reaction")["reaction"] == {
        "message_uuid": str(sent.uuid),
        "emoji": "👍",
        "removed": False,
    }
    assert _event(stream, enqueued, "reaction_removal")["reaction"] == {
        "message_uuid": str(sent.uuid),
        "emoji": None,
        "removed": True,
    }


def test_it_stores_a_reaction_and_its_removal_though_they_share_a_wamid(stream, enqueued):
    store(stream=stream, events=parse(fixture("reaction")))
    store(stream=stream, events=parse(fixture("reaction_removal")))
    assert Message.objects.filter(type="reaction").count() == 2
    assert len(enqueued) == 2


def test_it_stores_and_hands_on_a_repeated_delivery_once(stream, enqueued):
    for _ in range(3):
        store(stream=stream, events=parse(fixture("text")))
    assert Message.objects.count() == 1
    assert len(enqueued) == 1


def test_it_stores_a_message_repeated_in_one_body_once(stream, enqueued):
    data = json.loads(fixture("text"))
    messages = data["entry"][0]["changes"][0]["value"]["messages"]
    messages.append(dict(messages[0]))
    store(stream=stream, events=parse(body(data)))
    assert Message.objects.count() == 1
    assert len(enqueued) == 1


def test_it_keeps_the_business_scoped_user_id_of_a_hidden_number(stream, enqueued):
    event = _event(stream, enqueued, "hidden_number")
    message = Message.objects.get()
    assert (message.contact_number, message.contact_user_id) == ("", "DE.1502576394655843")
    assert (event["source_number"], event["source_user_id"]) == (None, "DE.1502576394655843")
    assert event["conversation_uuid"] == str(uuid.uuid5(stream.uid, "DE.1502576394655843"))


def test_it_dates_a_message_by_metas_millisecond_timestamp(stream, enqueued):
    event = _event(stream, enqueued, "millisecond_timestamp")
    assert event["received_at"] == "2025-01-15T09:30:00.123Z"


def test_it_keeps_one_conversation_per_contact(stream, enqueued):
    store(stream=stream, events=parse(fixture("batch")))
    by_contact = {}
    for call in enqueued:
        if call["kind"] == "message":
            by_contact.setdefault(call["event"]["source_number"], set()).add(
                call["event"]["conversation_uuid"]
            )
    assert {contact: len(ids) for contact, ids in by_contact.items()} == {
        CONTACT: 1,
        "4917612345678": 1,
    }


# -- store: statuses


def _status(status, *, at, wamid=OUT_WAMID, **fields) -> StatusUpdate:
    return StatusUpdate(wamid=wamid, status=status, timestamp=at, **fields)


def test_it_moves_a_sent_message_forward_and_hands_the_status_on(stream, enqueued):
    sent = outbound(stream)
    store(stream=stream, events=parse(fixture("status_delivered")))
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    assert sent.delivered_at == datetime(2025, 1, 15, 9, 31, 10, tzinfo=UTC)
    [call] = enqueued
    assert (call["stream"], call["kind"]) == (stream, "status")
    assert call["event"] == {
        "event": "message.status",
        "stream_id": str(stream.uid),
        "message_uuid": str(sent.uuid),
        "internal_id": "ord-1001",
        "status": "delivered",
        "error": None,
        "updated_at": "2025-01-15T09:31:10Z",
        "pricing": {"billable": True, "category": "utility", "model": "PMP"},
    }


def test_it_fails_a_message_with_metas_error(stream, enqueued):
    sent = outbound(stream)
    store(stream=stream, events=parse(fixture("status_failed")))
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (Message.Status.SENT_FAILED, "131049")
    error = enqueued[0]["event"]["error"]
    assert error["code"] == "131049"
    assert error["message"].startswith("This message was not delivered")


def test_it_never_moves_a_message_back(stream, enqueued):
    sent = outbound(stream)
    store(stream=stream, events=parse(fixture("status_read")))
    store(stream=stream, events=parse(fixture("status_delivered")))
    sent.refresh_from_db()
    assert sent.status == Message.Status.READ
    assert sent.delivered_at is None
    assert [c["event"]["status"] for c in enqueued] == ["read"]


def test_it_hands_on_a_repeated_status_once(stream, enqueued):
    outbound(stream)
    for _ in range(2):
        store(stream=stream, events=parse(fixture("status_read")))
    assert len(enqueued) == 1


def test_it_reads_a_played_voice_message_as_read(stream, enqueued):
    sent = outbound(stream, type="audio")
    store(stream=stream, events=parse(fixture("status_played")))
    sent.refresh_from_db()
    assert sent.status == Message.Status.READ


def test_it_keeps_a_status_of_an_unknown_wamid_until_the_message_is_recorded(stream, enqueued):
    store(stream=stream, events=parse(fixture("status_delivered")))
    pending = PendingStatus.objects.get()
    assert (pending.wamid, pending.status) == (OUT_WAMID, "delivered")
    assert enqueued == []
    sent = outbound(stream)
    assert pending_statuses_apply(wamids=[OUT_WAMID]) == 1
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    assert not PendingStatus.objects.exists()
    [call] = enqueued
    assert (call["kind"], call["event"]["status"]) == ("status", "delivered")


def test_it_keeps_the_pricing_of_a_status_that_waited_for_its_wamid(stream, enqueued):
    store(stream=stream, events=parse(fixture("status_delivered")))
    sent = outbound(stream)
    pending_statuses_apply(wamids=[OUT_WAMID])
    sent.refresh_from_db()
    assert (sent.pricing_category, sent.conversation_id) == (
        "utility",
        "b1c1f2f7e0a3a3a5e1f0c0f5f7a1b2c3",
    )
    assert sent.conversation_expires_at == datetime(2025, 1, 16, 9, 31, tzinfo=UTC)
    [call] = enqueued
    assert call["event"]["pricing"] == {"billable": True, "category": "utility", "model": "PMP"}


def test_it_applies_kept_statuses_oldest_first(stream, enqueued):
    store(stream=stream, events=parse(fixture("status_read")))
    store(stream=stream, events=parse(fixture("status_delivered")))
    sent = outbound(stream)
    pending_statuses_apply(wamids=[OUT_WAMID])
    sent.refresh_from_db()
    assert sent.status == Message.Status.READ
    assert sent.delivered_at is not None
    assert [c["event"]["status"] for c in enqueued] == ["delivered", "read"]


def test_it_does_not_report_statuses_of_another_business_accounts_messages(
    stream, enqueued, account
):
    other = StreamFactory(account=account)
    services.whatsapp_settings_save(stream=other, business_id="999999999999999")
    sent = outbound(other)
    store(stream=stream, events=parse(fixture("status_read")))
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT
    assert enqueued == []


def test_it_reports_statuses_of_every_stream_on_the_same_business_account(
    stream, enqueued, account
):
    twin = StreamFactory(account=account)
    services.whatsapp_settings_save(stream=twin, business_id=WABA_ID)
    _verified(twin)
    sent = outbound(twin)
    store(stream=stream, events=parse(fixture("status_read")))
    sent.refresh_from_db()
    assert sent.status == Message.Status.READ
    assert enqueued[0]["stream"] == twin


def test_it_stores_every_message_and_status_of_a_batch(stream, enqueued):
    first, second = outbound(stream), outbound(stream, wamid=OUT_WAMID_2, internal_id="ord-1002")
    store(stream=stream, events=parse(fixture("batch")))
    assert Message.objects.filter(direction="inbound").count() == 5
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("read", "read")
    assert [c["kind"] for c in enqueued].count("message") == 5
    assert [c["kind"] for c in enqueued].count("status") == 3
    reply = Message.objects.get(direction="inbound", payload__body="Third")
    assert reply.reply_to == second


def test_it_hands_a_batchs_messages_and_statuses_over_in_one_insert_each(
    stream, monkeypatch, django_capture_on_commit_callbacks
):
    webhook_services.webhook_save(
        stream=stream, method="POST", url="https://hooks.example/in", headers=[], send_statuses=True
    )
    outbound(stream), outbound(stream, wamid=OUT_WAMID_2, internal_id="ord-1002")
    published = mock.Mock()
    monkeypatch.setattr(webhook_tasks.send_deliveries, "apply_async", published)
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        store(stream=stream, events=parse(fixture("batch")))

    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "webhooks_delivery"')]
    assert len(inserts) == 2
    ids = [pk for call in published.call_args_list for pk in call.kwargs["args"][0]]
    assert sorted(ids) == sorted(Delivery.objects.values_list("id", flat=True))
    assert len(ids) == 8
    assert published.call_count == 2


def test_it_stores_nothing_when_a_part_fails(stream, enqueued, monkeypatch):
    outbound(stream)

    def broken(**kwargs):
        raise RuntimeError("webhook rows could not be written")

    monkeypatch.setattr(webhook_services, "webhook_events_enqueue", broken)
    with pytest.raises(RuntimeError):
        store(stream=stream, events=parse(fixture("batch")))
    assert not Message.objects.filter(direction="inbound").exists()
    assert Message.objects.get().status == Message.Status.SENT


# -- store: templates


def test_it_updates_the_stored_template_of_this_account_only(stream, enqueued, account):
    whatsapp = WhatsAppAccount.objects.get(stream=stream)
    template = Template.objects.create(
        whatsapp_account=whatsapp,
        template_id="594425479261596",
        name="order_update",
        language="en_US",
        status="APPROVED",
    )
    other = StreamFactory(account=account)
    elsewhere = Template.objects.create(
        whatsapp_account=services.whatsapp_settings_save(stream=other, business_id="99999"),
        template_id="123",
        name="order_update",
        language="en_US",
        status="APPROVED",
    )
    store(stream=stream, events=parse(fixture("template_status_update")))
    template.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (template.status, elsewhere.status) == ("PAUSED", "APPROVED")
    assert enqueued == []


def test_it_matches_a_template_by_name_and_language_when_its_id_is_not_cached(stream, enqueued):
    whatsapp = WhatsAppAccount.objects.get(stream=stream)
    template = Template.objects.create(
        whatsapp_account=whatsapp, name="order_update", language="en_US", status="APPROVED"
    )
    store(stream=stream, events=parse(fixture("template_status_update")))
    template.refresh_from_db()
    assert template.status == "PAUSED"


def test_it_stores_nothing_for_an_empty_batch(stream, enqueued):
    store(stream=stream, events=[])
    assert not Message.objects.exists()
    assert enqueued == []


def test_it_uses_the_time_meta_reports_not_the_time_it_arrived(stream, enqueued):
    store(stream=stream, events=parse(fixture("text")))
    assert Message.objects.get().created_at == RECEIVED_AT


# -- statuses kept for a wamid not recorded yet stay with the stream whose callback got them


def _status_of(wamid: str, status: str = "delivered") -> list:
    """A status Meta reports for ``wamid``, parsed as the callback's worker parses it."""
    data = json.loads(fixture("status_delivered"))
    [raw] = data["entry"][0]["changes"][0]["value"]["statuses"]
    raw.update(id=wamid, status=status)
    return parse(body(data))


def _send(stream, monkeypatch, *wamids: str) -> list[Message]:
    """Messages the stream sends through the workers, WhatsApp accepting them under these
    wamids: the path that records a wamid and applies the statuses kept for it."""
    from whatsapp.models import Sender

    grant_whatsapp_access(stream.account)
    Sender.objects.get_or_create(
        whatsapp_account=WhatsAppAccount.objects.get(stream=stream),
        phone_number_id=PHONE_NUMBER_ID,
        defaults={"display_phone_number": "+1 555-000-1111"},
    )
    answers = iter(wamids)

    class Graph:  # the Cloud API, answering with the wamids given
        def send_message(self, phone_number_id, payload):
            return next(answers)

    monkeypatch.setattr("whatsapp.outbox.send.graph_for", lambda account: Graph())
    contact_wrote(stream, CONTACT)  # so that texts may be sent to them
    item = {"sender": OUR_NUMBER, "recipient_phone": CONTACT, "type": "text"}
    _, results = messages_accept(
        stream=stream,
        items=[{**item, "message_content": f"Order {n}"} for n in range(len(wamids))],
    )
    ids = list(
        Message.objects.filter(uuid__in=[r.message_uuid for r in results]).values_list(
            "pk", flat=True
        )
    )
    for pk in sorted(ids):  # one at a time, so each takes the next wamid in order
        messages_send(message_ids=[pk])
    return list(Message.objects.filter(pk__in=ids).order_by("pk"))


@pytest.fixture
def intruder(outsider):
    """Another tenant's stream, on a Business Account of its own that WhatsApp confirmed."""
    intruder = StreamFactory(account=outsider.member.account, name="Intruder", setup_progress=4)
    services.whatsapp_settings_save(stream=intruder, business_id="999999999999999")
    _verified(intruder)
    return intruder


def test_it_keeps_an_unknown_status_for_the_receiving_stream_only(
    stream, intruder, enqueued, monkeypatch
):
    store(stream=intruder, events=_status_of(OUT_WAMID, "read"))
    [sent] = _send(stream, monkeypatch, OUT_WAMID)
    assert sent.status == Message.Status.SENT
    assert enqueued == []


def test_it_applies_a_kept_status_to_the_receiving_streams_message(
    stream, intruder, enqueued, monkeypatch
):
    store(stream=intruder, events=_status_of(OUT_WAMID, "read"))
    store(stream=stream, events=_status_of(OUT_WAMID, "delivered"))
    [sent] = _send(stream, monkeypatch, OUT_WAMID)
    assert sent.status == Message.Status.DELIVERED
    assert [(c["stream"], c["event"]["status"]) for c in enqueued] == [(stream, "delivered")]


def test_it_does_not_move_another_tenants_message_by_its_wamid(stream, intruder, enqueued):
    sent = outbound(stream)
    store(stream=intruder, events=_status_of(OUT_WAMID, "read"))
    tasks.purge_pending_statuses()  # the hourly sweep, which applies kept statuses found late
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT
    assert enqueued == []


def test_it_does_not_apply_a_kept_status_once_it_has_expired(
    stream, enqueued, monkeypatch, settings
):
    settings.PENDING_STATUS_EXPIRY_SECONDS = 3600
    store(stream=stream, events=_status_of(OUT_WAMID))
    PendingStatus.objects.update(received_at=timezone.now() - timedelta(seconds=3601))
    [sent] = _send(stream, monkeypatch, OUT_WAMID)
    assert sent.status == Message.Status.SENT
    assert enqueued == []


def test_it_forgets_expired_statuses(stream, settings):
    settings.PENDING_STATUS_EXPIRY_SECONDS = 3600
    for n in range(3):
        store(stream=stream, events=_status_of(f"wamid.old{n}"))
    PendingStatus.objects.update(received_at=timezone.now() - timedelta(seconds=3601))
    store(stream=stream, events=_status_of("wamid.new"))
    tasks.purge_pending_statuses()
    assert list(PendingStatus.objects.values_list("wamid", flat=True)) == ["wamid.new"]


def test_it_keeps_a_streams_newest_unknown_statuses_up_to_its_cap(
    stream, intruder, enqueued, monkeypatch, settings
):
    settings.PENDING_STATUSES_PER_STREAM = 2
    store(stream=intruder, events=_status_of("wamid.theirs"))
    for n in range(3):
        store(stream=stream, events=_status_of(f"wamid.ours{n}"))
    sent = _send(stream, monkeypatch, "wamid.ours0", "wamid.ours1", "wamid.ours2")
    # The oldest was dropped: the newest are the ones whose message is still being recorded.
    assert [m.status for m in sent] == ["sent", "delivered", "delivered"]
    [theirs] = _send(intruder, monkeypatch, "wamid.theirs")
    assert theirs.status == Message.Status.DELIVERED
