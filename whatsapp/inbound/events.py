"""The events handed to the stream's webhook (DESIGN.md §5), built from stored rows."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.urls import reverse

from streams.models import Stream
from webhooks import services as webhook_services
from whatsapp.inbound.parse import MEDIA_TYPES, StatusUpdate
from whatsapp.models import Message


def enqueue_status_events(applied: list[tuple[Message, StatusUpdate]]) -> None:
    """Hand the applied statuses to their messages' webhooks, one call per stream (a
    stream's callback may move the messages of other streams of its account forward)."""
    by_stream: dict[int, tuple[Stream, list[dict]]] = {}
    for message, update in applied:
        _, events = by_stream.setdefault(message.stream_id, (message.stream, []))
        events.append(status_event(message, update))
    for stream, events in by_stream.values():
        webhook_services.webhook_events_enqueue(stream=stream, kind="status", events=events)


# -- the events handed to the stream's webhook (DESIGN.md §5)


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def conversation_uuid(stream: Stream, contact: str) -> uuid.UUID:
    """The same id for every message between the stream and one contact (their number, or
    their business-scoped user id when they hide it)."""
    return uuid.uuid5(stream.uid, contact)


def media_url(message: Message) -> str:
    """Where the customer fetches the file of an incoming media message, with the stream
    token (the API streams it from the Cloud API)."""
    return settings.SITE_URL + reverse("api_media", args=[message.uuid])


def _text_of(message: Message) -> str | None:
    """What the user wrote or chose, as text, for receivers that only want that."""
    payload = message.payload
    if message.type == "text":
        return payload.get("body")
    if message.type == "button":
        return payload["button"].get("text")
    if message.type == "interactive":
        interactive = payload["interactive"]
        return interactive.get("title") or interactive.get("body") or None
    if message.type in MEDIA_TYPES:
        return payload["media"].get("caption") or None
    return None


def _media_fields(message: Message) -> dict:
    media = message.payload["media"]
    fields = {
        "id": media.get("id"),
        "mime_type": media.get("mime_type"),
        "sha256": media.get("sha256"),
        "caption": media.get("caption") or None,
        "filename": media.get("filename") or None,
        "url": media_url(message),
    }
    if "voice" in media:
        fields["voice"] = media["voice"]
    return {"media": fields}


def _reaction_fields(message: Message) -> dict:
    reaction = message.payload["reaction"]
    return {
        "reaction": {
            "message_uuid": str(message.reply_to.uuid) if message.reply_to else None,
            "emoji": reaction.get("emoji") or None,
            "removed": reaction.get("removed", False),
        }
    }


def _payload_key(key: str) -> Callable[[Message], dict]:
    return lambda message: {key: message.payload.get(key)}


_EVENT_FIELDS: dict[str, Callable[[Message], dict]] = {
    "text": lambda message: {},
    **dict.fromkeys(MEDIA_TYPES, _media_fields),
    "reaction": _reaction_fields,
    **{key: _payload_key(key) for key in ("location", "contacts", "interactive", "button")},
    **{key: _payload_key(key) for key in ("order", "system")},
}


def message_event(message: Message) -> dict:
    """The ``message.received`` event of a stored incoming message."""
    reply_to = message.reply_to
    event = {
        "event": "message.received",
        "stream_id": str(message.stream.uid),
        "message_uuid": str(message.uuid),
        "conversation_uuid": str(
            conversation_uuid(message.stream, message.contact_number or message.contact_user_id)
        ),
        "received_at": _iso(message.created_at),
        "source_number": message.contact_number or None,
        "source_user_id": message.contact_user_id or None,
        "destination_number": message.sender_number,
        "contact_name": message.contact_name,
        "type": message.type,
        "text": _text_of(message),
        "reply_to": str(reply_to.uuid) if reply_to else None,
    }
    add_fields = _EVENT_FIELDS.get(message.type)
    if add_fields is not None:
        event.update(add_fields(message))
    else:  # unsupported and future types: what Meta sent, under one key
        event["content"] = {k: v for k, v in message.payload.items() if k != "referral"}
    if "referral" in message.payload:
        event["referral"] = message.payload["referral"]
    return event


def status_event(message: Message, update: StatusUpdate) -> dict:
    """The ``message.status`` event of a status that moved a sent message forward."""
    error = None
    if update.status == Message.Status.SENT_FAILED:
        error = {"code": update.error_code or None, "message": update.error_message or None}
    return {
        "event": "message.status",
        "stream_id": str(message.stream.uid),
        "message_uuid": str(message.uuid),
        "internal_id": message.internal_id or None,
        "status": update.status,
        "error": error,
        "updated_at": _iso(update.timestamp),
        # What the message is billed as by now (the status API's ``pricing``), null until
        # Meta said: statuses that carry none keep what an earlier one reported.
        "pricing": message.pricing,
    }


def sample_message_event(*, stream_uid: str, destination_number: str = "15550001111") -> dict:
    """An incoming text message of ``message_event``'s shape, with fixed values: what the
    webhook preview shows and the Test webhook button sends."""
    return {
        "event": "message.received",
        "stream_id": stream_uid,
        "message_uuid": "3f6c2b9e-5d1a-4c8e-9b7f-2a4d6e8c0b1f",
        "conversation_uuid": "8a1e4c7d-2b5f-4e9a-b3c6-7d0f1e2a5b8c",
        "received_at": "2025-01-15T09:30:00Z",
        "source_number": "4915112345678",
        "destination_number": destination_number,
        "contact_name": "Anna Schmidt",
        "type": "text",
        "text": "Hi! Is my order on its way?",
        "reply_to": None,
    }
