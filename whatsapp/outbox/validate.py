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
URL_MAX = 2000
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# The media WhatsApp shows without a caption.
UNCAPTIONED = ("audio", "sticker")
TYPES = ("text", "template", *MEDIA_TYPES, "location", "reaction", "interactive", "contacts")
INTERACTIVE_TYPES = ("button", "list", "cta_url")
HEADER_TYPES = ("text", "image", "video", "document")
# Meta's limits of interactive messages (Cloud API reference, "Interactive object").
# A list's body may be longer than the others' (Meta's "Interactive list messages").
BODY_MAX = {"button": 1024, "list": 4096, "cta_url": 1024}
FOOTER_MAX = 60
HEADER_TEXT_MAX = 60
BUTTONS_MAX = 3
BUTTON_ID_MAX = 256
BUTTON_TITLE_MAX = 20
LIST_BUTTON_MAX = 20
SECTIONS_MAX = 10
ROWS_MAX = 10  # in all the sections together
ROW_ID_MAX = 200
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
SECTION_TITLE_MAX = 24
CTA_TEXT_MAX = 20
# Meta's contact card: its name, organisation and lists of objects, each with its text fields.
CONTACT_NAME = ("formatted_name", "first_name", "last_name", "middle_name", "suffix", "prefix")
CONTACT_ORG = ("company", "department", "title")
CONTACT_LISTS = {
    "phones": ("phone", "type", "wa_id"),
    "emails": ("email", "type"),
    "urls": ("url", "type"),
    "addresses": ("street", "city", "state", "zip", "country", "country_code", "type"),
}
BIRTHDAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
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
    # The message_uuid this one answers (any type but reaction) or reacts to, if any.
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


# The newer types' fields are named by their path, as Meta's documentation names them
# ("interactive.action.buttons[1].reply.title"), so a client finds the rule there.
_FIELDS = Rules(
    error=_invalid,
    nest=lambda where, key: f"{where}.{key}" if where else key,
    too_long="{path} has at most {max_length} characters.",
    not_item="Each of {path} must be an object.",
)


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _https_url(value: str, key: str) -> str:
    if not _is_http_url(value):
        raise _invalid(f"{key} must be an http(s) URL WhatsApp can download.")
    return value


def _path(shape: Shape, key: str) -> str:
    return f"{shape.where}.{key}" if shape.where else key


def _counted(shape: Shape, key: str, low: int, high: int | None = None) -> list[Shape]:
    """The objects of a required array of ``low`` to ``high`` (None: any number) of them."""
    items = list(shape.objects(key, required=True))
    if high is None and len(items) < low:
        raise _invalid(f"{_path(shape, key)} has at least {low} item.")
    if high is not None and not low <= len(items) <= high:
        raise _invalid(f"{_path(shape, key)} has {low} to {high} items.")
    return items


def _texts(shape: Shape, keys: tuple[str, ...]) -> dict:
    """The given texts of ``keys``, each checked to be one."""
    return {key: value for key in keys if (value := shape.string(key))}


def _unique(value: str, seen: set, shape: Shape, key: str) -> None:
    if value in seen:
        raise _invalid(f"{_path(shape, key)} repeats an earlier one: each must be unique.")
    seen.add(value)


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
    if kind != "reaction":  # a reaction names its message in reaction.message_uuid
        message.reply_to = _message_uuid(item, "reply_to")
    return message


def _text(item: Shape, message: OutboundMessage) -> None:
    message.content = {
        "body": item.string("message_content", required=True, max_length=TEXT_MAX),
        "preview_url": bool(item.data.get("preview_url", False)),
    }


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


MEDIA_ID_MAX = 100


def _media_source(media: Shape) -> dict:
    """Where the file is: a media id the upload API gave, or a URL (``fetch``: TextPeak
    downloads and uploads it, instead of WhatsApp fetching it)."""
    media_id = media.string("id", max_length=MEDIA_ID_MAX)
    url = media.string("url", max_length=2000)
    if bool(media_id) == bool(url):
        raise _invalid("media must have exactly one of url and id.")
    fetch = media.data.get("fetch", False)
    if not isinstance(fetch, bool) or (fetch and not url):
        raise _invalid("media.fetch must be true or false, and only with media.url.")
    if media_id:
        return {"id": media_id}
    source = {"url": _https_url(url, "media.url")}
    if fetch:
        source["fetch"] = True
    return source


def _media(item: Shape, message: OutboundMessage) -> None:
    media = item.object("media", required=True)
    content = _media_source(media)
    if message.type not in UNCAPTIONED:
        caption = media.string("caption", max_length=CAPTION_MAX)
        if caption:
            content["caption"] = caption
    if message.type == "document":
        filename = media.string("filename", max_length=FILENAME_MAX)
        if filename:
            content["filename"] = filename
    message.content = content


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


def _interactive(item: Shape, message: OutboundMessage) -> None:
    """Meta's interactive object, checked as Meta checks it and kept as Meta takes it."""
    interactive = Shape(item.data, _FIELDS).object("interactive", required=True)
    kind = interactive.string("type", required=True)
    if kind not in INTERACTIVE_TYPES:
        raise _invalid(f"interactive.type must be one of: {', '.join(INTERACTIVE_TYPES)}.")
    content: dict = {"type": kind}
    header = _header(interactive, ("text",) if kind == "list" else HEADER_TYPES)
    if header:
        content["header"] = header
    content["body"] = {
        "text": interactive.string("text", required=True, max_length=BODY_MAX[kind], within="body")
    }
    if interactive.data.get("footer") is not None:
        footer = interactive.object("footer")
        content["footer"] = {"text": footer.string("text", required=True, max_length=FOOTER_MAX)}
    action = interactive.object("action", required=True)
    content["action"] = _ACTIONS[kind](action)
    message.content = content


def _header(interactive: Shape, kinds: tuple[str, ...]) -> dict | None:
    if interactive.data.get("header") is None:
        return None
    header = interactive.object("header")
    kind = header.string("type", required=True)
    if kind not in kinds:
        raise _invalid(f"{_path(header, 'type')} must be one of: {', '.join(kinds)}.")
    if kind == "text":
        return {
            "type": "text",
            "text": header.string("text", required=True, max_length=HEADER_TEXT_MAX),
        }
    media = header.object(kind, required=True)
    link = media.string("link", required=True, max_length=URL_MAX)
    return {"type": kind, kind: {"link": _https_url(link, _path(media, "link"))}}


def _buttons(action: Shape) -> dict:
    buttons, ids, titles = [], set(), set()
    for button in _counted(action, "buttons", 1, BUTTONS_MAX):
        if button.string("type", required=True) != "reply":
            raise _invalid(f"{_path(button, 'type')} must be reply.")
        reply = button.object("reply", required=True)
        button_id = reply.string("id", required=True, max_length=BUTTON_ID_MAX)
        if button_id != button_id.strip():
            raise _invalid(f"{_path(reply, 'id')} has no leading or trailing spaces.")
        _unique(button_id, ids, reply, "id")
        title = reply.string("title", required=True, max_length=BUTTON_TITLE_MAX)
        _unique(title, titles, reply, "title")
        buttons.append({"type": "reply", "reply": {"id": button_id, "title": title}})
    return {"buttons": buttons}


def _list(action: Shape) -> dict:
    label = action.string("button", required=True, max_length=LIST_BUTTON_MAX)
    sections = _counted(action, "sections", 1, SECTIONS_MAX)
    kept, ids, count = [], set(), 0
    for section in sections:
        title = section.string("title", max_length=SECTION_TITLE_MAX)
        if not title and len(sections) > 1:
            raise _invalid(
                f"{_path(section, 'title')} is required when there is more than one section."
            )
        rows = []
        for row in _counted(section, "rows", 1, ROWS_MAX):
            row_id = row.string("id", required=True, max_length=ROW_ID_MAX)
            _unique(row_id, ids, row, "id")
            kept_row = {
                "id": row_id,
                "title": row.string("title", required=True, max_length=ROW_TITLE_MAX),
            }
            if description := row.string("description", max_length=ROW_DESCRIPTION_MAX):
                kept_row["description"] = description
            rows.append(kept_row)
        count += len(rows)
        if count > ROWS_MAX:
            raise _invalid(f"{_path(action, 'sections')} have at most {ROWS_MAX} rows in all.")
        kept.append({"title": title, "rows": rows} if title else {"rows": rows})
    return {"button": label, "sections": kept}


def _cta_url(action: Shape) -> dict:
    if action.string("name", required=True) != "cta_url":
        raise _invalid(f"{_path(action, 'name')} must be cta_url.")
    parameters = action.object("parameters", required=True)
    text = parameters.string("display_text", required=True, max_length=CTA_TEXT_MAX)
    url = parameters.string("url", required=True, max_length=URL_MAX)
    if not _is_http_url(url):
        raise _invalid(f"{_path(parameters, 'url')} must be an http(s) URL.")
    return {"name": "cta_url", "parameters": {"display_text": text, "url": url}}


_ACTIONS = {"button": _buttons, "list": _list, "cta_url": _cta_url}


def _contacts(item: Shape, message: OutboundMessage) -> None:
    """Meta's contact cards, each with at least its formatted name."""
    cards = []
    for card in _counted(Shape(item.data, _FIELDS), "contacts", 1):
        name = card.object("name", required=True)
        name.string("formatted_name", required=True)
        kept = {"name": _texts(name, CONTACT_NAME)}
        if card.data.get("org") is not None:
            kept["org"] = _texts(card.object("org"), CONTACT_ORG)
        for key, fields in CONTACT_LISTS.items():
            if entries := [_texts(entry, fields) for entry in card.objects(key)]:
                kept[key] = entries
        if birthday := card.string("birthday"):
            if not BIRTHDAY.fullmatch(birthday):
                raise _invalid(f"{_path(card, 'birthday')} must be a date, YYYY-MM-DD.")
            kept["birthday"] = birthday
        cards.append(kept)
    message.content = {"contacts": cards}


_PARSERS = {
    "text": _text,
    "template": _template,
    **dict.fromkeys(MEDIA_TYPES, _media),
    "location": _location,
    "reaction": _reaction,
    "interactive": _interactive,
    "contacts": _contacts,
}
