"""Meta's webhook bodies read into events; nothing past this module touches Meta's JSON.

``parse`` turns the raw body of one POST into small event objects (``InboundMessage``,
``StatusUpdate``, ``TemplateStatusUpdate``), validating its shape here and raising
``MalformedPayload`` for anything else.

Facts about Meta's deliveries this respects: one POST carries many entries, changes and up to
1,000 messages or statuses; a delivery is retried, and repeated whole, for days; statuses
arrive out of order and include newer values (``played``); timestamps are seconds as strings,
sometimes milliseconds; a user who hides their number has a business-scoped user id instead.
"""

import contextlib
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from textpeak.lib import json_input
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
class StatusUpdate:
    wamid: str
    status: str  # one of sent, delivered, read, sent_failed
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""
    # What Meta reported, when it came from a webhook: its own status value (e.g. "played",
    # which is applied as read), the recipient, and the conversation and pricing objects.
    meta_status: str = ""
    recipient: str = ""
    conversation: dict | None = None
    pricing: dict | None = None


Event = InboundMessage | StatusUpdate | TemplateStatusUpdate


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
