"""Meta's webhook bodies read into events; nothing past this module touches Meta's JSON.

``parse`` turns the raw body of one POST into small event objects (``InboundMessage``,
``StatusUpdate``, ``TemplateStatusUpdate``, ``QualityUpdate``), validating its shape here and
raising ``MalformedPayload`` for anything else.

Facts about Meta's deliveries this respects: one POST carries many entries, changes and up to
1,000 messages or statuses; a delivery is retried, and repeated whole, for days; statuses
arrive out of order and include newer values (``played``); timestamps are seconds as strings,
sometimes milliseconds; a user who hides their number has a business-scoped user id instead.
"""

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from textpeak.lib import json_input, shape
from textpeak.lib.shape import Rules, Shape
from whatsapp.models import Message

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Pricing:
    """How Meta prices a sent message, as its statuses report it."""

    billable: bool | None
    category: str  # marketing, utility, authentication, service, …
    model: str  # PMP (per message) or CBP (per conversation, before July 2025)
    type: str  # regular, free_customer_service, free_entry_point, …


@dataclass(frozen=True)
class Conversation:
    """The conversation Meta counts a sent message in (conversation-based pricing)."""

    id: str
    origin: str  # the conversation's category: marketing, utility, service, …
    expires_at: datetime | None


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str  # one of sent, delivered, read, sent_failed
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""
    # What Meta reported, when it came from a webhook: its own status value (e.g. "played",
    # which is applied as read), the recipient, and the message's conversation and pricing.
    meta_status: str = ""
    recipient: str = ""
    conversation: Conversation | None = None
    pricing: Pricing | None = None


@dataclass(frozen=True)
class QualityUpdate:
    """A change of a phone number's quality or messaging limit (``phone_number_quality_update``)."""

    display_phone_number: str
    event: str  # Meta's: FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE, ONBOARDING, …
    messaging_limit: str  # TIER_250, TIER_1K, …, TIER_UNLIMITED; "" when Meta does not say


Event = InboundMessage | StatusUpdate | TemplateStatusUpdate | QualityUpdate


# -- parse: Meta's JSON → events

# How a webhook's problems are worded: the place in Meta's shape, then what is wrong there.
# Meta sends some ids as numbers and coordinates as strings.
_META = Rules(
    error=MalformedPayload,
    numbers_as_text=True,
    unicode_checked=True,
    problem="{where}: {problem}",
    required='{where}: "{key}" is required.',
    not_string='{where}: "{key}" must be a string.',
    not_unicode='{where}: "{key}" is not valid Unicode.',
    not_object="{where}.{key}: must be an object.",
    not_list='{where}: "{key}" must be an array.',
    not_item="{key}[]: must be an object.",
    not_number='{where}: "{key}" must be a number.',
)
_NO_CONTACT = Shape({}, _META, "contact")
_UNIX_TIME = re.compile(r"\d{1,20}")


def parse(body: bytes) -> list[Event]:
    """Every message, status and template update of a webhook body, in order.

    Raises ``MalformedPayload`` for anything not of Meta's shape. Fields other than
    ``messages``, ``message_template_status_update`` and ``phone_number_quality_update`` are
    acknowledged and ignored (``account_update`` among them: it reports verification, policy and
    offboarding events, not a number's quality or limit).
    """
    payload = shape.body(body, _META)
    if payload.data.get("object") != "whatsapp_business_account":
        raise MalformedPayload('"object" must be "whatsapp_business_account".')
    events: list[Event] = []
    for entry in payload.objects("entry", each="entry", required=True):
        waba_id = entry.string("id")
        for change in entry.objects("changes", each="change", required=True):
            field = change.string("field", required=True)
            value = change.object("value", required=True)
            handler = _FIELDS.get(field)
            if handler is not None:
                handler(waba_id, value, events)
    return events


def _timestamp(data: Shape) -> datetime:
    value = data.data.get("timestamp")
    if isinstance(value, str) and _UNIX_TIME.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise data.error('"timestamp" must be a Unix time.')
    seconds = value / 1000 if value >= MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise data.error('"timestamp" is out of range.') from None


def _event_key(raw: Shape) -> str:
    try:
        canonical = json.dumps(raw.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()
    except UnicodeEncodeError:
        raise raw.error("is not valid Unicode.") from None


def _messages_change(waba_id: str, value: Shape, events: list[Event]) -> None:
    metadata = value.object("metadata", required=True)
    phone_number_id = metadata.string("phone_number_id", required=True)
    display_number = metadata.string("display_phone_number")
    contacts = list(value.objects("contacts", each="contact"))
    for raw in value.objects("messages", each="message"):
        events.append(_message(raw, phone_number_id, display_number, contacts))
    for raw in value.objects("statuses", each="status"):
        update = _status(raw)
        if update is not None:
            events.append(update)
    for error in value.list("errors"):
        logger.warning("Meta reported an error for phone number %s: %s", phone_number_id, error)


def _contact(contacts: list[Shape], from_number: str, from_user_id: str) -> Shape:
    for contact in contacts:
        if from_number and str(contact.data.get("wa_id", "")) == from_number:
            return contact
        if from_user_id and contact.data.get("user_id") == from_user_id:
            return contact
    return contacts[0] if len(contacts) == 1 else _NO_CONTACT


def _message(
    raw: Shape, phone_number_id: str, display_number: str, contacts: list[Shape]
) -> InboundMessage:
    wamid = raw.string("id", required=True)
    kind = raw.string("type", required=True)
    from_number = raw.string("from")
    contact = _contact(contacts, from_number, raw.string("from_user_id"))
    user_id = contact.string("user_id") or raw.string("from_user_id")
    if not from_number and not user_id:
        raise raw.error('has neither "from" nor a user id.')
    content = _CONTENT.get(kind, _kept_raw)(raw, kind)
    if "referral" in raw.data:  # the ad a user clicked to start the conversation
        content["referral"] = raw.object_data("referral")
    return InboundMessage(
        wamid=wamid,
        phone_number_id=phone_number_id,
        display_phone_number=display_number,
        from_number=from_number,
        user_id=user_id,
        contact_name=contact.string("name", within="profile"),
        timestamp=_timestamp(raw),
        type=kind,
        content=content,
        context_wamid=raw.string("id", within="context"),
        raw=raw.data,
        event_key=_event_key(raw),
    )


def _text(raw: Shape, kind: str) -> dict:
    # Its object's problems are said at the type ("text.text"), not at the message.
    return {"body": raw.at(kind).string("body", within="text")}


def _media(raw: Shape, kind: str) -> dict:
    """Meta's media id, type and hash; the file itself is fetched from the Cloud API later."""
    given = raw.object(kind)
    media = {key: given.string(key) for key in ("id", "mime_type", "sha256")}
    for key in ("caption", "filename"):
        if key in given.data:
            media[key] = given.string(key)
    for key in ("voice", "animated"):
        if key in given.data:
            media[key] = bool(given.data[key])
    return {"media": media}


def _location(raw: Shape, kind: str) -> dict:
    given = raw.object("location")
    location = {"latitude": given.number("latitude"), "longitude": given.number("longitude")}
    for key in ("name", "address", "url"):
        if key in given.data:
            location[key] = given.string(key)
    return {"location": location}


def _contacts(raw: Shape, kind: str) -> dict:
    return {"contacts": [contact.data for contact in raw.objects("contacts")]}


def _interactive(raw: Shape, kind: str) -> dict:
    given = raw.object("interactive")
    sub_type = given.string("type")
    if not sub_type:
        return {"interactive": {"type": sub_type, "data": {}}}
    reply = given.object(sub_type)
    if sub_type in ("button_reply", "list_reply"):
        data = {"type": sub_type, "id": reply.string("id"), "title": reply.string("title")}
        if sub_type == "list_reply":
            data["description"] = reply.string("description")
    elif sub_type == "nfm_reply":  # a WhatsApp Flow's answers
        response = reply.data.get("response_json")
        if isinstance(response, str):
            # Meta sends the answers as a JSON string; kept as sent if it is not one.
            with contextlib.suppress(ValueError):
                response = json_input.loads(response)
        data = {
            "type": sub_type,
            "name": reply.string("name"),
            "body": reply.string("body"),
            "response_json": response,
        }
    else:
        data = {"type": sub_type, sub_type: reply.data}
    return {"interactive": data}


def _button(raw: Shape, kind: str) -> dict:
    """A quick-reply button of a template message."""
    given = raw.object("button")
    return {"button": {"text": given.string("text"), "payload": given.string("payload")}}


def _reaction(raw: Shape, kind: str) -> dict:
    given = raw.object("reaction")
    emoji = given.string("emoji")
    return {
        "reaction": {
            "message_id": given.string("message_id", required=True),
            "emoji": emoji,
            # An empty (or absent) emoji takes the user's reaction away.
            "removed": not emoji,
        }
    }


def _order(raw: Shape, kind: str) -> dict:
    given = raw.object("order")
    return {
        "order": {
            "catalog_id": given.string("catalog_id"),
            "text": given.string("text"),
            "product_items": [item.data for item in given.objects("product_items")],
        }
    }


def _system(raw: Shape, kind: str) -> dict:
    """E.g. a user changed their number: kept as Meta sent it."""
    return {"system": raw.object_data("system")}


def _kept_raw(raw: Shape, kind: str) -> dict:
    """Unsupported and future types: their object and Meta's errors, as sent."""
    content = {}
    if kind in raw.data:
        content[kind] = raw.data[kind]
    if "errors" in raw.data:
        content["errors"] = raw.list("errors")
    return content


_CONTENT: dict[str, Callable[[Shape, str], dict]] = {
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


def _status(raw: Shape) -> StatusUpdate | None:
    wamid = raw.string("id", required=True)
    meta_status = raw.string("status", required=True)
    timestamp = _timestamp(raw)
    status = STATUS_MAP.get(meta_status)
    if status is None:
        logger.info("Ignoring status %r of %s: not one a message can take", meta_status, wamid)
        return None
    code = message = ""
    errors = raw.list("errors")
    if status == Message.Status.SENT_FAILED and errors:
        error = next(iter(raw.objects("errors", each="error")))
        code = error.string("code")
        message = error.string("message") or error.string("title")
        details = error.string("details", within="error_data")
        if details and details not in message:
            message = f"{message}: {details}" if message else details
    return StatusUpdate(
        wamid=wamid,
        status=status,
        timestamp=timestamp,
        error_code=code[:20],
        error_message=message[:1000],
        meta_status=meta_status,
        recipient=raw.string("recipient_id") or raw.string("recipient_user_id"),
        conversation=_conversation(raw.object("conversation")),
        pricing=_pricing(raw.object("pricing")),
    )


# Pricing and conversations are read leniently: a value of a shape Meta has not used before
# leaves that field empty rather than refuse the status, which would have Meta retry it for days.


def _word(value: object, max_length: int = 40) -> str:
    return value[:max_length] if isinstance(value, str) else ""


def _pricing(given: Shape) -> Pricing | None:
    if not given.data:
        return None
    data = given.data
    billable = data.get("billable")
    return Pricing(
        billable=billable if isinstance(billable, bool) else None,
        category=_word(data.get("category")),
        # "pricing_model" in Meta's webhooks; "model" in some of its examples.
        model=_word(data.get("pricing_model") or data.get("model")),
        type=_word(data.get("type")),
    )


def _conversation(given: Shape) -> Conversation | None:
    if not given.data:
        return None
    data = given.data
    origin = data.get("origin")
    expires_at = None
    if "expiration_timestamp" in data:
        with contextlib.suppress(MalformedPayload):
            expires_at = _timestamp(Shape({"timestamp": data["expiration_timestamp"]}, _META))
    return Conversation(
        id=_word(data.get("id"), 128),
        origin=_word(origin.get("type")) if isinstance(origin, dict) else "",
        expires_at=expires_at,
    )


def _template_change(waba_id: str, value: Shape, events: list[Event]) -> None:
    update = value.at("message_template_status_update")
    events.append(
        TemplateStatusUpdate(
            waba_id=waba_id,
            template_id=update.string("message_template_id"),
            name=update.string("message_template_name"),
            language=update.string("message_template_language"),
            status=update.string("event", required=True),
            reason=update.string("reason"),
        )
    )


def _quality_change(waba_id: str, value: Shape, events: list[Event]) -> None:
    events.append(
        QualityUpdate(
            display_phone_number=value.string("display_phone_number", required=True),
            event=value.string("event", required=True),
            # Meta replaces current_limit with max_daily_conversations_per_business (2026).
            messaging_limit=value.string("max_daily_conversations_per_business")
            or value.string("current_limit"),
        )
    )


_FIELDS = {
    "messages": _messages_change,
    "message_template_status_update": _template_change,
    "phone_number_quality_update": _quality_change,
}
