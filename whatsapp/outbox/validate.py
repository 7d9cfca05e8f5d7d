"""The send API's messages, validated one by one at the edge.

``parse_message`` turns one element of the request's ``messages`` array into an
``OutboundMessage`` (what is stored and later sent) or a ``Refusal`` with the error code the
API answers for it. Limits are Meta's, so nothing accepted here is refused by WhatsApp for
its shape.
"""

import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from textpeak.lib.shape import Rules, Shape

TEXT_MAX = 4096
CAPTION_MAX = 1024
FILENAME_MAX = 240
VARIABLE_MAX = 1024
INTERNAL_ID_MAX = 100
MEDIA_TYPES = ("image", "video", "audio", "document")
TYPES = ("text", "template", *MEDIA_TYPES, "location", "reaction")
E164 = re.compile(r"[1-9][0-9]{6,14}")
DIGITS = re.compile(r"[0-9]+")
# A tuple, not ``str | int | float``: that union would be built again for every variable.
_VARIABLE_TYPES = (str, int, float)


class Refusal(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
        # The refused message's own id, echoed so the client can tell which one it was.
        self.internal_id: str | None = None


@dataclass
class OutboundMessage:
    internal_id: str
    sender: str
    recipient: str
    type: str
    content: dict
    # The message_uuid this one answers (text) or reacts to (reaction), if any.
    reply_to: str = ""
    template_key: tuple[str, str] | None = None
    variables: list[str] = field(default_factory=list)


def _invalid(message: str) -> Refusal:
    return Refusal("INVALID_MESSAGE", message)


# Worded for the client by the field's own name; a coordinate's with its range.
_MESSAGE = Rules(
    error=_invalid,
    object_required="{key} must be an object.",
    not_number="{where}.{key} must be a number from {low:g} to {high:g}.",
    number_required="{where}.{key} must be a number from {low:g} to {high:g}.",
)


def _https_url(value: str, key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid(f"{key} must be an http(s) URL WhatsApp can download.")
    return value


def _message_uuid(obj: Shape, key: str, *, required: bool = False) -> str:
    """A message_uuid in its canonical form, so any spelling of it finds the message."""
    value = obj.string(key, required=required, max_length=36)
    try:
        return str(uuid.UUID(value)) if value else ""
    except ValueError:
        raise _invalid(f"{key} must be a message_uuid.") from None


def _digits(value: object) -> str:
    return value.removeprefix("+") if isinstance(value, str) else ""


def parse_message(item: object) -> OutboundMessage:
    """One API message, checked; raises ``Refusal``."""
    if not isinstance(item, dict):
        raise _invalid("Each message must be an object.")
    fields = Shape(item, _MESSAGE)
    internal_id = fields.string("internal_id", max_length=INTERNAL_ID_MAX)
    try:
        return _parse(fields, internal_id)
    except Refusal as refusal:
        refusal.internal_id = internal_id or None
        raise


def _parse(item: Shape, internal_id: str) -> OutboundMessage:
    data = item.data
    recipient = _digits(data.get("recipient_phone"))
    if not E164.fullmatch(recipient):
        raise Refusal(
            "INVALID_RECIPIENT",
            "recipient_phone must be a phone number in international format, digits only "
            "(for example 4915112345678).",
        )
    sender = _digits(data.get("sender"))
    if not DIGITS.fullmatch(sender):
        raise Refusal("UNKNOWN_SENDER", "sender must be one of the stream's sender numbers.")
    kind = data.get("type")
    if kind not in TYPES:
        raise _invalid(f"type must be one of: {', '.join(TYPES)}.")
    message = OutboundMessage(
        internal_id=internal_id, sender=sender, recipient=recipient, type=kind, content={}
    )
    _PARSERS[kind](item, message)
    return message


def _text(item: Shape, message: OutboundMessage) -> None:
    message.content = {
        "body": item.string("message_content", required=True, max_length=TEXT_MAX),
        "preview_url": bool(item.data.get("preview_url", False)),
    }
    message.reply_to = _message_uuid(item, "reply_to")


def _template(item: Shape, message: OutboundMessage) -> None:
    template = item.object("template", required=True)
    name = template.string("name", required=True, max_length=512)
    language = template.string("language", required=True, max_length=15)
    variables = template.data.get("variables", [])
    if not isinstance(variables, list) or not all(
        isinstance(v, _VARIABLE_TYPES) for v in variables
    ):
        raise _invalid("template.variables must be a list of texts.")
    variables = [str(v) for v in variables]
    if any(not v or len(v) > VARIABLE_MAX for v in variables):
        raise _invalid(f"Each template variable has 1 to {VARIABLE_MAX} characters.")
    content = {"name": name, "language": language, "variables": variables}
    if template.data.get("header") is not None:
        header = template.object("header")
        header_type = header.data.get("type")
        if header_type == "text":
            content["header"] = {
                "type": "text",
                "text": header.string("text", required=True, max_length=60),
            }
        elif header_type in ("image", "video", "document"):
            url = _https_url(
                header.string("url", required=True, max_length=2000), "template.header.url"
            )
            content["header"] = {"type": header_type, "url": url}
        else:
            raise _invalid("template.header.type must be text, image, video or document.")
    buttons = template.data.get("buttons")
    if buttons is not None:
        if not isinstance(buttons, list) or len(buttons) > 10:
            raise _invalid("template.buttons must be a list of at most 10 buttons.")
        content["buttons"] = [_button(button, index) for index, button in enumerate(buttons)]
    message.content = content
    message.template_key = (name, language)
    message.variables = variables


def _button(button: object, position: int) -> dict:
    if not isinstance(button, dict):
        raise _invalid("Each template button must be an object.")
    index = button.get("index", position)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9:
        raise _invalid("template.buttons[].index must be 0 to 9.")
    sub_type = button.get("sub_type")
    if sub_type not in ("url", "quick_reply"):
        raise _invalid("template.buttons[].sub_type must be url or quick_reply.")
    parameter = Shape(button, _MESSAGE).string("parameter", required=True, max_length=2000)
    return {"index": index, "sub_type": sub_type, "parameter": parameter}


def _media(item: Shape, message: OutboundMessage) -> None:
    media = item.object("media", required=True)
    content = {"url": _https_url(media.string("url", required=True, max_length=2000), "media.url")}
    if message.type != "audio":
        caption = media.string("caption", max_length=CAPTION_MAX)
        if caption:
            content["caption"] = caption
    if message.type == "document":
        filename = media.string("filename", max_length=FILENAME_MAX)
        if filename:
            content["filename"] = filename
    message.content = content
    message.reply_to = _message_uuid(item, "reply_to")


def _location(item: Shape, message: OutboundMessage) -> None:
    location = item.object("location", required=True)
    message.content = {
        "latitude": float(location.number("latitude", required=True, low=-90, high=90)),
        "longitude": float(location.number("longitude", required=True, low=-180, high=180)),
        "name": location.string("name", max_length=1000),
        "address": location.string("address", max_length=1000),
    }


def _reaction(item: Shape, message: OutboundMessage) -> None:
    reaction = item.object("reaction", required=True)
    message.reply_to = _message_uuid(reaction, "message_uuid", required=True)
    emoji = reaction.data.get("emoji", "")
    if not isinstance(emoji, str) or len(emoji) > 10:
        raise _invalid("reaction.emoji must be one emoji, or empty to remove the reaction.")
    message.content = {"emoji": emoji}


_PARSERS = {
    "text": _text,
    "template": _template,
    **dict.fromkeys(MEDIA_TYPES, _media),
    "location": _location,
    "reaction": _reaction,
}
