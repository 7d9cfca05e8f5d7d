"""The stream APIs' OpenAPI 3.1 document, served as ``/api/openapi.json``.

``document`` builds the description of ``/api/whatsapp/send/``, ``/api/messages_status/``,
``/api/whatsapp/contacts/``, ``/api/whatsapp/media/``, ``/api/whatsapp/read/`` and
``/api/media/{message_uuid}/`` from what ``streams.api_auth``, ``whatsapp.api``,
``whatsapp.outbox`` and ``whatsapp.uploads`` accept and answer (limits are taken from those
modules, so they cannot differ). ``whatsapp.api.docs`` renders the same dictionary as the
``/api/docs`` page, and the tests check real responses against it and send its request
examples to the real API.
"""

import re

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.http import require_safe

from streams import tokens
from whatsapp.api import send as send_api
from whatsapp.api import upload as upload_api
from whatsapp.api.media import MEDIA_FAILED, MEDIA_GONE, MEDIA_METHOD_NOT_ALLOWED, MEDIA_NOT_FOUND
from whatsapp.outbox import validate
from whatsapp.service_window import OUTSIDE_SERVICE_WINDOW, OUTSIDE_SERVICE_WINDOW_MESSAGE
from whatsapp.uploads.limits import LIMITS, STATIC_STICKER_MAX_BYTES

VERSION = "1.0.0"


SEND_PATH = "/api/whatsapp/send/"


STATUS_PATH = "/api/messages_status/"


MEDIA_PATH = "/api/media/{message_uuid}/"


CONTACTS_PATH = "/api/whatsapp/contacts/"
UPLOAD_PATH = "/api/whatsapp/media/"


READ_PATH = "/api/whatsapp/read/"


JSON = "application/json"


MULTIPART = "multipart/form-data"


# The upload API's error codes (whatsapp.api.upload, whatsapp.uploads).
UPLOAD_ERROR_CODES = {
    "INVALID_REQUEST": "Not a multipart/form-data body with one `file`, or not a `POST`.",
    "UNKNOWN_SENDER": "`sender` is not one of the stream's sender numbers.",
    "MEDIA_TYPE_NOT_ALLOWED": "The file's content is of no type WhatsApp takes.",
    "MEDIA_TOO_LARGE": "The file is larger than WhatsApp takes for its type.",
    "MEDIA_EMPTY": "The file is empty.",
    "WHATSAPP_ERROR": "WhatsApp refused the upload, or could not be reached.",
}


# The codes of a send whose file TextPeak fetched itself, in its status's ``error.code``.
FETCH_ERROR_CODES = (
    "MEDIA_URL_REFUSED",
    "MEDIA_FETCH_FAILED",
    "MEDIA_TOO_LARGE",
    "MEDIA_TYPE_NOT_ALLOWED",
    "MEDIA_EMPTY",
)


# Example values that work on a Demo Sending stream: its sender and its templates
# (whatsapp.graph.demo). EXAMPLE_REPLY_TO stands for a message the stream received or sent.
EXAMPLE_SENDER = "15550100100"


EXAMPLE_RECIPIENT = "4915112345678"


EXAMPLE_REPLY_TO = "3f6c2b9e-5d1a-4c8e-9b7f-2a4d6e8c0b1f"


EXAMPLE_TASK_ID = "5b1f8c2e-7a4d-4e3b-9c61-0d2f8a7b3e94"


EXAMPLE_UUIDS = (
    "9d2c4e7a-1b3f-4a6d-8e5c-2f7b9a1c3d5e",
    "c41a7e29-6d8b-4f02-a5e3-7b9d1c2e4f60",
)


UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


# What validate._message_uuid reads as a uuid (any case, hyphens optional) within 36 characters.
ANY_UUID_PATTERN = (
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


URL_PATTERN = r"^https?://[^/?#\s]+"


# What validate.E164 reads as a phone number, after a leading "+".
PHONE_PATTERN = r"^\+?[1-9][0-9]{6,14}$"


ERROR_CODES = {
    "INVALID_RECIPIENT": "`recipient_phone` is not a phone number in international format: "
    "7 to 15 digits, not starting with 0, optionally after a `+`.",
    "UNKNOWN_SENDER": "`sender` is not one of the stream's sender numbers (digits only, "
    "optionally after a `+`; see the stream's WhatsApp tab).",
    "UNKNOWN_TEMPLATE": "There is no approved template with this `template.name` in this "
    "`template.language` on the stream.",
    OUTSIDE_SERVICE_WINDOW: "The message is not a template, and its recipient has not written "
    "to the stream in the last 24 hours: WhatsApp would refuse it (its error 131047). Send an "
    "approved template instead. Never on a Demo Sending stream, nor on a stream whose check "
    "is turned off on its WhatsApp tab.",
    "INVALID_MESSAGE": "Anything else about the message: a missing or wrong field, a value "
    "too long or out of range, too many or too few buttons, sections or rows, an id used twice, "
    "an unknown `type`, the wrong number of template variables, or a `reply_to` / "
    "`reaction.message_uuid` that is not a message of this stream with a WhatsApp id. `detail` "
    "says which, naming the field by its path (`interactive.action.buttons[1].reply.title has "
    "at most 20 characters.`).",
}


STATUSES = {
    "queued": "Accepted, not yet handed to WhatsApp; also while a temporary failure is being "
    "retried (`error` then shows the last failure), and while the stream is disabled or the "
    "account's access withdrawn: held, and sent once it is enabled or access is granted again.",
    "sent": "WhatsApp accepted the message.",
    "delivered": "WhatsApp delivered it to the recipient's phone.",
    "read": "The recipient read it.",
    "sent_failed": "WhatsApp refused it or reported a failure (or every retry failed); "
    "`error` has WhatsApp's code and text when there is one. Not retried.",
    "rejected": "Never handed to WhatsApp: the stream was deleted while the message was "
    "queued (`error` says so). A message the send API refuses is not stored: its result "
    "carries the error code.",
    "unknown": "The worker sending it stopped during its call to WhatsApp, which may or may "
    "not have reached it, on a stream that sends at most once: it was not sent again, and "
    "`error` says so. Streams that send at least once (the default) send it again instead.",
    "received": "Not one of your sends: a message the stream received (its `message_uuid` "
    "came with the incoming-message webhook).",
    "not_found": "No message with this uuid on this stream (unknown, another stream's, or "
    "not a uuid).",
}


READ_STATES = {
    "queued": "Recorded, not yet handed to WhatsApp (or being retried after a temporary "
    "failure): a worker sends it in a slot of the sender's rate, shared with its messages.",
    "sent": "WhatsApp marked the message (and the conversation's earlier ones) as read.",
    "failed": "WhatsApp refused it for good, or every retry failed; the Messages tab shows "
    "WhatsApp's error. Not tried again.",
}


FORBIDDEN = {
    "Not authenticated": "The `Authorization` header is missing, or is not a token of a "
    "stream (deleted streams' and replaced tokens included).",
    "IP address not allowed": "The stream's IP ACL is on and the request's address is not "
    "in its allowed networks.",
    "Stream is disabled": "The stream was disabled in the console.",
    "Stream is not ready: finish its setup in the Streams API page": "The stream is still a draft.",
    "This account does not have access to this stream type": "The account's access to "
    "WhatsApp streams was withdrawn.",
}


def _message_example(internal_id: str, kind: str, **fields) -> dict:
    return {
        "internal_id": internal_id,
        "sender": EXAMPLE_SENDER,
        "recipient_phone": EXAMPLE_RECIPIENT,
        "type": kind,
        **fields,
    }


EXAMPLE_BUTTONS = {
    "type": "button",
    "header": {"type": "image", "image": {"link": "https://example.com/parcel.jpg"}},
    "body": {"text": "Your parcel arrives tomorrow. Shall we deliver it?"},
    "footer": {"text": "Reply by 6 pm"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "deliver-yes", "title": "Yes, deliver"}},
            {"type": "reply", "reply": {"id": "deliver-shop", "title": "To the shop"}},
        ]
    },
}


EXAMPLE_LIST = {
    "type": "list",
    "header": {"type": "text", "text": "Delivery slots"},
    "body": {"text": "When should we come?"},
    "footer": {"text": "Times are local"},
    "action": {
        "button": "Choose a slot",
        "sections": [
            {
                "title": "Tomorrow",
                "rows": [
                    {"id": "slot-am", "title": "Morning", "description": "8:00 to 12:00"},
                    {"id": "slot-pm", "title": "Afternoon", "description": "12:00 to 18:00"},
                ],
            },
            {"title": "Saturday", "rows": [{"id": "slot-sat", "title": "All day"}]},
        ],
    },
}


EXAMPLE_CTA_URL = {
    "type": "cta_url",
    "body": {"text": "Your parcel is on its way."},
    "action": {
        "name": "cta_url",
        "parameters": {"display_text": "Track it", "url": "https://example.com/t/1001"},
    },
}


EXAMPLE_CONTACTS = [
    {
        "name": {"formatted_name": "Acme Support", "first_name": "Acme", "last_name": "Support"},
        "org": {"company": "Acme Ltd"},
        "phones": [{"phone": "+49 30 1234567", "type": "WORK", "wa_id": "49301234567"}],
        "emails": [{"email": "support@example.com", "type": "WORK"}],
        "urls": [{"url": "https://example.com/help", "type": "WORK"}],
    }
]


def _send_examples() -> dict:
    examples = {
        "batch": (
            "A batch of three messages",
            "A template to start a conversation, an image, and a text reply, in one request.",
            [
                _message_example(
                    "ord-1001",
                    "template",
                    template={
                        "name": "order_update",
                        "language": "en_US",
                        "variables": ["Anna", "#1001"],
                    },
                ),
                _message_example(
                    "ord-1002",
                    "image",
                    media={"url": "https://example.com/parcel.jpg", "caption": "Your parcel"},
                ),
                _message_example(
                    "ord-1003",
                    "text",
                    message_content="Thanks, see you soon!",
                    reply_to=EXAMPLE_REPLY_TO,
                ),
            ],
        ),
        "text": (
            "Text",
            "Free text, with link previews; only within 24 hours of the customer's last message.",
            [
                _message_example(
                    "chat-2001",
                    "text",
                    message_content="Your table is booked: https://example.com/b/2001",
                    preview_url=True,
                )
            ],
        ),
        "template": (
            "Template",
            "An approved template with its body variables; starts a conversation at any time.",
            [
                _message_example(
                    "rem-3001",
                    "template",
                    template={
                        "name": "appointment_reminder",
                        "language": "de",
                        "variables": ["Anna", "12.05.", "14:30"],
                    },
                )
            ],
        ),
        "document": (
            "Document",
            "A file by link, with a caption and the file name the recipient sees.",
            [
                _message_example(
                    "inv-4001",
                    "document",
                    media={
                        "url": "https://example.com/invoices/4001.pdf",
                        "caption": "Your invoice",
                        "filename": "Invoice-4001.pdf",
                    },
                )
            ],
        ),
        "video_audio": (
            "Video and audio",
            "Media by link; audio has no caption.",
            [
                _message_example(
                    "vid-5001",
                    "video",
                    media={"url": "https://example.com/howto.mp4", "caption": "How to unpack"},
                ),
                _message_example(
                    "aud-5002", "audio", media={"url": "https://example.com/greeting.ogg"}
                ),
            ],
        ),
        "location": (
            "Location",
            "A pin on the map, with an optional name and address.",
            [
                _message_example(
                    "loc-6001",
                    "location",
                    location={
                        "latitude": 52.520008,
                        "longitude": 13.404954,
                        "name": "TextPeak Store",
                        "address": "Alexanderplatz 1, 10178 Berlin",
                    },
                )
            ],
        ),
        "reaction": (
            "Reaction",
            "An emoji on an earlier message; an empty emoji removes the reaction.",
            [
                _message_example(
                    "rea-7001",
                    "reaction",
                    reaction={"message_uuid": EXAMPLE_REPLY_TO, "emoji": "👍"},
                )
            ],
        ),
        "interactive_buttons": (
            "Reply buttons",
            "Up to three buttons to answer with; the incoming message's webhook event gives the "
            "id and title of the one pressed. Written as WhatsApp's own `interactive` object.",
            [_message_example("int-8001", "interactive", interactive=EXAMPLE_BUTTONS)],
        ),
        "interactive_list": (
            "List",
            "A menu of up to ten rows in up to ten sections, opened by its button.",
            [_message_example("int-8002", "interactive", interactive=EXAMPLE_LIST)],
        ),
        "interactive_cta_url": (
            "Call-to-action URL",
            "A button that opens a link, in reply to the customer's message.",
            [
                _message_example(
                    "int-8003",
                    "interactive",
                    interactive=EXAMPLE_CTA_URL,
                    reply_to=EXAMPLE_REPLY_TO,
                )
            ],
        ),
        "sticker": (
            "Sticker",
            "A sticker by link (WebP); it takes no caption.",
            [_message_example("stk-9001", "sticker", media={"url": "https://example.com/ok.webp"})],
        ),
        "contacts": (
            "Contact cards",
            "One or more contact cards, as WhatsApp's own contact objects.",
            [_message_example("con-9101", "contacts", contacts=EXAMPLE_CONTACTS)],
        ),
    }
    return {
        key: {"summary": summary, "description": description, "value": {"messages": messages}}
        for key, (summary, description, messages) in examples.items()
    }


def _string(description: str, **rules) -> dict:
    return {"type": "string", "description": description, **rules}


def _phone(description: str) -> dict:
    return _string(description, pattern=PHONE_PATTERN, examples=[EXAMPLE_RECIPIENT])


def _reply_to() -> dict:
    return _string(
        "Quote an earlier message: the `message_uuid` of a message on this stream that has a "
        "WhatsApp id, i.e. one it received (from the incoming-message webhook) or one it sent "
        "that WhatsApp accepted. Otherwise `INVALID_MESSAGE`.",
        maxLength=36,
        pattern=ANY_UUID_PATTERN,
    )


def _message_schema(
    kind: str, title: str, description: str, properties: dict, required: tuple = ()
) -> dict:
    return {
        "title": title,
        "type": "object",
        "description": description,
        "required": ["sender", "recipient_phone", "type", *required],
        "properties": {
            "internal_id": _string(
                "Your id for the message, unique on the stream: a message whose `internal_id` "
                "the stream already accepted is not sent again (see Idempotency). Optional; "
                "empty means none.",
                maxLength=validate.INTERNAL_ID_MAX,
                examples=["ord-1001"],
            ),
            "sender": _string(
                "One of the stream's sender numbers, digits only (a leading `+` is allowed).",
                pattern=r"^\+?[0-9]+$",
                examples=[EXAMPLE_SENDER],
            ),
            "recipient_phone": _phone(
                "The recipient's WhatsApp number in international format (E.164): country "
                "code and number, digits only, 7 to 15 digits, a leading `+` is allowed."
            ),
            "type": {"type": "string", "const": kind, "description": "The message type."},
            **properties,
        },
    }


def _media_schema(kind: str, title: str, description: str) -> dict:
    limit = LIMITS[kind]
    media = {
        "url": _string(
            "Where the file is: a public http(s) URL, which WhatsApp downloads (or TextPeak, "
            "with `fetch`).",
            format="uri",
            maxLength=2000,
            pattern=URL_PATTERN,
        ),
        "id": _string(
            f"The `media_id` of a file uploaded with `POST {UPLOAD_PATH}` for this sender, "
            "instead of `url`.",
            minLength=1,
            maxLength=validate.MEDIA_ID_MAX,
        ),
        "fetch": {
            "type": "boolean",
            "default": False,
            "description": "With `url`: TextPeak's worker fetches the file (public addresses "
            "only, no redirects), checks it "
            f"({', '.join(sorted(limit.mime_types))}; at most {limit.max_bytes // 2**20} MB), "
            "uploads it and sends it by its media id, so WhatsApp's link fetcher is out of "
            "the way. A file it cannot fetch or WhatsApp would refuse fails the message "
            f"(`sent_failed`, with one of {', '.join(f'`{c}`' for c in FETCH_ERROR_CODES)} "
            "as the status's `error.code`).",
        },
    }
    if kind not in validate.UNCAPTIONED:
        media["caption"] = _string("Text shown with the file.", maxLength=validate.CAPTION_MAX)
    if kind == "document":
        media["filename"] = _string(
            "The file name the recipient sees.", maxLength=validate.FILENAME_MAX
        )
    return _message_schema(
        kind,
        title,
        description,
        {
            "media": {
                "type": "object",
                "description": "The file, by link or by the media id of an upload: exactly "
                "one of `url` and `id`."
                + (
                    f" {kind.capitalize()} takes no caption (one is ignored)."
                    if kind in validate.UNCAPTIONED
                    else ""
                ),
                "oneOf": [
                    {"required": ["url"], "not": {"required": ["id"]}},
                    {"required": ["id"], "not": {"required": ["url"]}},
                ],
                "if": {"required": ["fetch"], "properties": {"fetch": {"const": True}}},
                "then": {"required": ["url"]},
                "properties": media,
            },
            "reply_to": _reply_to(),
        },
        required=("media",),
    )


def _object(properties: dict, required: tuple = (), **rest) -> dict:
    return {"type": "object", "required": list(required), "properties": properties, **rest}


def _text(description: str, max_length: int) -> dict:
    return _object({"text": _string(description, minLength=1, maxLength=max_length)}, ("text",))


def _choice_id(description: str, max_length: int) -> dict:
    return _string(
        f"{description} The incoming message's webhook event gives it back when the customer "
        "chooses it; unique within the message.",
        minLength=1,
        maxLength=max_length,
    )


def _interactive_schema() -> dict:
    """Meta's interactive object, for the three kinds the send API takes."""
    link = _string(
        "Where WhatsApp downloads the file from: a public http(s) URL.",
        format="uri",
        maxLength=validate.URL_MAX,
        pattern=URL_PATTERN,
    )
    media_kinds = [kind for kind in validate.HEADER_TYPES if kind != "text"]
    header = _object(
        {
            "type": {"type": "string", "enum": list(validate.HEADER_TYPES)},
            "text": _string(
                "The header's text. Required when `type` is `text`.",
                minLength=1,
                maxLength=validate.HEADER_TEXT_MAX,
            ),
            **{
                kind: _object(
                    {"link": link}, ("link",), description=f"Required when `type` is `{kind}`."
                )
                for kind in media_kinds
            },
        },
        ("type",),
        description="Shown above the body: a text, or an image, video or document by link. "
        "A list's header can only be a text.",
        allOf=[
            {"if": {"properties": {"type": {"const": kind}}}, "then": {"required": [kind]}}
            for kind in validate.HEADER_TYPES
        ],
    )
    reply_button = _object(
        {
            "type": {"type": "string", "const": "reply"},
            "reply": _object(
                {
                    "id": _choice_id(
                        "The button's id, without leading or trailing spaces.",
                        validate.BUTTON_ID_MAX,
                    ),
                    "title": _string(
                        "The button's label; unique within the message.",
                        minLength=1,
                        maxLength=validate.BUTTON_TITLE_MAX,
                    ),
                },
                ("id", "title"),
            ),
        },
        ("type", "reply"),
    )
    row = _object(
        {
            "id": _choice_id("The row's id.", validate.ROW_ID_MAX),
            "title": _string("The row's title.", minLength=1, maxLength=validate.ROW_TITLE_MAX),
            "description": _string(
                "Shown under the title.", maxLength=validate.ROW_DESCRIPTION_MAX
            ),
        },
        ("id", "title"),
    )
    section = _object(
        {
            "title": _string(
                "The section's heading. Required when there is more than one section.",
                maxLength=validate.SECTION_TITLE_MAX,
            ),
            "rows": {
                "type": "array",
                "minItems": 1,
                "maxItems": validate.ROWS_MAX,
                "items": row,
                "description": f"At most {validate.ROWS_MAX} rows in all the sections together.",
            },
        },
        ("rows",),
    )
    action = _object(
        {
            "buttons": {
                "type": "array",
                "minItems": 1,
                "maxItems": validate.BUTTONS_MAX,
                "description": "`button`: the reply buttons.",
                "items": reply_button,
            },
            "button": _string(
                "`list`: the label of the button that opens the list.",
                minLength=1,
                maxLength=validate.LIST_BUTTON_MAX,
            ),
            "sections": {
                "type": "array",
                "minItems": 1,
                "maxItems": validate.SECTIONS_MAX,
                "description": "`list`: the list's sections.",
                "items": section,
            },
            "name": {
                "type": "string",
                "const": "cta_url",
                "description": "`cta_url`: the action's name.",
            },
            "parameters": _object(
                {
                    "display_text": _string(
                        "The button's label.", minLength=1, maxLength=validate.CTA_TEXT_MAX
                    ),
                    "url": _string(
                        "The link the button opens, http(s).",
                        format="uri",
                        maxLength=validate.URL_MAX,
                        pattern=URL_PATTERN,
                    ),
                },
                ("display_text", "url"),
                description="`cta_url`: the button and its link.",
            ),
        },
        description="What the customer can do: `buttons` for `button`; `button` and "
        "`sections` for `list`; `name` and `parameters` for `cta_url`.",
    )
    interactive = _object(
        {
            "type": {"type": "string", "enum": list(validate.INTERACTIVE_TYPES)},
            "header": header,
            "body": _text(
                f"The message's text: up to {validate.BODY_MAX['button']} characters, "
                f"{validate.BODY_MAX['list']} for a `list`.",
                max(validate.BODY_MAX.values()),
            ),
            "footer": _text("A line under the body.", validate.FOOTER_MAX),
            "action": action,
        },
        ("type", "body", "action"),
        description="WhatsApp's own interactive object, as its Cloud API reference describes "
        "it. Fields it does not list are left out.",
        allOf=[
            _when("button", action=["buttons"]),
            _when("list", action=["button", "sections"], header_type="text"),
            _when("cta_url", action=["name", "parameters"]),
        ],
    )
    return _message_schema(
        "interactive",
        "Interactive message",
        "Reply buttons, a list or a call-to-action URL button; the customer's choice comes "
        "back as an incoming `interactive` message whose event gives its id and title, with "
        "`reply_to` set to this message's uuid.",
        {"interactive": interactive, "reply_to": _reply_to()},
        required=("interactive",),
    )


def _when(kind: str, *, action: list[str], header_type: str | None = None) -> dict:
    """What one kind of interactive message needs besides the fields all kinds share."""
    body = {"properties": {"text": {"maxLength": validate.BODY_MAX[kind]}}}
    then: dict = {"properties": {"action": {"required": action}, "body": body}}
    if header_type:
        then["properties"]["header"] = {"properties": {"type": {"const": header_type}}}
    return {"if": {"properties": {"type": {"const": kind}}}, "then": then}


def _contacts_schema() -> dict:
    def texts(keys) -> dict:
        return {key: {"type": "string"} for key in keys}

    card = _object(
        {
            "name": _object(
                texts(validate.CONTACT_NAME),
                ("formatted_name",),
                description="The name shown on the card is `formatted_name`.",
            ),
            "org": _object(texts(validate.CONTACT_ORG)),
            **{
                key: {"type": "array", "items": _object(texts(fields))}
                for key, fields in validate.CONTACT_LISTS.items()
            },
            "birthday": _string("YYYY-MM-DD.", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        },
        ("name",),
    )
    return _message_schema(
        "contacts",
        "Contact cards",
        "Contact cards, as WhatsApp's own contact objects.",
        {
            "contacts": {"type": "array", "minItems": 1, "items": card},
            "reply_to": _reply_to(),
        },
        required=("contacts",),
    )


def _message_schemas() -> dict:
    template_header = {
        "type": "object",
        "description": "Parameters of the template's header, if it has a variable or media one.",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": ["text", "image", "video", "document"]},
            "text": _string(
                "The header's text parameter. Required when `type` is `text`.",
                minLength=1,
                maxLength=60,
            ),
            "url": _string(
                "The header's media, a public http(s) URL. Required when `type` is `image`, "
                "`video` or `document`.",
                format="uri",
                maxLength=2000,
                pattern=URL_PATTERN,
            ),
        },
        "if": {"properties": {"type": {"const": "text"}}},
        "then": {"required": ["text"]},
        "else": {"required": ["url"]},
    }
    template_button = {
        "type": "object",
        "required": ["sub_type", "parameter"],
        "properties": {
            "index": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9,
                "description": "The button's position in the template; defaults to this "
                "entry's position in `buttons`.",
            },
            "sub_type": {"type": "string", "enum": ["url", "quick_reply"]},
            "parameter": _string(
                "The URL suffix of a `url` button, or the payload of a `quick_reply` button.",
                minLength=1,
                maxLength=2000,
            ),
        },
    }
    return {
        "TextMessage": _message_schema(
            "text",
            "Text message",
            "Free text. WhatsApp delivers it only within 24 hours of the recipient's last "
            "message; start conversations with a template.",
            {
                "message_content": _string("The text.", minLength=1, maxLength=validate.TEXT_MAX),
                "preview_url": {
                    "type": "boolean",
                    "default": False,
                    "description": "Show a preview of the first link in the text.",
                },
                "reply_to": _reply_to(),
            },
            required=("message_content",),
        ),
        "TemplateMessage": _message_schema(
            "template",
            "Template message",
            "An approved message template of the stream's WhatsApp Business Account.",
            {
                "template": {
                    "type": "object",
                    "required": ["name", "language"],
                    "properties": {
                        "name": _string("The template's name.", minLength=1, maxLength=512),
                        "language": _string(
                            "The template's language code, as in WhatsApp Manager "
                            "(`en_US`, `de`, …).",
                            minLength=1,
                            maxLength=15,
                        ),
                        "variables": {
                            "type": "array",
                            "default": [],
                            "description": "The body's variables `{{1}}`, `{{2}}`, … in "
                            "order: exactly as many as the template has. Numbers are sent "
                            "as text.",
                            "items": {
                                "type": ["string", "number"],
                                "minLength": 1,
                                "maxLength": validate.VARIABLE_MAX,
                            },
                        },
                        "header": template_header,
                        "buttons": {
                            "type": "array",
                            "maxItems": 10,
                            "description": "Parameters of the template's dynamic buttons.",
                            "items": template_button,
                        },
                    },
                },
                "reply_to": _reply_to(),
            },
            required=("template",),
        ),
        "ImageMessage": _media_schema("image", "Image message", "An image."),
        "VideoMessage": _media_schema("video", "Video message", "A video."),
        "AudioMessage": _media_schema("audio", "Audio message", "An audio file."),
        "DocumentMessage": _media_schema("document", "Document message", "A document (PDF, …)."),
        "StickerMessage": _media_schema(
            "sticker",
            "Sticker message",
            "A sticker: a WebP image of 512 by 512 pixels, up to 100 KB (500 KB animated).",
        ),
        "InteractiveMessage": _interactive_schema(),
        "ContactsMessage": _contacts_schema(),
        "LocationMessage": _message_schema(
            "location",
            "Location message",
            "A location pin.",
            {
                "location": {
                    "type": "object",
                    "required": ["latitude", "longitude"],
                    "properties": {
                        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                        "name": _string("The place's name.", maxLength=1000),
                        "address": _string("The place's address.", maxLength=1000),
                    },
                },
                "reply_to": _reply_to(),
            },
            required=("location",),
        ),
        "ReactionMessage": _message_schema(
            "reaction",
            "Reaction",
            "An emoji reaction to a message of the conversation.",
            {
                "reaction": {
                    "type": "object",
                    "required": ["message_uuid"],
                    "properties": {
                        "message_uuid": _string(
                            "The message reacted to: a message of this stream with a "
                            "WhatsApp id, as for `reply_to`.",
                            maxLength=36,
                            pattern=ANY_UUID_PATTERN,
                        ),
                        "emoji": _string(
                            "The emoji; empty (or left out) removes an earlier reaction.",
                            maxLength=10,
                            default="",
                        ),
                    },
                },
            },
            required=("reaction",),
        ),
    }


MESSAGE_TYPES = {
    "text": "TextMessage",
    "template": "TemplateMessage",
    "image": "ImageMessage",
    "video": "VideoMessage",
    "audio": "AudioMessage",
    "document": "DocumentMessage",
    "sticker": "StickerMessage",
    "location": "LocationMessage",
    "reaction": "ReactionMessage",
    "interactive": "InteractiveMessage",
    "contacts": "ContactsMessage",
}


def _schemas() -> dict:
    messages = _message_schemas()
    ref = "#/components/schemas/"
    detail = {"type": "string", "description": "What is wrong, in words to show as they are."}
    return {
        **messages,
        "Message": {
            "description": "One message; `type` says which fields it takes.",
            "oneOf": [{"$ref": ref + name} for name in MESSAGE_TYPES.values()],
            "discriminator": {
                "propertyName": "type",
                "mapping": {kind: ref + name for kind, name in MESSAGE_TYPES.items()},
            },
        },
        "SendRequest": {
            "type": "object",
            "required": ["messages"],
            "properties": {
                "messages": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": send_api.MAX_MESSAGES,
                    "description": f"1 to {send_api.MAX_MESSAGES} messages, each accepted or "
                    "refused on its own.",
                    "items": {"$ref": ref + "Message"},
                }
            },
        },
        "AcceptedResult": {
            "type": "object",
            "description": "The message was accepted (stored `queued`), or its `internal_id` "
            "was accepted before.",
            "required": ["internal_id", "message_uuid", "error"],
            "additionalProperties": False,
            "properties": {
                "internal_id": {
                    "type": ["string", "null"],
                    "description": "The message's `internal_id`; null if it had none.",
                },
                "message_uuid": {
                    "type": "string",
                    "format": "uuid",
                    "pattern": UUID_PATTERN,
                    "description": "TextPeak's id of the message: ask the status API with it.",
                },
                "error": {"type": "null"},
            },
        },
        "RefusedResult": {
            "type": "object",
            "description": "The message was refused; nothing was stored or sent.",
            "required": ["internal_id", "message_uuid", "error", "detail"],
            "additionalProperties": False,
            "properties": {
                "internal_id": {
                    "type": ["string", "null"],
                    "description": "The message's `internal_id`; null if it had none, or if "
                    "the message is not an object or its `internal_id` is itself invalid.",
                },
                "message_uuid": {"type": "null"},
                "error": {
                    "type": "string",
                    "enum": list(ERROR_CODES),
                    "x-enumDescriptions": dict(ERROR_CODES),
                    "description": "Why the message was refused.",
                },
                "detail": detail,
            },
        },
        "SendResponse": {
            "type": "object",
            "required": ["status", "task_id", "messages"],
            "additionalProperties": False,
            "properties": {
                "status": {"type": "boolean", "const": True},
                "task_id": {
                    "type": "string",
                    "format": "uuid",
                    "pattern": UUID_PATTERN,
                    "description": "The id of this request's batch.",
                },
                "messages": {
                    "type": "array",
                    "description": "One result per message, in the order of the request.",
                    "items": {
                        "oneOf": [
                            {"$ref": ref + "AcceptedResult"},
                            {"$ref": ref + "RefusedResult"},
                        ]
                    },
                },
            },
        },
        "StatusRequest": {
            "type": "object",
            "required": ["message_uuids"],
            "properties": {
                "message_uuids": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": send_api.MAX_MESSAGES,
                    "description": f"1 to {send_api.MAX_MESSAGES} `message_uuid`s from send "
                    "responses (strings; any letter case, hyphens optional).",
                    "items": {"type": "string", "format": "uuid"},
                }
            },
        },
        "MessageError": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": ["string", "null"],
                    "description": "WhatsApp's error code, as text (e.g. `131026`); null when "
                    "WhatsApp could not be reached. A send whose file TextPeak fetched has "
                    f"TextPeak's own codes: {', '.join(f'`{c}`' for c in FETCH_ERROR_CODES)}.",
                },
                "message": _string("WhatsApp's error message, or what went wrong on the way."),
            },
        },
        "Pricing": {
            "type": "object",
            "description": "How WhatsApp prices the message, as its statuses reported it.",
            "required": ["billable", "category", "model"],
            "additionalProperties": False,
            "properties": {
                "billable": {
                    "type": ["boolean", "null"],
                    "description": "Whether the account is charged for the message.",
                },
                "category": {
                    "type": ["string", "null"],
                    "description": "WhatsApp's pricing category: `marketing`, `utility`, "
                    "`authentication`, `service`, or another WhatsApp adds.",
                },
                "model": {
                    "type": ["string", "null"],
                    "description": "WhatsApp's pricing model: `PMP` (per message) or `CBP` "
                    "(per conversation).",
                },
            },
        },
        "MessageStatus": {
            "type": "object",
            "required": ["message_uuid", "status", "error", "updated_at", "pricing"],
            "additionalProperties": False,
            "properties": {
                "message_uuid": _string("The uuid as it was asked for."),
                "status": {
                    "type": "string",
                    "enum": list(STATUSES),
                    "x-enumDescriptions": dict(STATUSES),
                },
                "error": {
                    "description": "The last error recorded for the message, if any.",
                    "oneOf": [{"type": "null"}, {"$ref": ref + "MessageError"}],
                },
                "updated_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "When the message last changed (ISO 8601); null for "
                    "`not_found`.",
                },
                "pricing": {
                    "description": "WhatsApp's pricing of a sent message, from its latest "
                    "status that carried one; null until WhatsApp reports it (and for "
                    "`not_found`).",
                    "oneOf": [{"type": "null"}, {"$ref": ref + "Pricing"}],
                },
            },
        },
        "StatusResponse": {
            "type": "object",
            "required": ["status", "messages"],
            "additionalProperties": False,
            "properties": {
                "status": {"type": "boolean", "const": True},
                "messages": {
                    "type": "array",
                    "description": "One entry per uuid asked for, in the same order.",
                    "items": {"$ref": ref + "MessageStatus"},
                },
            },
        },
        "ContactsRequest": {
            "type": "object",
            "required": ["contacts"],
            "properties": {
                "contacts": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": send_api.MAX_MESSAGES,
                    "description": f"1 to {send_api.MAX_MESSAGES} phone numbers, written as "
                    "`recipient_phone` is. One that is not refuses the whole request.",
                    "items": _phone("A contact's WhatsApp number in international format."),
                }
            },
        },
        "ServiceWindow": {
            "type": "object",
            "required": ["open", "last_inbound_at", "closes_at"],
            "additionalProperties": False,
            "properties": {
                "open": {
                    "type": "boolean",
                    "description": "Whether a message that is not a template may be sent to "
                    "the contact now. Always true on a Demo Sending stream.",
                },
                "last_inbound_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "When the contact last wrote to the stream (ISO 8601); "
                    "null if they never did.",
                },
                "closes_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "When the open window closes, 24 hours after the contact's "
                    "last message; null when it is closed, and on a Demo Sending stream, "
                    "where it never closes.",
                },
            },
        },
        "ContactWindow": {
            "type": "object",
            "required": ["phone", "window"],
            "additionalProperties": False,
            "properties": {
                "phone": _string("The number as it was asked for."),
                "window": {"$ref": ref + "ServiceWindow"},
            },
        },
        "ContactsResponse": {
            "type": "object",
            "required": ["status", "contacts"],
            "additionalProperties": False,
            "properties": {
                "status": {"type": "boolean", "const": True},
                "contacts": {
                    "type": "array",
                    "description": "One entry per number, in the order asked.",
                    "items": {"$ref": ref + "ContactWindow"},
                },
            },
        },
        "ReadRequest": {
            "type": "object",
            "required": ["message_uuid"],
            "properties": {
                "message_uuid": {
                    "type": "string",
                    "description": "The `message_uuid` of a message the stream received (from "
                    "the incoming-message webhook).",
                    "maxLength": 36,
                    "pattern": ANY_UUID_PATTERN,
                },
                "typing": {
                    "type": "boolean",
                    "default": False,
                    "description": "Also show the contact the typing indicator, which "
                    "WhatsApp hides at your next message or after 25 seconds. Only while the "
                    "receipt is still `queued` does asking again add it.",
                },
            },
        },
        "ReadResponse": {
            "type": "object",
            "required": ["status", "message_uuid", "read", "typing"],
            "additionalProperties": False,
            "properties": {
                "status": {"type": "boolean", "const": True},
                "message_uuid": _string("The uuid as it was asked for."),
                "read": {
                    "type": "string",
                    "enum": list(READ_STATES),
                    "x-enumDescriptions": dict(READ_STATES),
                },
                "typing": {
                    "type": "boolean",
                    "description": "Whether the receipt shows the typing indicator.",
                },
            },
        },
        "Error": {
            "type": "object",
            "required": ["detail"],
            "additionalProperties": False,
            "properties": {"detail": detail},
        },
        "UploadResponse": {
            "type": "object",
            "required": ["media_id", "mime_type", "size"],
            "additionalProperties": False,
            "properties": {
                "media_id": _string(
                    "WhatsApp's id of the file: send it as `media.id` from the same sender "
                    "(WhatsApp keeps uploads for 30 days)."
                ),
                "mime_type": _string(
                    "The file's type, read from its content (not from its Content-Type)."
                ),
                "size": {"type": "integer", "minimum": 1, "description": "Bytes."},
            },
        },
        "UploadError": {
            "type": "object",
            "required": ["error", "detail"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "string",
                    "enum": list(UPLOAD_ERROR_CODES),
                    "x-enumDescriptions": dict(UPLOAD_ERROR_CODES),
                },
                "detail": detail,
            },
        },
        "Forbidden": {
            "type": "object",
            "required": ["detail"],
            "additionalProperties": False,
            "properties": {
                "detail": {
                    "type": "string",
                    "enum": list(FORBIDDEN),
                    "x-enumDescriptions": dict(FORBIDDEN),
                }
            },
        },
    }


def _json_content(schema: str, examples: dict) -> dict:
    return {
        JSON: {
            "schema": {"$ref": f"#/components/schemas/{schema}"},
            "examples": {
                key: {
                    "summary": summary,
                    "value": value,
                    **({"description": extra[0]} if extra else {}),
                }
                for key, (summary, value, *extra) in examples.items()
            },
        }
    }


def _common_responses(rate: int, max_bytes: int) -> dict:
    return {
        "403": {
            "description": "The request was refused before it was read: no valid token, an "
            "address outside the stream's IP ACL, or a stream that cannot send.",
            "content": _json_content(
                "Forbidden",
                {
                    re.sub(r"\W+", "_", detail.split(":")[0].lower()).strip("_"): (
                        detail.split(":")[0],
                        {"detail": detail},
                        explanation,
                    )
                    for detail, explanation in FORBIDDEN.items()
                },
            ),
        },
        "405": {
            "description": "Any method but `POST`, with a valid token (without one the "
            "answer is 403).",
            "headers": {
                "Allow": {
                    "description": "The allowed method.",
                    "schema": {"type": "string", "const": "POST"},
                }
            },
            "content": _json_content(
                "Error", {"wrong_method": ("Not POST", {"detail": send_api.METHOD_NOT_ALLOWED})}
            ),
        },
        "413": {
            "description": f"The body is larger than {max_bytes} bytes: send fewer messages "
            "per request.",
            "content": _json_content(
                "Error",
                {
                    "too_large": (
                        "Body too large",
                        {
                            "detail": f"The body is larger than {max_bytes} bytes; send fewer "
                            "messages per request."
                        },
                    ),
                    "too_large_unsized": (
                        "Body over the server's upload limit",
                        {"detail": "The body is too large; send fewer messages per request."},
                    ),
                },
            ),
        },
        "429": {
            "description": f"The stream's request rate ({rate} requests per second) is "
            "exceeded, or this address sent too many unknown tokens. Wait `Retry-After` "
            "seconds and send the same request again.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before the next request.",
                    "schema": {"type": "integer", "minimum": 1},
                    "example": 1,
                }
            },
            "content": _json_content(
                "Error",
                {
                    "rate": (
                        "Too many requests",
                        {
                            "detail": f"Too many requests: this stream accepts {rate} "
                            "requests per second"
                        },
                    ),
                    "unknown_tokens": (
                        "Too many unknown tokens from this address",
                        {"detail": "Too many requests with an unknown token: retry after 6 s"},
                    ),
                },
            ),
        },
    }


def _media_operation(common: dict) -> dict:
    """``GET /api/media/{message_uuid}/``: the file of an incoming message."""
    example_url = settings.SITE_URL + MEDIA_PATH.replace("{message_uuid}", EXAMPLE_UUIDS[0])
    return {
        "operationId": "incomingMedia",
        "tags": ["WhatsApp"],
        "summary": "Download a received file",
        "description": "The file of a message the stream received (an image, video, audio, "
        "document or sticker), streamed from WhatsApp as it arrives: nothing is stored on "
        "the way. The `message_uuid` is the one the incoming-message webhook gave.\n\n"
        "The bytes are checked against the size and SHA-256 WhatsApp gives for the file; "
        "should they differ, the connection is closed before the file's end, so a download "
        "that completes is the file WhatsApp described.",
        "parameters": [
            {
                "name": "message_uuid",
                "in": "path",
                "required": True,
                "description": "The incoming message's `message_uuid` (any letter case, "
                "hyphens optional). A message of another stream, one the stream sent, or one "
                "without a file is a `404`.",
                "schema": {"type": "string", "maxLength": 36, "pattern": ANY_UUID_PATTERN},
                "example": EXAMPLE_UUIDS[0],
            }
        ],
        "x-codeSamples": [
            {
                "lang": "Shell",
                "label": "curl",
                "source": f'curl -f -H "Authorization: $STREAM_TOKEN" -o photo.jpg {example_url}',
            }
        ],
        "responses": {
            "200": {
                "description": "The file. `Content-Type` is its MIME type as WhatsApp gives it "
                "(`image/jpeg`, `application/pdf`, `audio/ogg; codecs=opus`, …; "
                "`application/octet-stream` when it gives none).",
                "headers": {
                    "Content-Disposition": {
                        "description": "`attachment` with the file name, when the customer "
                        "sent a document with one; otherwise `inline`.",
                        "schema": {"type": "string"},
                        "example": 'attachment; filename="Invoice-4001.pdf"',
                    },
                    "Content-Length": {
                        "description": "The file's size in bytes, when WhatsApp says it.",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                },
                "content": {
                    "*/*": {
                        "schema": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "The file's bytes.",
                        }
                    }
                },
            },
            "403": common["403"],
            "404": {
                "description": "No message with a file has this uuid on this stream: unknown, "
                "not a uuid, another stream's, one the stream sent, or one without a file.",
                "content": _json_content(
                    "Error", {"not_found": ("No such file", {"detail": MEDIA_NOT_FOUND})}
                ),
            },
            "405": {
                "description": "Any method but `GET`, with a valid token (without one the "
                "answer is 403).",
                "headers": {
                    "Allow": {
                        "description": "The allowed method.",
                        "schema": {"type": "string", "const": "GET"},
                    }
                },
                "content": _json_content(
                    "Error",
                    {"wrong_method": ("Not GET", {"detail": MEDIA_METHOD_NOT_ALLOWED})},
                ),
            },
            "410": {
                "description": "WhatsApp no longer has the file: it keeps the media customers "
                "send for a limited time only. `detail` ends with WhatsApp's own words.",
                "content": _json_content(
                    "Error",
                    {
                        "gone": (
                            "Expired media",
                            {
                                "detail": f"{MEDIA_GONE}: Unsupported get request. Object "
                                "with ID '1093470098452461' does not exist, cannot be loaded "
                                "due to missing permissions, or does not support this "
                                "operation. Please read the Graph API documentation at "
                                "https://developers.facebook.com/docs/graph-api"
                            },
                        )
                    },
                ),
            },
            "429": common["429"],
            "502": {
                "description": "WhatsApp did not give the file (the stream's WhatsApp token "
                "was refused, WhatsApp failed or could not be reached). `detail` ends with "
                "WhatsApp's message; the same request may work later.",
                "content": _json_content(
                    "Error",
                    {
                        "token_refused": (
                            "The stream's WhatsApp token was refused",
                            {
                                "detail": f"{MEDIA_FAILED}: Invalid OAuth access token - "
                                "Cannot parse access token"
                            },
                        ),
                        "unreachable": (
                            "WhatsApp could not be reached",
                            {"detail": f"{MEDIA_FAILED}: WhatsApp could not be reached"},
                        ),
                    },
                ),
            },
        },
    }


def _contacts_operation(common: dict) -> dict:
    """``POST /api/whatsapp/contacts/``: the customer service windows of contacts."""
    closes = "2025-05-13T09:30:00+00:00"
    bad = _bad_request("contacts", "contacts")
    bad["description"] += " A number not in international format refuses them all."
    bad["content"][JSON]["examples"]["bad_number"] = {
        "summary": "A number not in international format",
        "value": {"detail": send_api.BAD_CONTACT.format(position="contacts[1]")},
    }
    return {
        "operationId": "contactWindows",
        "tags": ["WhatsApp"],
        "summary": "Customer service windows",
        "description": f"Whether each of up to {send_api.MAX_MESSAGES} contacts may be sent a "
        "message that is not a template now: WhatsApp takes one only within 24 hours of the "
        "contact's last message to the stream. Only this stream's messages count: a contact "
        "who wrote to another stream has no window open on this one.",
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {"$ref": "#/components/schemas/ContactsRequest"},
                    "examples": {
                        "contacts": {
                            "summary": "Two contacts",
                            "value": {"contacts": [EXAMPLE_RECIPIENT, "+4917612345678"]},
                        }
                    },
                }
            },
        },
        "responses": {
            "200": {
                "description": "One entry per number, in the order asked.",
                "content": _json_content(
                    "ContactsResponse",
                    {
                        "windows": (
                            "One window open, one closed",
                            {
                                "status": True,
                                "contacts": [
                                    {
                                        "phone": EXAMPLE_RECIPIENT,
                                        "window": {
                                            "open": True,
                                            "last_inbound_at": "2025-05-12T09:30:00+00:00",
                                            "closes_at": closes,
                                        },
                                    },
                                    {
                                        "phone": "+4917612345678",
                                        "window": {
                                            "open": False,
                                            "last_inbound_at": None,
                                            "closes_at": None,
                                        },
                                    },
                                ],
                            },
                        )
                    },
                ),
            },
            "400": bad,
            **common,
        },
    }


def _limits_text() -> str:
    """WhatsApp's limits per type, as one sentence (the page renders paragraphs only)."""

    def at_most(limit) -> str:
        if limit.kind == "sticker":
            static = STATIC_STICKER_MAX_BYTES // 1024
            return f"{static} KB static, {limit.max_bytes // 1024} KB animated"
        return f"{limit.max_bytes // 2**20} MB"

    return (
        "; ".join(
            f"{limit.kind}: {', '.join(f'`{m}`' for m in sorted(limit.mime_types))}, at most "
            f"{at_most(limit)}"
            for limit in LIMITS.values()
        )
        + "."
    )


def _upload_error(summary: str, error: str, detail: str) -> tuple:
    return (summary, {"error": error, "detail": detail})


def _upload_operation(common: dict) -> dict:
    """``POST /api/whatsapp/media/``: a file uploaded to WhatsApp for a sender."""
    example_url = settings.SITE_URL + UPLOAD_PATH
    return {
        "operationId": "uploadMedia",
        "tags": ["WhatsApp"],
        "summary": "Upload a file",
        "description": "Upload a file to WhatsApp for one of the stream's senders, to send "
        "by its `media_id` (`media.id`) from that sender. The file's type is read from its "
        "content, and WhatsApp's limits are checked before it is uploaded. " + _limits_text(),
        "requestBody": {
            "required": True,
            "content": {
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "required": ["sender", "file"],
                        "properties": {
                            "sender": _string(
                                "One of the stream's sender numbers, digits only (a leading "
                                "`+` is allowed).",
                                pattern=r"^\+?[0-9]+$",
                                examples=[EXAMPLE_SENDER],
                            ),
                            "file": {
                                "type": "string",
                                "contentMediaType": "application/octet-stream",
                                "description": "The file, one.",
                            },
                        },
                    },
                }
            },
        },
        "x-codeSamples": [
            {
                "lang": "Shell",
                "label": "curl",
                "source": f'curl -f -H "Authorization: $STREAM_TOKEN" -F sender={EXAMPLE_SENDER} '
                f"-F file=@parcel.jpg {example_url}",
            }
        ],
        "responses": {
            "200": {
                "description": "WhatsApp took the file.",
                "content": _json_content(
                    "UploadResponse",
                    {
                        "uploaded": (
                            "An image",
                            {
                                "media_id": "1037543291543636",
                                "mime_type": "image/jpeg",
                                "size": 48213,
                            },
                        )
                    },
                ),
            },
            "400": {
                "description": "Not a form with a `sender` of the stream and one `file` of a "
                "type WhatsApp takes. Nothing was uploaded.",
                "content": _json_content(
                    "UploadError",
                    {
                        "wrong_type": _upload_error(
                            "Content of a type WhatsApp does not take",
                            "MEDIA_TYPE_NOT_ALLOWED",
                            "file is not of a type WhatsApp takes (by its content): "
                            + ", ".join(
                                sorted({m for li in LIMITS.values() for m in li.mime_types})
                            )
                            + ".",
                        ),
                        "unknown_sender": _upload_error(
                            "Not a sender of the stream",
                            "UNKNOWN_SENDER",
                            "sender must be one of the stream's sender numbers.",
                        ),
                        "no_file": _upload_error(
                            "No file", "INVALID_REQUEST", "Send one file, in the field “file”."
                        ),
                        "not_multipart": _upload_error(
                            "Not a form",
                            "INVALID_REQUEST",
                            "Send the file as multipart/form-data.",
                        ),
                    },
                ),
            },
            "403": common["403"],
            "405": {
                "description": "Any method but `POST`, with a valid token (without one the "
                "answer is 403).",
                "headers": common["405"]["headers"],
                "content": _json_content(
                    "UploadError",
                    {
                        "wrong_method": _upload_error(
                            "Not POST", "INVALID_REQUEST", upload_api.UPLOAD_METHOD_NOT_ALLOWED
                        )
                    },
                ),
            },
            "413": {
                "description": "The file is larger than WhatsApp takes for its type (or the "
                f"body than {upload_api.MAX_BODY_BYTES} bytes). Nothing was uploaded.",
                "content": _json_content(
                    "UploadError",
                    {
                        "too_large": _upload_error(
                            "An image over 5 MB",
                            "MEDIA_TOO_LARGE",
                            "file is 7.2 MB: WhatsApp takes images up to 5 MB.",
                        )
                    },
                ),
            },
            "429": common["429"],
            "502": {
                "description": "WhatsApp refused the upload or could not be reached. `detail` "
                "ends with WhatsApp's message.",
                "content": _json_content(
                    "UploadError",
                    {
                        "token_refused": _upload_error(
                            "The stream's WhatsApp token was refused",
                            "WHATSAPP_ERROR",
                            f"{upload_api.UPLOAD_FAILED}: Invalid OAuth access token - Cannot "
                            "parse access token",
                        )
                    },
                ),
            },
        },
    }


def _read_operation(common: dict) -> dict:
    """``POST /api/whatsapp/read/``: mark a received message as read."""

    def answer(read: str, typing: bool) -> dict:
        return {"status": True, "message_uuid": EXAMPLE_UUIDS[0], "read": read, "typing": typing}

    bad = _bad_request("message_uuid", "")
    examples = bad["content"][JSON]["examples"]
    for key in ("no_array", "too_many"):
        del examples[key]
    bad["description"] = (
        "The body is not JSON or not an object, `message_uuid` is not a uuid, `typing` is not "
        "a boolean, or the message is one the stream sent. Nothing was stored."
    )
    refusals = {
        "bad_uuid": ("Not a uuid", send_api.BAD_MESSAGE_UUID),
        "bad_typing": ("typing not a boolean", send_api.BAD_TYPING),
        "not_incoming": ("A message the stream sent", send_api.NOT_INCOMING),
    }
    for key, (summary, detail) in refusals.items():
        examples[key] = {"summary": summary, "value": {"detail": detail}}
    return {
        "operationId": "markRead",
        "tags": ["WhatsApp"],
        "summary": "Mark a received message as read",
        "description": "Show the contact a received message as read (two blue ticks; WhatsApp "
        "marks the conversation's earlier messages read too), and, with `typing`, the typing "
        "indicator while you prepare the answer. The request is recorded and answered at once; "
        "a worker sends it to WhatsApp in a slot of the sender's rate limit, the one its "
        "messages take, retrying while WhatsApp is busy or unreachable. Asking again for the "
        "same message sends nothing more. The Messages tab shows whether it was marked.",
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {"$ref": "#/components/schemas/ReadRequest"},
                    "examples": {
                        "read": {
                            "summary": "Mark as read",
                            "value": {"message_uuid": EXAMPLE_UUIDS[0]},
                        },
                        "typing": {
                            "summary": "Mark as read and show the typing indicator",
                            "value": {"message_uuid": EXAMPLE_UUIDS[0], "typing": True},
                        },
                    },
                }
            },
        },
        "responses": {
            "202": {
                "description": "Recorded: it is sent shortly (`read` is `queued`).",
                "content": _json_content(
                    "ReadResponse", {"queued": ("Queued", answer("queued", True))}
                ),
            },
            "200": {
                "description": "The message was marked before: the receipt as it is, sent or "
                "failed. Nothing is sent again.",
                "content": _json_content(
                    "ReadResponse", {"sent": ("Marked before", answer("sent", False))}
                ),
            },
            "400": bad,
            "404": {
                "description": "No message with this uuid on this stream (unknown, or "
                "another stream's).",
                "content": _json_content(
                    "Error", {"unknown": ("Unknown message", {"detail": send_api.UNKNOWN_MESSAGE})}
                ),
            },
            **common,
        },
    }


def _bad_request(key: str, noun: str) -> dict:
    n = send_api.MAX_MESSAGES
    return {
        "description": f"The body is not JSON, not an object, or has no `{key}` array of "
        f"1 to {n} {noun}. Nothing was stored.",
        "content": _json_content(
            "Error",
            {
                "not_json": (
                    "Malformed JSON",
                    {
                        "detail": "The body is not valid JSON: Expecting value: line 1 column 1 "
                        "(char 0)."
                    },
                ),
                "not_a_number": (
                    "A number JSON does not have",
                    {"detail": "The body is not valid JSON: NaN is not a number JSON allows."},
                ),
                "not_object": ("Not an object", {"detail": "The body must be a JSON object."}),
                "no_array": (
                    f"No {key} array",
                    {"detail": f"The body must have a “{key}” array of {noun}."},
                ),
                "too_many": (
                    f"More than {n}",
                    {"detail": f"“{key}” holds {n + 1} {noun}; send 1 to {n} per request."},
                ),
            },
        ),
    }


def _description(rate: int, max_bytes: int) -> str:
    n = send_api.MAX_MESSAGES
    return f"""\
Send WhatsApp messages through a TextPeak stream, follow their delivery and download the \
files customers send. JSON in, JSON out: every endpoint is a `POST`, except the media \
download, a `GET` that answers the file itself, and the upload takes a multipart form.

## Batches
A send request carries 1 to {n} messages. Each one is checked on its own and either accepted \
(it gets a `message_uuid`) or refused (an error code and a `detail`), in one `200` answer: a \
refused message does not stop the others. Results come in the order of the request's \
`messages`. Fields that are not described here are ignored. A body that is not JSON, not an \
object or not this shape is refused as a whole with `400`; a body over {max_bytes} bytes \
with `413`. Numbers are JSON's own: `NaN`, `Infinity` and numbers too large for a 64-bit \
float (`1e400`) are a `400`; whole numbers are read exactly, however long.

## Idempotency
Give each message an `internal_id`. If the stream already accepted a message with that \
`internal_id` (in an earlier request, or earlier in the same one), the answer is that \
message's `message_uuid` with no error, and nothing is stored or sent again, so a request \
whose answer was lost can simply be sent again (the message's form is still checked \
first). Refused messages are not stored: their \
`internal_id` stays free.

## Sending and statuses
Accepted messages are `queued`, then sent by workers at each sender's WhatsApp rate \
(80 messages per second unless set otherwise), with retries when WhatsApp is busy or \
unreachable. Ask `{STATUS_PATH}` for their progress: `queued` → `sent` → `delivered` → \
`read`, or `sent_failed` with WhatsApp's error (on a stream that sends at most once, \
rarely `unknown`: see the statuses below).

## Customer service window
WhatsApp takes a message that is not a template only within 24 hours of the contact's last \
message (the customer service window); a template may be sent at any time. Such a message to \
a contact who has not written to the stream in the last 24 hours is refused at once with \
`{OUTSIDE_SERVICE_WINDOW}` ("{OUTSIDE_SERVICE_WINDOW_MESSAGE}"), rather than accepted to fail \
later. `{CONTACTS_PATH}` tells whose windows are open, and until when. A stream whose number \
also chats from the WhatsApp Business app, where TextPeak does not see every message, can \
turn this check off on its WhatsApp tab.

## Sending files
A media message names its file by `media.url`, which WhatsApp downloads when it sends the \
message, or by `media.id`, the `media_id` of a file uploaded with `POST {UPLOAD_PATH}`. With \
`"fetch": true` beside a `url`, TextPeak fetches the file itself, checks it against \
WhatsApp's limits and uploads it: WhatsApp's link fetcher, its caching and its rate limits \
are out of the way, and a file WhatsApp would refuse fails at once with a reason.

## Read receipts
Mark a message the stream received as read, optionally with the typing indicator, with \
`{READ_PATH}`. It is recorded at once (`202`) and sent to WhatsApp by the workers, paced \
with the sender's messages; marking the same message again sends nothing more.

## Incoming media
A message the stream receives with a file (image, video, audio, document, sticker) comes with \
WhatsApp's media id, MIME type and SHA-256. Download the file with \
`GET /api/media/{{message_uuid}}/` and the stream token: TextPeak fetches it from WhatsApp and \
streams it through. WhatsApp keeps received media for a limited time only; after that the \
answer is `410`, so fetch files soon after they arrive.

## Rate limits
Each stream takes up to {rate} requests per second (bursts of {rate}). Above that the answer \
is `429` with a `Retry-After` header in seconds; nothing was stored, send the same request \
again after the wait. Batches are the way to send many messages quickly. An address that keeps \
sending unknown tokens is refused the same way for a while, whatever the token: a program \
still using a regenerated token gets the others behind its address refused too.

## Demo Sending
On a Demo Sending stream nothing reaches WhatsApp: messages go through the same checks and \
workers (every contact's service window is open), and `sent`, `delivered` and `read` follow \
a moment later; a received file downloads as a generated placeholder image. Its sender is \
`{EXAMPLE_SENDER}` and its templates `order_update` (en_US, 2 variables), `hello_world` \
(en_US, none) and `appointment_reminder` (de, 3 variables), as in the examples here.
"""


def document(request=None) -> dict:
    """The OpenAPI 3.1 document of the stream APIs."""
    rate = settings.STREAM_API_REQUESTS_PER_SECOND
    max_bytes = settings.API_MAX_BODY_BYTES
    common = _common_responses(rate, max_bytes)
    send_examples = _send_examples()
    status_examples = {
        "statuses": {
            "summary": "Three messages",
            "value": {"message_uuids": [*EXAMPLE_UUIDS, "0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10"]},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TextPeak Streams API",
            "version": VERSION,
            "summary": "Send WhatsApp messages through a TextPeak stream and follow them.",
            "description": _description(rate, max_bytes),
        },
        "servers": [{"url": settings.SITE_URL}],
        "security": [{"StreamToken": []}],
        "tags": [{"name": "WhatsApp", "description": "WhatsApp streams."}],
        "paths": {
            SEND_PATH: {
                "post": {
                    "operationId": "sendMessages",
                    "tags": ["WhatsApp"],
                    "summary": "Send messages",
                    "description": f"Accept 1 to {send_api.MAX_MESSAGES} messages of any type, "
                    "each checked on its own: its fields and limits, the stream's senders "
                    "and approved templates. A message that does not match its type's schema "
                    "is not a `400`: it is refused in the `200` answer with an error code.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            JSON: {
                                "schema": {"$ref": "#/components/schemas/SendRequest"},
                                "examples": send_examples,
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Every message has a result: a `message_uuid`, "
                            "or `message_uuid: null` with an `error` code and `detail`.",
                            "content": _json_content(
                                "SendResponse",
                                {
                                    "partial": (
                                        "One message accepted, one refused",
                                        {
                                            "status": True,
                                            "task_id": EXAMPLE_TASK_ID,
                                            "messages": [
                                                {
                                                    "internal_id": "ord-1001",
                                                    "message_uuid": EXAMPLE_UUIDS[0],
                                                    "error": None,
                                                },
                                                {
                                                    "internal_id": "ord-1004",
                                                    "message_uuid": None,
                                                    "error": "UNKNOWN_TEMPLATE",
                                                    "detail": "There is no approved template "
                                                    "order_updates in en_US on this stream.",
                                                },
                                            ],
                                        },
                                    ),
                                    "form_refused": (
                                        "A message with an invalid recipient",
                                        {
                                            "status": True,
                                            "task_id": EXAMPLE_TASK_ID,
                                            "messages": [
                                                {
                                                    "internal_id": "ord-1005",
                                                    "message_uuid": None,
                                                    "error": "INVALID_RECIPIENT",
                                                    "detail": "recipient_phone must be a "
                                                    "phone number in international format, "
                                                    "digits only (for example "
                                                    "4915112345678).",
                                                },
                                            ],
                                        },
                                    ),
                                },
                            ),
                        },
                        "400": _bad_request("messages", "messages"),
                        **common,
                    },
                }
            },
            STATUS_PATH: {
                "post": {
                    "operationId": "messageStatuses",
                    "tags": ["WhatsApp"],
                    "summary": "Message statuses",
                    "description": f"The current status of up to {send_api.MAX_MESSAGES} of the "
                    "stream's messages. Uuids of other streams' messages, unknown ones and "
                    "any other text come back as `not_found`. Each sent message has WhatsApp's "
                    "`pricing` (`billable`, `category`, `model`) once a status reported it; "
                    "the `message.status` events to the stream's webhook carry the same.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            JSON: {
                                "schema": {"$ref": "#/components/schemas/StatusRequest"},
                                "examples": status_examples,
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One entry per uuid, in the order asked.",
                            "content": _json_content(
                                "StatusResponse",
                                {
                                    "statuses": (
                                        "Read, failed and not found",
                                        {
                                            "status": True,
                                            "messages": [
                                                {
                                                    "message_uuid": EXAMPLE_UUIDS[0],
                                                    "status": "read",
                                                    "error": None,
                                                    "updated_at": "2025-05-12T14:31:07.412394"
                                                    "+00:00",
                                                    "pricing": {
                                                        "billable": True,
                                                        "category": "utility",
                                                        "model": "PMP",
                                                    },
                                                },
                                                {
                                                    "message_uuid": EXAMPLE_UUIDS[1],
                                                    "status": "sent_failed",
                                                    "error": {
                                                        "code": "131026",
                                                        "message": "Message undeliverable",
                                                    },
                                                    "updated_at": "2025-05-12T14:30:59.001823"
                                                    "+00:00",
                                                    "pricing": None,
                                                },
                                                {
                                                    "message_uuid": "0b7f9f5e-3c1a-4a52-9c3e-"
                                                    "6f1d2b8a4e10",
                                                    "status": "not_found",
                                                    "error": None,
                                                    "updated_at": None,
                                                    "pricing": None,
                                                },
                                            ],
                                        },
                                    )
                                },
                            ),
                        },
                        "400": _bad_request("message_uuids", "message uuids"),
                        **common,
                    },
                }
            },
            CONTACTS_PATH: {"post": _contacts_operation(common)},
            UPLOAD_PATH: {"post": _upload_operation(common)},
            READ_PATH: {"post": _read_operation(common)},
            MEDIA_PATH: {"get": _media_operation(common)},
        },
        "components": {
            "securitySchemes": {
                "StreamToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The stream's token (it starts with "
                    f"`{tokens.PREFIX}`), shown once when the stream is created or its token "
                    "regenerated in the console (which can keep the old one working for 24 "
                    "hours). Send it in the `Authorization` header as it "
                    "is, or as `Bearer <token>`. No cookies, no CSRF token. If the stream's IP "
                    "ACL is on, requests must also come from one of its allowed networks.",
                }
            },
            "schemas": _schemas(),
        },
    }


@login_not_required
@require_safe
def openapi_json(request):
    """GET /api/openapi.json: the OpenAPI document."""
    return JsonResponse(document(request), json_dumps_params={"ensure_ascii": False})
