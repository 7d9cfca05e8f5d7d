"""Meta's webhooks in: kept as they arrived, normalised, stored in one transaction, handed on.

The callback checks a POST's signature and shape (``parse``), keeps the body as it arrived
(``payload_keep``: one INSERT) and answers; a worker then stores it (``payloads_store``), and
a beat sweeper finds any payload whose task was lost. ``parse`` turns the raw body of one POST
into small event objects (``InboundMessage``, ``whatsapp.statuses.StatusUpdate``,
``TemplateStatusUpdate``), validating its shape there: nothing deeper touches Meta's JSON.
``store`` writes them in one transaction and hands each newly stored message, and each status
that moved a message forward, to the stream's webhook in one call per kind
(``webhooks.services.webhook_events_enqueue``, which writes their rows in one INSERT and
enqueues on commit). Meta's payloads and the demo transport's
simulated statuses and replies both come through here.

Facts about Meta's deliveries this respects: one POST carries many entries, changes and up to
1,000 messages or statuses; a delivery is retried, and repeated whole, for days; statuses
arrive out of order and include newer values (``played``); timestamps are seconds as strings,
sometimes milliseconds; a user who hides their number has a business-scoped user id instead.
"""

import contextlib
import hashlib
import hmac
import json
import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from streams.models import Stream
from textpeak.lib import json_input
from textpeak.lib.rows import insert_row
from textpeak.lib.tasks import enqueue_ids_on_commit
from webhooks import services as webhook_services
from whatsapp.models import InboundPayload, Message, Template
from whatsapp.statuses import StatusUpdate, pending_statuses_keep, statuses_apply

logger = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="
# Meta's timestamps are seconds, sometimes milliseconds: as seconds this is the year 5138,
# as milliseconds March 1973, so it tells the two apart for any real moment.
MILLISECONDS_FROM = 10**11
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# What Meta reports → what the message becomes. A voice message played has been read.
STATUS_MAP = {
    "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED,
    "read": Message.Status.READ,
    "played": Message.Status.READ,
    "failed": Message.Status.SENT_FAILED,
}
# Meta's template review events → the template's status as the Graph API lists it.
TEMPLATE_STATUS_MAP = {"REINSTATED": "APPROVED"}


class MalformedPayload(ValueError):
    """The body is not a webhook of Meta's shape; the message says what is wrong."""


@dataclass(frozen=True)
class InboundMessage:
    wamid: str
    phone_number_id: str  # our number that received it
    display_phone_number: str
    from_number: str  # "" when the user hides their number
    user_id: str  # the business-scoped user id, when Meta sends one
    contact_name: str
    timestamp: datetime
    type: str  # as Meta gives it, including types this code does not know yet
    content: dict  # normalised per type; see the _CONTENT functions
    context_wamid: str  # the message this one answers, if any
    raw: dict
    # What makes two deliveries the same event: a duplicate repeats the whole object, while a
    # reaction and its removal can share a wamid.
    event_key: str


@dataclass(frozen=True)
class TemplateStatusUpdate:
    waba_id: str
    template_id: str
    name: str
    language: str
    status: str  # Meta's event: APPROVED, REJECTED, PAUSED, DISABLED, …
    reason: str


Event = InboundMessage | StatusUpdate | TemplateStatusUpdate


def signature_valid(*, app_secret: str, body: bytes, header: str) -> bool:
    """Meta's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""
    expected = SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


# -- parse: Meta's JSON → events


def parse(body: bytes) -> list[Event]:
    """Every message, status and template update of a webhook body, in order.

    Raises ``MalformedPayload`` for anything not of Meta's shape. Fields other than
    ``messages`` and ``message_template_status_update`` are acknowledged and ignored.
    """
    try:
        data = json_input.loads(body)
    except ValueError as error:
        raise MalformedPayload(f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise MalformedPayload("The body must be a JSON object.")
    if data.get("object") != "whatsapp_business_account":
        raise MalformedPayload('"object" must be "whatsapp_business_account".')
    events: list[Event] = []
    for entry in _list(data, "entry", "the body", required=True):
        entry = _as_object(entry, "entry[]")
        waba_id = _string(entry, "id", "entry")
        for change in _list(entry, "changes", "entry", required=True):
            change = _as_object(change, "changes[]")
            field = _string(change, "field", "change", required=True)
            value = _object(change, "value", "change", required=True)
            handler = _FIELDS.get(field)
            if handler is not None:
                handler(waba_id, value, events)
    return events


def _fail(where: str, problem: str) -> MalformedPayload:
    return MalformedPayload(f"{where}: {problem}")


def _as_object(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object.")
    return value


def _object(data: dict, key: str, where: str, *, required: bool = False) -> dict:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(where, f'"{key}" is required.')
        return {}
    return _as_object(value, f"{where}.{key}")


def _list(data: dict, key: str, where: str, *, required: bool = False) -> list:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(where, f'"{key}" is required.')
        return []
    if not isinstance(value, list):
        raise _fail(where, f'"{key}" must be an array.')
    return value


def _string(data: dict, key: str, where: str, *, required: bool = False) -> str:
    """A text field; Meta sends some ids as numbers, so those become their digits."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _fail(where, f'"{key}" is required.')
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(where, f'"{key}" must be a string.')
    value = str(value)
    try:
        value.encode()
    except UnicodeEncodeError:
        raise _fail(where, f'"{key}" is not valid Unicode.') from None
    return value


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large to be a float
        return False


def _number(data: dict, key: str, where: str) -> float | int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _fail(where, f'"{key}" must be a number.') from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise _fail(where, f'"{key}" must be a number.')
    return value


def _timestamp(data: dict, where: str) -> datetime:
    value = data.get("timestamp")
    if isinstance(value, str) and re.fullmatch(r"\d{1,20}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, '"timestamp" must be a Unix time.')
    seconds = value / 1000 if value >= MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _fail(where, '"timestamp" is out of range.') from None


def _event_key(raw: dict, where: str) -> str:
    try:
        canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()
    except UnicodeEncodeError:
        raise _fail(where, "is not valid Unicode.") from None


def _messages_change(waba_id: str, value: dict, events: list[Event]) -> None:
    metadata = _object(value, "metadata", "value", required=True)
    phone_number_id = _string(metadata, "phone_number_id", "metadata", required=True)
    display_number = _string(metadata, "display_phone_number", "metadata")
    contacts = [_as_object(c, "contacts[]") for c in _list(value, "contacts", "value")]
    for raw in _list(value, "messages", "value"):
        events.append(
            _message(_as_object(raw, "messages[]"), phone_number_id, display_number, contacts)
        )
    for raw in _list(value, "statuses", "value"):
        update = _status(_as_object(raw, "statuses[]"))
        if update is not None:
            events.append(update)
    for error in _list(value, "errors", "value"):
        logger.warning("Meta reported an error for phone number %s: %s", phone_number_id, error)


def _contact(contacts: list[dict], from_number: str, from_user_id: str) -> dict:
    for contact in contacts:
        if from_number and str(contact.get("wa_id", "")) == from_number:
            return contact
        if from_user_id and contact.get("user_id") == from_user_id:
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _message(
    raw: dict, phone_number_id: str, display_number: str, contacts: list[dict]
) -> InboundMessage:
    where = "message"
    wamid = _string(raw, "id", where, required=True)
    kind = _string(raw, "type", where, required=True)
    from_number = _string(raw, "from", where)
    contact = _contact(contacts, from_number, _string(raw, "from_user_id", where))
    user_id = _string(contact, "user_id", "contact") or _string(raw, "from_user_id", where)
    if not from_number and not user_id:
        raise _fail(where, 'has neither "from" nor a user id.')
    content = _CONTENT.get(kind, _kept_raw)(raw, kind)
    if "referral" in raw:  # the ad a user clicked to start the conversation
        content["referral"] = _object(raw, "referral", where)
    return InboundMessage(
        wamid=wamid,
        phone_number_id=phone_number_id,
        display_phone_number=display_number,
        from_number=from_number,
        user_id=user_id,
        contact_name=_string(_object(contact, "profile", "contact"), "name", "profile"),
        timestamp=_timestamp(raw, where),
        type=kind,
        content=content,
        context_wamid=_string(_object(raw, "context", where), "id", "context"),
        raw=raw,
        event_key=_event_key(raw, where),
    )


def _text(raw: dict, kind: str) -> dict:
    return {"body": _string(_object(raw, "text", kind), "body", "text")}


def _media(raw: dict, kind: str) -> dict:
    """Meta's media id, type and hash; the file itself is fetched from the Cloud API later."""
    given = _object(raw, kind, "message")
    media = {key: _string(given, key, kind) for key in ("id", "mime_type", "sha256")}
    for key in ("caption", "filename"):
        if key in given:
            media[key] = _string(given, key, kind)
    for key in ("voice", "animated"):
        if key in given:
            media[key] = bool(given[key])
    return {"media": media}


def _location(raw: dict, kind: str) -> dict:
    given = _object(raw, "location", "message")
    location = {
        "latitude": _number(given, "latitude", "location"),
        "longitude": _number(given, "longitude", "location"),
    }
    for key in ("name", "address", "url"):
        if key in given:
            location[key] = _string(given, key, "location")
    return {"location": location}


def _contacts(raw: dict, kind: str) -> dict:
    return {"contacts": [_as_object(c, "contacts[]") for c in _list(raw, "contacts", "message")]}


def _interactive(raw: dict, kind: str) -> dict:
    given = _object(raw, "interactive", "message")
    sub_type = _string(given, "type", "interactive")
    reply = _object(given, sub_type, "interactive") if sub_type else {}
    if sub_type in ("button_reply", "list_reply"):
        data = {
            "type": sub_type,
            "id": _string(reply, "id", sub_type),
            "title": _string(reply, "title", sub_type),
        }
        if sub_type == "list_reply":
            data["description"] = _string(reply, "description", sub_type)
    elif sub_type == "nfm_reply":  # a WhatsApp Flow's answers
        response = reply.get("response_json")
        if isinstance(response, str):
            # Meta sends the answers as a JSON string; kept as sent if it is not one.
            with contextlib.suppress(ValueError):
                response = json_input.loads(response)
        data = {
            "type": sub_type,
            "name": _string(reply, "name", sub_type),
            "body": _string(reply, "body", sub_type),
            "response_json": response,
        }
    else:
        data = {"type": sub_type, sub_type or "data": reply}
    return {"interactive": data}


def _button(raw: dict, kind: str) -> dict:
    """A quick-reply button of a template message."""
    given = _object(raw, "button", "message")
    return {
        "button": {
            "text": _string(given, "text", "button"),
            "payload": _string(given, "payload", "button"),
        }
    }


def _reaction(raw: dict, kind: str) -> dict:
    given = _object(raw, "reaction", "message")
    emoji = _string(given, "emoji", "reaction")
    return {
        "reaction": {
            "message_id": _string(given, "message_id", "reaction", required=True),
            "emoji": emoji,
            # An empty (or absent) emoji takes the user's reaction away.
            "removed": not emoji,
        }
    }


def _order(raw: dict, kind: str) -> dict:
    given = _object(raw, "order", "message")
    return {
        "order": {
            "catalog_id": _string(given, "catalog_id", "order"),
            "text": _string(given, "text", "order"),
            "product_items": [
                _as_object(item, "product_items[]")
                for item in _list(given, "product_items", "order")
            ],
        }
    }


def _system(raw: dict, kind: str) -> dict:
    """E.g. a user changed their number: kept as Meta sent it."""
    return {"system": _object(raw, "system", "message")}


def _kept_raw(raw: dict, kind: str) -> dict:
    """Unsupported and future types: their object and Meta's errors, as sent."""
    content = {}
    if kind in raw:
        content[kind] = raw[kind]
    if "errors" in raw:
        content["errors"] = _list(raw, "errors", "message")
    return content


_CONTENT: dict[str, Callable[[dict, str], dict]] = {
    "text": _text,
    **dict.fromkeys(MEDIA_TYPES, _media),
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "order": _order,
    "system": _system,
}


def _status(raw: dict) -> StatusUpdate | None:
    where = "status"
    wamid = _string(raw, "id", where, required=True)
    meta_status = _string(raw, "status", where, required=True)
    timestamp = _timestamp(raw, where)
    status = STATUS_MAP.get(meta_status)
    if status is None:
        logger.info("Ignoring status %r of %s: not one a message can take", meta_status, wamid)
        return None
    code = message = ""
    errors = _list(raw, "errors", where)
    if status == Message.Status.SENT_FAILED and errors:
        error = _as_object(errors[0], "errors[]")
        code = _string(error, "code", "error")
        message = _string(error, "message", "error") or _string(error, "title", "error")
        details = _string(_object(error, "error_data", "error"), "details", "error_data")
        if details and details not in message:
            message = f"{message}: {details}" if message else details
    return StatusUpdate(
        wamid=wamid,
        status=status,
        timestamp=timestamp,
        error_code=code[:20],
        error_message=message[:1000],
        meta_status=meta_status,
        recipient=_string(raw, "recipient_id", where) or _string(raw, "recipient_user_id", where),
        conversation=_object(raw, "conversation", where) or None,
        pricing=_object(raw, "pricing", where) or None,
    )


def _template_change(waba_id: str, value: dict, events: list[Event]) -> None:
    where = "message_template_status_update"
    events.append(
        TemplateStatusUpdate(
            waba_id=waba_id,
            template_id=_string(value, "message_template_id", where),
            name=_string(value, "message_template_name", where),
            language=_string(value, "message_template_language", where),
            status=_string(value, "event", where, required=True),
            reason=_string(value, "reason", where),
        )
    )


_FIELDS = {
    "messages": _messages_change,
    "message_template_status_update": _template_change,
}


# -- store: events → rows, in one transaction


def store(*, stream: Stream, events: list[Event]) -> None:
    """Store what Meta reported to the stream's callback; safe to run twice with the same
    events (a message is stored and handed on once, a status never moves a message back)."""
    messages = [e for e in events if isinstance(e, InboundMessage)]
    statuses = [e for e in events if isinstance(e, StatusUpdate)]
    templates = [e for e in events if isinstance(e, TemplateStatusUpdate)]
    with transaction.atomic():
        if messages:
            _messages_store(stream, messages)
        if statuses:
            _statuses_store(stream, statuses)
        for update in templates:
            _template_store(stream, update)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _messages_store(stream: Stream, messages: list[InboundMessage]) -> None:
    unique: dict[str, InboundMessage] = {}
    for message in messages:
        unique.setdefault(message.event_key, message)
    answered = {_answered_wamid(m) for m in unique.values()} - {""}
    known = _by_wamid(stream, answered)
    rows = [
        Message(
            stream=stream,
            direction=Message.Direction.INBOUND,
            status=Message.Status.RECEIVED,
            sender_number=_digits(m.display_phone_number)[:32],
            phone_number_id=m.phone_number_id[:32],
            contact_number=m.from_number[:32],
            contact_name=m.contact_name[:200],
            contact_user_id=m.user_id[:100],
            type=m.type[:20],
            payload=m.content,
            wamid=m.wamid[:200],
            event_key=m.event_key,
            reply_to=known.get(_answered_wamid(m)),
            created_at=m.timestamp,
        )
        for m in unique.values()
    ]
    # A conflict on event_key is the same event stored before (or by a concurrent retry):
    # rows whose uuid is not ours were not inserted by this call, so are not handed on again.
    Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    ours = set(
        Message.objects.filter(event_key__in=[row.event_key for row in rows]).values_list(
            "uuid", flat=True
        )
    )
    webhook_services.webhook_events_enqueue(
        stream=stream,
        kind="message",
        events=[message_event(row) for row in rows if row.uuid in ours],
    )


def _answered_wamid(message: InboundMessage) -> str:
    """The message this one answers: its context, or the one a reaction is about."""
    if message.context_wamid:
        return message.context_wamid
    return message.content.get("reaction", {}).get("message_id", "")


def _by_wamid(stream: Stream, wamids: set[str]) -> dict[str, Message]:
    """The stream's messages with these wamids: ours first, then the earliest received."""
    if not wamids:
        return {}
    found: dict[str, Message] = {}
    candidates = Message.objects.filter(stream=stream, wamid__in=wamids).order_by(
        "-direction", "created_at", "id"
    )  # "outbound" sorts after "inbound", so descending puts ours first
    for message in candidates.only("id", "uuid", "wamid", "direction"):
        found.setdefault(message.wamid, message)
    return found


def _statuses_store(stream: Stream, updates: list[StatusUpdate]) -> None:
    applied, unknown = statuses_apply(updates, stream=stream)
    if unknown:
        # Most likely the worker that sent the message has not recorded its wamid yet.
        logger.info("Keeping %d statuses of wamids not recorded yet", len(unknown))
        pending_statuses_keep(stream=stream, updates=unknown)
    enqueue_status_events(applied)


def enqueue_status_events(applied: list[tuple[Message, StatusUpdate]]) -> None:
    """Hand the applied statuses to their messages' webhooks, one call per stream (a
    stream's callback may move the messages of other streams of its account forward)."""
    by_stream: dict[int, tuple[Stream, list[dict]]] = {}
    for message, update in applied:
        _, events = by_stream.setdefault(message.stream_id, (message.stream, []))
        events.append(status_event(message, update))
    for stream, events in by_stream.values():
        webhook_services.webhook_events_enqueue(stream=stream, kind="status", events=events)


def _template_store(stream: Stream, update: TemplateStatusUpdate) -> None:
    """Only the templates of this stream's own account: a callback speaks for its stream."""
    same = Q()
    if update.template_id:
        same |= Q(template_id=update.template_id)
    if update.name and update.language and update.waba_id:
        same |= Q(
            name=update.name,
            language=update.language,
            whatsapp_account__business_id=update.waba_id,
        )
    if not same:
        logger.info("Template status update %s names no template", update.status)
        return
    templates = Template.objects.filter(same, whatsapp_account__stream=stream)
    status = TEMPLATE_STATUS_MAP.get(update.status, update.status)[:20]
    templates.update(status=status)


# -- the callback's payloads: kept at once, stored by a worker

PAYLOAD_BATCH_SIZE = 50
PAYLOAD_SWEEP_LIMIT = 1_000


def payload_keep(*, stream: Stream, body: bytes) -> None:
    """Keep a checked POST of Meta's for a worker to store: one INSERT, so the callback answers
    within milliseconds however many events the body carries."""
    payload = InboundPayload(stream=stream, body=body)
    insert_row(payload)
    _payloads_enqueue([payload.pk])


def _payloads_enqueue(payload_ids: list[int]) -> None:
    from whatsapp.tasks import store_payloads

    enqueue_ids_on_commit(store_payloads, payload_ids, batch_size=PAYLOAD_BATCH_SIZE)


def payloads_store(*, payload_ids: list[int]) -> None:
    """Store each payload's events and delete it, one transaction a payload. One that another
    worker holds, or that is already stored, is skipped: safe to run twice."""
    for payload_id in payload_ids:
        try:
            with transaction.atomic():
                payload = (
                    InboundPayload.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("stream")
                    .filter(pk=payload_id, attempts__lt=InboundPayload.MAX_ATTEMPTS)
                    .first()
                )
                if payload is not None:
                    store(stream=payload.stream, events=parse(bytes(payload.body)))
                    payload.delete()
        except Exception as error:
            # One payload's surprise must not hold the others back; the sweeper tries it again.
            logger.exception("Storing Meta payload %s failed", payload_id)
            failed = InboundPayload.objects.filter(pk=payload_id)
            failed.update(attempts=F("attempts") + 1, last_error=repr(error)[:1000])
            if failed.filter(attempts__gte=InboundPayload.MAX_ATTEMPTS).exists():
                # Nothing tries it again by itself now: support has to look at it.
                logger.error(
                    "Meta payload %s failed %d times and is kept for support: Django admin, "
                    "Inbound payloads, Failed every attempt",
                    payload_id,
                    InboundPayload.MAX_ATTEMPTS,
                )


def payloads_retry(*, payload_ids: list[int]) -> int:
    """Give kept payloads a fresh set of attempts and enqueue them: support's way back for
    those that failed every attempt, once what made them fail is mended. Returns how many."""
    count = InboundPayload.objects.filter(pk__in=payload_ids).update(attempts=0)
    _payloads_enqueue(list(payload_ids))
    return count


def payloads_sweep() -> int:
    """Enqueue payloads kept longer than ``INBOUND_SWEEP_AFTER_SECONDS``: their task was lost
    (a broker outage, a process that died) or failed. Returns how many were enqueued."""
    overdue = timezone.now() - timedelta(seconds=settings.INBOUND_SWEEP_AFTER_SECONDS)
    ids = list(
        InboundPayload.objects.filter(
            received_at__lte=overdue, attempts__lt=InboundPayload.MAX_ATTEMPTS
        )
        .order_by("received_at")
        .values_list("id", flat=True)[:PAYLOAD_SWEEP_LIMIT]
    )
    _payloads_enqueue(ids)
    if ids:
        logger.info("Inbound sweep enqueued %d waiting Meta payloads", len(ids))
    return len(ids)


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
        "pricing": update.pricing,
    }
