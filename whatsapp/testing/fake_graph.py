"""A fake of Meta's WhatsApp Cloud API (the Graph API), for tests and local runs.

Meta cannot be reached from development machines or CI, so this is a real HTTP server on loopback
that answers in the request and response shapes Meta documents. ``whatsapp.graph.client`` runs
against it unchanged: its pooled session, timeouts, paging and error handling are all exercised.

In tests (see the ``fake_graph`` fixture)::

    with FakeGraph() as fake:
        business = fake.add_business()          # a WABA with a phone number and three templates
        settings.WHATSAPP_GRAPH_URL = fake.url
        fake.fail_next(WABA_RATE_LIMITED)       # the next request gets Meta's 80007 error
        fake.latency = 2.0                      # every answer comes 2 s late
        fake.requests[-1].headers["authorization"]

Messages sent with ``POST /{phone_number_id}/messages`` are checked as Meta checks them and kept in
``fake.sent``, each with the ``time.time()`` it arrived at (before the latency)::

        fake.send_latency = 0.05                # sends (only) take 50 ms, as Meta's roughly do
        fake.fail_next(PAIR_RATE_LIMITED, path="/messages", times=2)    # two 131056, then success
        fake.fail_fraction(0.1, UNDELIVERABLE, path="/messages")        # every tenth send fails
        fake.sent_count, fake.sent[-1].wamid

Read receipts go to the same edge with ``"status": "read"`` (and maybe ``typing_indicator``),
for messages the number received; Meta's code 100 for any other wamid. They are kept in
``fake.read``::

        wamid = fake.add_received(business)     # a message a customer sent to its first number
        fake.read[-1].payload["message_id"]

Media a customer sent (``GET /{media_id}``, then ``GET`` of the URL it answers, with the token)::

        media_id = fake.add_media(business, b"\x89PNG...", "image/png")

Files uploaded (``POST /{phone_number_id}/media``, multipart) are checked against Meta's types
and sizes and kept as the business's media; a send by ``{"id": …}`` must name one of them::

        fake.uploads[-1].data, fake.uploads[-1].mime_type
        fake.media_url_ttl = 0                  # media URLs expire at once (Meta: ~5 minutes)

What a credentials check reads (``GET /me/permissions``, ``GET /app``, ``GET
/{waba_id}/subscribed_apps``, ``GET /{phone_number_id}?fields=webhook_configuration``), and the
switches that make it find a problem::

        business.token = "EAAG-rotated"         # the token Meta knew is gone: every call is a 190
        business.permissions["whatsapp_business_messaging"] = "declined"
        fake.unsubscribe(business)              # as DELETE /{waba_id}/subscribed_apps
        business.number_callbacks[number_id] = "https://elsewhere.example/hook"

For benchmarks, ``FakeGraph(record_requests=False)`` keeps no ``.requests`` (``.sent`` still fills).

By hand, with no Django settings needed::

    python -m whatsapp.testing.fake_graph --port 8091 --send-latency 0.05

Endpoints live in a small route table keyed by method and edge (``FakeGraph._routes``): a new one
is one handler and one entry.
"""

import argparse
import base64
import contextlib
import email.parser
import email.policy
import hashlib
import itertools
import json
import logging
import math
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from textpeak.lib.shape import Rules, Shape
from whatsapp.uploads.limits import LIMITS

logger = logging.getLogger(__name__)

# The fake's own read-out of the messages it accepted (GET, no token), for benchmarks that run
# it in a process of its own; their arrival times are ``time.time()``, the clock every process
# shares. ``?after=N`` leaves out the first N, so a benchmark polling for new ones reads only
# those (the fake's CPU is among what it measures).
SENT_PATH = "/_fake/sent"

WABA = "WhatsAppBusinessAccount"
PHONE_NUMBER = "WhatsAppBusinessPhoneNumber"
TEMPLATE = "WhatsAppBusinessHSM"
MEDIA = "WhatsAppBusinessMedia"
USER = "User"  # the token's system user, as ``/me``
APPLICATION = "Application"  # the token's app, as ``/app``
# The one Meta app every token of the fake belongs to.
APP_ID = "670843887433847"
APP_NAME = "TextPeak"
# Permissions a system user's token is created with for the WhatsApp Cloud API.
GRANTED_PERMISSIONS = ("whatsapp_business_management", "whatsapp_business_messaging")
# Where media URLs point, as on Meta's lookaside host: ?mid=<media id>&ext=<expiry>&hash=<key>.
MEDIA_DOWNLOAD_PATH = "/whatsapp_business/attachments/"

# Fields each node type has; asking for another is an error, as on Meta.
_FIELDS = {
    WABA: frozenset({"id", "name", "currency", "timezone_id", "message_template_namespace"}),
    PHONE_NUMBER: frozenset(
        {
            "id",
            "name",  # Meta names (currency), not (name), when a phone number is read as a WABA
            "display_phone_number",
            "verified_name",
            "quality_rating",
            "throughput",
            "code_verification_status",
            "platform_type",
            "name_status",
            "webhook_configuration",  # made up when asked: see FakeGraph._read_node
        }
    ),
    TEMPLATE: frozenset(
        {"id", "name", "language", "category", "status", "components", "rejected_reason"}
    ),
    MEDIA: frozenset({"id", "url", "mime_type", "sha256", "file_size", "messaging_product"}),
    APPLICATION: frozenset({"id", "name", "link"}),
}
# What Meta answers when the request names no ``fields`` (None: every field the object has).
_DEFAULT_FIELDS: dict[str, tuple[str, ...] | None] = {
    WABA: ("id", "name"),
    PHONE_NUMBER: None,
    TEMPLATE: None,
    MEDIA: None,
    APPLICATION: ("id", "name"),
}
_DEFAULT_PAGE_SIZE = 25

_PATH = re.compile(r"/v\d+\.\d+/(?P<node>[^/]+)(?:/(?P<edge>[^/]+))?/?")


@dataclass(frozen=True)
class ErrorReply:
    """An answer to give instead of the real one.

    By default an error in Meta's JSON shape. With ``body`` set, that text is sent as it is, for
    what a proxy in front of Meta answers (a plain-text 502), or a malformed success.
    """

    status: int
    code: int | None = None
    message: str = ""
    subcode: int | None = None
    error_type: str = "OAuthException"
    details: str = ""
    body: str | None = None
    content_type: str = "text/plain; charset=utf-8"


# Meta's answers for the errors callers must tell apart. Meta says to handle errors by code: the
# HTTP status of one code varies between its documents, so only the codes here are load-bearing.
INVALID_TOKEN = ErrorReply(
    status=401, code=190, message="Invalid OAuth access token - Cannot parse access token"
)
INVALID_PARAMETER = ErrorReply(status=400, code=100, message="(#100) Invalid parameter")
APP_RATE_LIMITED = ErrorReply(status=429, code=4, message="(#4) Application request limit reached")
WABA_RATE_LIMITED = ErrorReply(status=429, code=80007, message="(#80007) Rate limit issues")
THROUGHPUT_LIMITED = ErrorReply(
    status=429,
    code=130429,
    message="(#130429) Rate limit hit",
    details="Cloud API message throughput has been reached.",
)
UNKNOWN_ERROR = ErrorReply(status=500, code=1, message="An unknown error has occurred.")
SERVICE_UNAVAILABLE = ErrorReply(
    status=500,
    code=2,
    message="An unexpected error has occurred. Please retry your request later.",
)
BAD_GATEWAY = ErrorReply(status=502, body="502 Bad Gateway\n")
SERVER_UNAVAILABLE = ErrorReply(
    status=503,
    code=133004,
    message="(#133004) Server Temporarily Unavailable",
    details="The server is temporarily unavailable.",
)

# What Meta answers for an upload of a file larger than its type takes.
MEDIA_UPLOAD_ERROR = ErrorReply(status=400, code=131053, message="(#131053) Media upload error")

# What Meta's media host answers for a media URL that has expired (or never existed).
MEDIA_URL_EXPIRED = ErrorReply(status=404, body="URL signature expired\n")

# Meta's answers to a send (``POST /{phone_number_id}/messages``) it refuses.
PAIR_RATE_LIMITED = ErrorReply(
    status=400,
    code=131056,
    message="(#131056) (Business Account, Consumer Account) pair rate limit hit",
    details="Message failed to send because there were too many messages sent from this phone "
    "number to the same phone number in a short period of time.",
)
SPAM_RATE_LIMITED = ErrorReply(
    status=400,
    code=131048,
    message="(#131048) Spam rate limit hit",
    details="Message failed to send because there are restrictions on how many messages can be "
    "sent from this phone number. This may be because too many previous messages were blocked "
    "or flagged as spam.",
)
UNDELIVERABLE = ErrorReply(
    status=400,
    code=131026,
    message="(#131026) Message Undeliverable",
    details="Unable to deliver message. Reasons can include: The recipient phone number is not a "
    "WhatsApp phone number; The recipient has not accepted our new Terms of Service and Privacy "
    "Policy; The recipient is using an old WhatsApp version.",
)
REENGAGEMENT = ErrorReply(
    status=400,
    code=131047,
    message="(#131047) Re-engagement message",
    details="Message failed to send because more than 24 hours have passed since the customer "
    "last replied to this number.",
)
# A message of a known shape with a value Meta does not take (an interactive message's text too
# long, too many buttons): ``details`` says which.
PARAMETER_NOT_VALID = ErrorReply(
    status=400, code=131009, message="(#131009) Parameter value is not valid"
)
TEMPLATE_PARAM_MISMATCH = ErrorReply(
    status=400,
    code=132000,
    message="(#132000) Number of parameters does not match the expected number of params",
    details="The number of variable parameter values included in the request did not match the "
    "number of variable parameters defined in the template.",
)
# Meta's answer to marking as read a message id that is not one the number received.
UNKNOWN_MESSAGE_ID = ErrorReply(
    status=400,
    code=100,
    message="(#100) Invalid parameter",
    details="Invalid message_id: it is not a message received by this phone number.",
)
TEMPLATE_NOT_FOUND = ErrorReply(
    status=404,
    code=132001,
    message="(#132001) Template name does not exist in the translation",
    details="The template does not exist in the specified language or the template has not "
    "been approved.",
)


def unknown_object(object_id: str, method: str = "GET") -> ErrorReply:
    """Meta's answer for an id that does not exist or that the token may not see."""
    return ErrorReply(
        status=400,
        code=100,
        subcode=33,
        error_type="GraphMethodException",
        message=(
            f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation. "
            "Please read the Graph API documentation at "
            "https://developers.facebook.com/docs/graph-api"
        ),
    )


def nonexisting_field(name: str, node_type: str) -> ErrorReply:
    """Meta's answer for a field or edge the node does not have (a phone number id as a WABA)."""
    return ErrorReply(
        status=400,
        code=100,
        message=f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})",
    )


def phone_number(
    *,
    id: str | None = None,
    display_phone_number: str = "+1 555-000-1111",
    verified_name: str = "Acme Ltd",
    quality_rating: str | None = "GREEN",
    throughput: str | None = "STANDARD",
    code_verification_status: str = "VERIFIED",
) -> dict[str, Any]:
    """A phone number as Meta returns it; None leaves a field out. The fake assigns a missing id."""
    number: dict[str, Any] = {
        "id": id,
        "display_phone_number": display_phone_number,
        "verified_name": verified_name,
        "quality_rating": quality_rating,
        "throughput": {"level": throughput} if throughput else None,
        "code_verification_status": code_verification_status,
        "platform_type": "CLOUD_API",
    }
    return {key: value for key, value in number.items() if value is not None}


def message_template(
    name: str,
    *,
    id: str | None = None,
    language: str = "en_US",
    category: str = "UTILITY",
    status: str = "APPROVED",
    body: str = "Hello from Acme Ltd.",
    components: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message template as Meta returns it: ``components`` if given, else one BODY ``body``."""
    template = {
        "id": id,
        "name": name,
        "language": language,
        "category": category,
        "status": status,
        "components": components if components is not None else [{"type": "BODY", "text": body}],
    }
    return {key: value for key, value in template.items() if value is not None}


def default_templates() -> list[dict[str, Any]]:
    """Two approved templates, one with variables and one without, and one pending review."""
    return [
        message_template(
            "order_update",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is on its way.",
                    "example": {"body_text": [["Pablo", "#1042"]]},
                }
            ],
        ),
        message_template(
            "hello_world",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                {
                    "type": "BODY",
                    "text": "Welcome and congratulations!! This message demonstrates your "
                    "ability to send a WhatsApp message notification from the Cloud API, hosted "
                    "by Meta. Thank you for taking the time to test with us.",
                },
                {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
            ],
        ),
        message_template(
            "appointment_reminder",
            status="PENDING",
            components=[
                {
                    "type": "BODY",
                    "text": "Reminder: your appointment is on {{1}}.",
                    "example": {"body_text": [["3 June at 10:00"]]},
                }
            ],
        ),
    ]


@dataclass
class Business:
    """A WhatsApp Business Account and the token that may use it.

    ``phone_numbers`` and ``templates`` hold Meta-shaped dicts. Tests may change them between
    requests; objects put there directly need an ``id`` (``add_business`` assigns missing ones).
    """

    waba_id: str
    token: str
    name: str
    currency: str
    timezone_id: str
    phone_numbers: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    # Media customers sent to the business, by media id (see ``FakeGraph.add_media``).
    media: dict[str, "Media"] = field(default_factory=dict)
    # What ``GET /me/permissions`` answers: each permission's status ("granted", "declined").
    permissions: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(GRANTED_PERMISSIONS, "granted")
    )
    # Callback URLs set on phone numbers themselves, by phone number id: they win over the
    # business's subscription's.
    number_callbacks: dict[str, str] = field(default_factory=dict)
    # The wamids of messages customers sent, each with the phone number id that received it
    # (see ``FakeGraph.add_received``): only those can be marked as read.
    received: dict[str, str] = field(default_factory=dict)

    def node(self) -> dict[str, Any]:
        return {
            "id": self.waba_id,
            "name": self.name,
            "currency": self.currency,
            "timezone_id": self.timezone_id,
        }


@dataclass(frozen=True)
class Media:
    """A file the business received, as ``GET /{media_id}`` describes it."""

    id: str
    data: bytes
    mime_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def node(self) -> dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "id": self.id,
            "mime_type": self.mime_type,
            "sha256": self.sha256,
            "file_size": len(self.data),
        }


@dataclass(frozen=True)
class _MediaURL:
    waba_id: str
    media_id: str
    expires_at: float  # time.time()


@dataclass(frozen=True)
class Subscription:
    """What ``POST /{waba_id}/subscribed_apps`` last received for a business."""

    override_callback_uri: str
    verify_token: str


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string, e.g. "/v23.0/102000000000001/phone_numbers"
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    json: Any  # the parsed JSON body, or None
    # A multipart/form-data body's parts by name: a text, or (filename, content type, bytes)
    form: dict[str, Any] | None
    client_port: int  # the caller's TCP port: the same port means a reused connection
    arrived: float = 0.0  # time.time() when the request came in, before any latency


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the fake accepted: what ``POST /{phone_number_id}/messages`` received."""

    phone_number_id: str
    to: str
    type: str  # "text", "template", ... ("text" when the payload names none, as on Meta)
    payload: dict[str, Any]  # the JSON body as posted
    wamid: str  # the id answered, "wamid.…"
    # time.time() when it arrived: WhatsApp's per-second limits count in the clock's seconds
    at: float


@dataclass(frozen=True, slots=True)
class ReadMark:
    """A read receipt the fake accepted: a ``POST /{phone_number_id}/messages`` with
    ``"status": "read"``, optionally with the typing indicator."""

    phone_number_id: str
    payload: dict[str, Any]  # the JSON body as posted
    at: float  # time.time() when it arrived


@dataclass(frozen=True)
class _Target:
    """The object a request is about, found among the token's business's objects."""

    business: Business
    node_type: str
    node: dict[str, Any]


@dataclass(frozen=True)
class _Route:
    node_types: tuple[str, ...]  # the node types that have this edge
    handler: Callable[[RecordedRequest, "_Target"], dict[str, Any]]


@dataclass
class _Injected:
    reply: ErrorReply
    path: str | None
    remaining: int


@dataclass
class _Share:
    """Fails ``fraction`` of the matching requests, spread evenly: the n-th fails when
    ``floor(n * fraction)`` goes up, so after n requests exactly ``floor(n * fraction)`` failed."""

    reply: ErrorReply
    path: str | None
    fraction: float
    seen: int = 0

    def take(self) -> bool:
        self.seen += 1
        return math.floor(self.seen * self.fraction) > math.floor((self.seen - 1) * self.fraction)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str


class _Rejected(Exception):
    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.message)
        self.reply = reply


def _json_reply(payload: dict[str, Any], status: int = 200) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), "application/json; charset=UTF-8")


def _render(error: ErrorReply) -> _Reply:
    if error.body is not None:
        return _Reply(error.status, error.body.encode(), error.content_type)
    payload: dict[str, Any] = {"message": error.message, "type": error.error_type}
    payload["code"] = error.code
    if error.subcode is not None:
        payload["error_subcode"] = error.subcode
    if error.details:
        payload["error_data"] = {"messaging_product": "whatsapp", "details": error.details}
    payload["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return _json_reply({"error": payload}, error.status)


def _select(node: dict[str, Any], node_type: str, fields: str | None) -> dict[str, Any]:
    """The fields of ``node`` a request asked for; Meta always includes the id."""
    names = [name.strip() for name in (fields or "").split(",") if name.strip()]
    for name in names:
        if name not in _FIELDS[node_type]:
            raise _Rejected(nonexisting_field(name, node_type))
    wanted = set(names or _DEFAULT_FIELDS[node_type] or node) | {"id"}
    return {key: value for key, value in node.items() if key in wanted}


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"fake-graph:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        prefix, _, index = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix == "fake-graph":
            return int(index)
    except ValueError:
        pass
    raise _Rejected(replace(INVALID_PARAMETER, message="(#100) Invalid after cursor"))


_MESSAGE_TYPES = (
    "audio",
    "contacts",
    "document",
    "image",
    "interactive",
    "location",
    "reaction",
    "sticker",
    "template",
    "text",
    "video",
)
_MEDIA_TYPES = frozenset({"audio", "document", "image", "sticker", "video"})
_TEXT_LIMIT = 4096
_RECIPIENT = re.compile(r"\+?[0-9]{1,20}")


def _invalid(message: str) -> _Rejected:
    return _Rejected(replace(INVALID_PARAMETER, message=f"(#100) {message}"))


def _missing(parameter: str) -> _Rejected:
    return _invalid(f"The parameter {parameter} is required.")


def _one_of(parameter: str, allowed: tuple[str, ...], got: Any) -> _Rejected:
    names = ", ".join(name.upper() for name in allowed)
    return _invalid(f"Param {parameter} must be one of {{{names}}} - got {json.dumps(got)}.")


# Meta's checks of a message: an empty value is a missing one, and a parameter is named by its
# path ("text['body']").
_PARAMETERS = Rules(
    error=_invalid,
    absent=(None, "", {}, []),
    nest=lambda where, key: f"{where}['{key}']" if where else key,
    required="The parameter {path} is required.",
    not_string="Param {path} must be a string of at most {max_length} chars.",
    too_long="Param {path} must be a string of at most {max_length} chars.",
    not_object="Param {path} must be an object.",
)


def _check_message(payload: Any) -> tuple[str, str]:
    """The recipient and type of a message Meta would accept; else Meta's code 100 error."""
    if not isinstance(payload, dict):
        raise _missing("messaging_product")
    message = Shape(payload, _PARAMETERS)
    product = message.value("messaging_product", required=True)
    if product != "whatsapp":
        raise _one_of("messaging_product", ("whatsapp",), product)
    recipient_type = payload.get("recipient_type", "individual")
    if recipient_type not in ("individual", "group"):
        raise _one_of("recipient_type", ("individual", "group"), recipient_type)
    to = message.value("to", required=True)
    if not isinstance(to, str) or not _RECIPIENT.fullmatch(to):
        raise _invalid(f"Param to must be a phone number or WhatsApp ID - got {json.dumps(to)}.")
    kind = payload.get("type", "text")  # Meta sends text when no type is given
    if kind not in _MESSAGE_TYPES:
        raise _one_of("type", _MESSAGE_TYPES, kind)
    content = message.value(kind, required=True)
    if kind == "contacts":
        if not isinstance(content, list) or not all(isinstance(c, dict) for c in content):
            raise _invalid("Param contacts must be an array of contact objects.")
        for contact in message.objects("contacts"):
            contact.object("name", required=True).value("formatted_name", required=True)
    else:
        _check_content(kind, message.object(kind))
    context = payload.get("context")
    if context is not None and not (
        isinstance(context, dict) and isinstance(context.get("message_id"), str)
    ):
        raise _missing("context['message_id']")
    return to, kind


def _check_content(kind: str, content: Shape) -> None:
    if kind == "text":
        content.string("body", required=True, max_length=_TEXT_LIMIT)
    elif kind == "template":
        content.value("name", required=True)
        content.value("language", required=True)
        content.object("language").value("code", required=True)
    elif kind in _MEDIA_TYPES:
        if content.value("link") is None and content.value("id") is None:
            raise _missing(f"{kind}['link'] or {kind}['id']")
    elif kind == "location":
        for key in ("latitude", "longitude"):
            try:
                float(content.value(key, required=True))
            except (TypeError, ValueError):
                raise _invalid(f"Param location['{key}'] must be a number.") from None
    elif kind == "reaction":
        content.value("message_id", required=True)
        if not isinstance(content.data.get("emoji"), str):  # "" takes a reaction back
            raise _missing("reaction['emoji']")
    elif kind == "interactive":
        _check_interactive(content)


_INTERACTIVE_TYPES = (
    "button",
    "catalog_message",
    "cta_url",
    "flow",
    "list",
    "location_request_message",
    "product",
    "product_list",
)


def _not_valid(details: str) -> _Rejected:
    return _Rejected(replace(PARAMETER_NOT_VALID, details=details))


def _length(shape: Shape, key: str, high: int, what: str, *, required: bool = True) -> str:
    value = shape.string(key, required=required)
    if len(value) > high:
        raise _not_valid(f"{what} length invalid. Min length: 1, Max length: {high}")
    return value


def _count(shape: Shape, key: str, high: int, what: str) -> list[Shape]:
    items = list(shape.objects(key, required=True))
    if not 1 <= len(items) <= high:
        raise _not_valid(f"Number of {what} invalid. Min: 1, Max: {high}")
    return items


def _unique(value: str, seen: set[str], what: str) -> None:
    if value in seen:
        raise _not_valid(f"{what} must be unique within the message")
    seen.add(value)


def _check_interactive(interactive: Shape) -> None:
    """Meta's checks of an interactive message's reply buttons, list and call-to-action URL."""
    kind = interactive.value("type", required=True)
    if kind not in _INTERACTIVE_TYPES:
        raise _one_of("interactive['type']", _INTERACTIVE_TYPES, kind)
    header = interactive.object("header")
    if header.data:
        header_type = header.value("type", required=True)
        if kind == "list" and header_type != "text":
            raise _not_valid("Header type must be text for an interactive list message")
        if header_type == "text":
            _length(header, "text", 60, "Header text")
        elif header_type in ("image", "video", "document"):
            media = header.object(header_type, required=True)
            if media.value("link") is None and media.value("id") is None:
                raise _missing(f"interactive['header']['{header_type}']['link']")
        else:
            raise _one_of(
                "interactive['header']['type']", ("text", "image", "video", "document"), header_type
            )
    if kind != "product":
        body_max = 4096 if kind == "list" else 1024
        _length(interactive.object("body", required=True), "text", body_max, "Body text")
    if interactive.data.get("footer") is not None:
        _length(interactive.object("footer"), "text", 60, "Footer text")
    action = interactive.object("action", required=True)
    if kind == "button":
        ids: set[str] = set()
        titles: set[str] = set()
        for button in _count(action, "buttons", 3, "buttons"):
            if button.value("type", required=True) != "reply":
                raise _one_of(f"{button.where}['type']", ("reply",), button.data["type"])
            reply = button.object("reply", required=True)
            button_id = _length(reply, "id", 256, "Button id")
            if button_id != button_id.strip():
                raise _not_valid("Button id cannot have leading or trailing spaces")
            _unique(button_id, ids, "Button id")
            _unique(_length(reply, "title", 20, "Button title"), titles, "Button title")
    elif kind == "list":
        _length(action, "button", 20, "Button text")
        sections = _count(action, "sections", 10, "sections")
        ids = set()
        rows = 0
        for section in sections:
            title = _length(section, "title", 24, "Section title", required=False)
            if not title and len(sections) > 1:
                raise _not_valid("Section title is required when there are multiple sections")
            for row in _count(section, "rows", 10, "rows"):
                rows += 1
                _unique(_length(row, "id", 200, "Row id"), ids, "Row id")
                _length(row, "title", 24, "Row title")
                _length(row, "description", 72, "Row description", required=False)
        if rows > 10:
            raise _not_valid("Total row count exceed max allowed count: 10")
    elif kind == "cta_url":
        if action.value("name", required=True) != "cta_url":
            raise _one_of("interactive['action']['name']", ("cta_url",), action.data["name"])
        parameters = action.object("parameters", required=True)
        _length(parameters, "display_text", 20, "Display text")
        url = parameters.string("url", required=True)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _not_valid("Invalid URL in interactive['action']['parameters']['url']")


def _form(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body's parts, as a server reads them."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    parts: dict[str, Any] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            parts[name] = data.decode("utf-8", "replace")
        else:
            parts[name] = (filename, part.get_content_type(), data)
    return parts


_UPLOAD_TYPES = {mime: limit for limit in LIMITS.values() for mime in limit.mime_types}


def _check_upload(form: dict[str, Any] | None) -> tuple[str, bytes]:
    """The type and bytes of an upload Meta would take; else Meta's error."""
    form = form or {}
    if form.get("messaging_product") != "whatsapp":
        raise _missing("messaging_product")
    file = form.get("file")
    if not isinstance(file, tuple):
        raise _missing("file")
    mime_type = form.get("type") or file[1]
    limit = _UPLOAD_TYPES.get(mime_type)
    if limit is None:
        names = ", ".join(sorted(_UPLOAD_TYPES))
        raise _invalid(
            f"Param file must be a file with one of the following types: {names}. "
            f"Received file of type '{mime_type}'."
        )
    data = file[2]
    if len(data) > limit.max_bytes:
        raise _Rejected(
            replace(
                MEDIA_UPLOAD_ERROR,
                details=f"The file is {len(data)} bytes: {limit.noun} take at most "
                f"{limit.max_bytes} bytes.",
            )
        )
    return mime_type, data


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open, so tests can see the client's pool reuse them.
    protocol_version = "HTTP/1.1"
    # A buffered wfile, flushed by BaseHTTPRequestHandler after each request: headers and body go
    # out in one send. No Nagle either, so nothing waits for the client's delayed ACK.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        self.server.graph._opened(self.connection)

    def finish(self) -> None:
        self.server.graph._closed(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.server.graph._handle(self)

    do_POST = do_DELETE = do_GET

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # one line a request would slow benchmarks down; errors still reach log_message

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake Graph API: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a pool of threads connecting at once,
    # and the kernel retries them only a second later.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], graph: "FakeGraph") -> None:
        super().__init__(address, _Handler)
        self.graph = graph

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (as in a read-timeout test) leaves a broken pipe: not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeGraph:
    """The fake Graph API server and its state. All state is guarded by one lock."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, record_requests: bool = True
    ) -> None:
        self._address = (host, port)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._businesses: list[Business] = []
        self._subscriptions: dict[str, Subscription] = {}
        self._requests: list[RecordedRequest] = []
        self._sent: list[SentMessage] = []
        self._read: list[ReadMark] = []
        self._injected: list[_Injected] = []
        self._shares: list[_Share] = []
        self._wamid_prefix = secrets.token_hex(4)
        self._wamid_serials = itertools.count(1)
        self._waba_ids = itertools.count(102_000_000_000_001)
        self._phone_ids = itertools.count(109_000_000_000_001)
        self._template_ids = itertools.count(800_000_000_000_001)
        self._media_ids = itertools.count(1_300_000_000_000_001)
        self._media_urls: dict[str, _MediaURL] = {}
        # Seconds every answer waits before it is sent; set it to test timeouts.
        self.latency = 0.0
        # Seconds more that answers to POST /{phone_number_id}/messages wait.
        self.send_latency = 0.0
        # Seconds a media URL answered by ``GET /{media_id}`` can be downloaded (Meta: about 5
        # minutes); 0 makes them expire at once.
        self.media_url_ttl = 300.0
        # Whether to keep every request in ``.requests``: off, long benchmarks keep less memory.
        self.record_requests = record_requests
        self._routes: dict[tuple[str, str | None], _Route] = {
            ("GET", "phone_numbers"): _Route((WABA,), self._list_phone_numbers),
            ("GET", "message_templates"): _Route((WABA,), self._list_templates),
            ("GET", None): _Route((WABA, PHONE_NUMBER, MEDIA, APPLICATION), self._read_node),
            ("GET", "permissions"): _Route((USER,), self._list_permissions),
            ("GET", "subscribed_apps"): _Route((WABA,), self._list_subscribed_apps),
            ("POST", "subscribed_apps"): _Route((WABA,), self._subscribe),
            ("DELETE", "subscribed_apps"): _Route((WABA,), self._unsubscribe),
            ("POST", "messages"): _Route((PHONE_NUMBER,), self._send_message),
            ("POST", "media"): _Route((PHONE_NUMBER,), self._upload_media),
        }
        self._uploads: list[Media] = []

    # -- lifecycle

    def start(self) -> "FakeGraph":
        if self._server is not None:
            raise RuntimeError("The fake Graph API is already running.")
        self._stopping.clear()
        self._server = _Server(self._address, self)
        # A short poll interval: stop() waits up to one, and tests stop a fake each.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-graph",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        # Close kept-alive connections too, so no client's pool reaches this server's state
        # through one after the fake is gone (a later fake may get the same port).
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "FakeGraph":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to use as ``WHATSAPP_GRAPH_URL``, e.g. "http://127.0.0.1:41234"."""
        if self._server is None:
            raise RuntimeError("The fake Graph API is not running.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- state for tests

    def add_business(
        self,
        *,
        waba_id: str | None = None,
        token: str | None = None,
        name: str = "Acme Ltd",
        currency: str = "USD",
        timezone_id: str = "1",
        phone_numbers: list[dict[str, Any]] | None = None,
        templates: list[dict[str, Any]] | None = None,
    ) -> Business:
        """A business the fake serves. Ids and the token default to fresh ones; the phone
        numbers to one verified number; the templates to :func:`default_templates`."""
        with self._lock:
            numbers = [phone_number(verified_name=name)] if phone_numbers is None else phone_numbers
            business = Business(
                waba_id=waba_id or str(next(self._waba_ids)),
                token=token or "fake-" + secrets.token_urlsafe(24),
                name=name,
                currency=currency,
                timezone_id=timezone_id,
                phone_numbers=[
                    {**number, "id": number.get("id") or str(next(self._phone_ids))}
                    for number in numbers
                ],
                templates=[
                    {**template, "id": template.get("id") or str(next(self._template_ids))}
                    for template in (default_templates() if templates is None else templates)
                ],
            )
            taken = {b.waba_id for b in self._businesses} | {
                number["id"] for b in self._businesses for number in b.phone_numbers
            }
            if {business.waba_id, *(n["id"] for n in business.phone_numbers)} & taken:
                raise ValueError("Another business of this fake already has one of these ids.")
            self._businesses.append(business)
            return business

    def add_media(self, business: Business, data: bytes, mime_type: str = "image/jpeg") -> str:
        """Keep a file as if a customer had sent it to ``business``; its media id. Only that
        business's token can read it (``GET /{media_id}``) and download it (the URL answered)."""
        with self._lock:
            media_id = str(next(self._media_ids))
            business.media[media_id] = Media(id=media_id, data=bytes(data), mime_type=mime_type)
            return media_id

    @property
    def business(self) -> Business:
        """The first business added: the only one most tests need."""
        with self._lock:
            if not self._businesses:
                raise LookupError("No business has been added to the fake Graph API.")
            return self._businesses[0]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (none if ``record_requests`` is off)."""
        with self._lock:
            return list(self._requests)

    @property
    def uploads(self) -> list[Media]:
        """Every file uploaded so far, oldest first."""
        with self._lock:
            return list(self._uploads)

    @property
    def sent(self) -> list[SentMessage]:
        """Every message accepted so far, oldest first."""
        with self._lock:
            return list(self._sent)

    @property
    def read(self) -> list[ReadMark]:
        """Every read receipt accepted so far, oldest first."""
        with self._lock:
            return list(self._read)

    def add_received(self, business: Business, *, phone_number_id: str | None = None) -> str:
        """A new wamid of a message a customer sent to one of ``business``'s numbers (its
        first unless ``phone_number_id``), which that number may mark as read."""
        with self._lock:
            number = phone_number_id or business.phone_numbers[0]["id"]
            serial = next(self._wamid_serials)
            wamid = (
                "wamid."
                + base64.b64encode(
                    f"HBgLIN{number}FQIAEhgS{self._wamid_prefix}{serial:016X}".encode()
                ).decode()
            )
            business.received[wamid] = number
            return wamid

    @property
    def sent_count(self) -> int:
        """How many messages were accepted: cheaper than ``len(fake.sent)``."""
        with self._lock:
            return len(self._sent)

    @property
    def subscriptions(self) -> dict[str, Subscription]:
        """The latest subscription of each business, by WABA id."""
        with self._lock:
            return dict(self._subscriptions)

    def unsubscribe(self, business: Business) -> None:
        """The app no longer subscribed to the business's webhooks (someone removed it)."""
        with self._lock:
            self._subscriptions.pop(business.waba_id, None)

    def fail_next(
        self,
        reply: ErrorReply | None = None,
        /,
        *,
        path: str | None = None,
        times: int = 1,
        **fields: Any,
    ) -> None:
        """Answer the next ``times`` requests (whose path contains ``path``, if given) with an
        error instead, before any check of the token: ``fail_next(WABA_RATE_LIMITED)``,
        ``fail_next(status=429, code=80007, message="...")`` or ``fail_next(BAD_GATEWAY,
        path="/phone_numbers")``. Keyword fields override those of ``reply``."""
        error = replace(reply, **fields) if reply else ErrorReply(**fields)
        with self._lock:
            self._injected.append(_Injected(error, path, times))

    def fail_fraction(
        self,
        fraction: float,
        reply: ErrorReply | None = None,
        /,
        *,
        path: str | None = None,
        **fields: Any,
    ) -> None:
        """From now on, answer ``fraction`` (0 to 1) of the requests whose path contains
        ``path`` with an error, spread evenly and deterministically: ``fail_fraction(0.25,
        PAIR_RATE_LIMITED, path="/messages")`` fails every fourth send. ``fail_next`` errors
        come first; :meth:`clear_failures` ends this."""
        if not 0 <= fraction <= 1:
            raise ValueError("The fraction must be between 0 and 1.")
        error = replace(reply, **fields) if reply else ErrorReply(**fields)
        with self._lock:
            self._shares.append(_Share(error, path, fraction))

    def clear_failures(self) -> None:
        """Forget every error still to come from ``fail_next`` and ``fail_fraction``."""
        with self._lock:
            self._injected.clear()
            self._shares.clear()

    # -- serving

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _handle(self, handler: _Handler) -> None:
        request = self._record(handler)
        with self._lock:
            injected = self._take_injected(request.path)
        delay = self.latency
        if request.method == "POST" and request.path.endswith("/messages"):
            delay += self.send_latency
        if delay:
            self._stopping.wait(delay)  # cut short when the fake stops
        reply = _render(injected) if injected else self._answer(request)
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)

    def _record(self, handler: _Handler) -> RecordedRequest:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        form = _form(content_type, raw) if content_type.startswith("multipart/") else None
        try:
            body = json.loads(raw) if raw and form is None else None
        except ValueError:
            body = None
        url = urlsplit(handler.path)
        request = RecordedRequest(
            method=handler.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in handler.headers.items()},
            json=body,
            form=form,
            client_port=handler.client_address[1],
            arrived=time.time(),
        )
        if self.record_requests:
            with self._lock:
                self._requests.append(request)
        return request

    def _take_injected(self, path: str) -> ErrorReply | None:
        for injected in self._injected:
            if injected.path is None or injected.path in path:
                injected.remaining -= 1
                if injected.remaining <= 0:
                    self._injected.remove(injected)
                return injected.reply
        for share in self._shares:
            if (share.path is None or share.path in path) and share.take():
                return share.reply
        return None

    def _answer(self, request: RecordedRequest) -> _Reply:
        if request.method == "GET" and request.path == SENT_PATH:
            # Not Meta's: what a benchmark running the fake in its own process reads back.
            try:
                after = max(int(request.query.get("after") or 0), 0)
            except ValueError:
                after = 0
            with self._lock:
                sent = self._sent[after:]
            return _json_reply(
                {
                    "sent": [
                        {
                            "wamid": s.wamid,
                            "to": s.to,
                            "type": s.type,
                            "at": s.at,
                            "text": s.payload.get("text", {}).get("body"),
                        }
                        for s in sent
                    ]
                }
            )
        try:
            with self._lock:
                if request.method == "GET" and request.path == MEDIA_DOWNLOAD_PATH:
                    return self._download_media(request)
                answer = self._dispatch(request)
        except _Rejected as rejected:
            return _render(rejected.reply)
        return _json_reply(answer)

    def _dispatch(self, request: RecordedRequest) -> dict[str, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        business = next(
            (b for b in self._businesses if scheme.lower() == "bearer" and b.token == token), None
        )
        if business is None:
            raise _Rejected(INVALID_TOKEN)
        match = _PATH.fullmatch(request.path)
        if match is None:
            raise _Rejected(
                replace(INVALID_PARAMETER, message=f"Unknown path components: {request.path}")
            )
        node_id, edge = unquote(match["node"]), match["edge"]
        target = self._find(business, node_id)
        route = self._routes.get((request.method, edge))
        if target is None or (route is None and edge is None):
            raise _Rejected(unknown_object(node_id, request.method))
        if route is None or target.node_type not in route.node_types:
            raise _Rejected(nonexisting_field(edge or "", target.node_type))
        return route.handler(request, target)

    @staticmethod
    def _find(business: Business, node_id: str) -> _Target | None:
        if node_id == "me":
            return _Target(business, USER, {"id": "system-user-of-" + business.waba_id})
        if node_id == "app":
            link = f"https://www.facebook.com/games/?app_id={APP_ID}"
            return _Target(business, APPLICATION, {"id": APP_ID, "name": APP_NAME, "link": link})
        if node_id == business.waba_id:
            return _Target(business, WABA, business.node())
        for number in business.phone_numbers:
            if number["id"] == node_id:
                return _Target(business, PHONE_NUMBER, number)
        media = business.media.get(node_id)
        if media is not None:
            return _Target(business, MEDIA, media.node())
        return None

    def _page(self, request: RecordedRequest, items: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of an edge, with Meta's cursors; ``next`` only when more pages exist."""
        try:
            limit = int(request.query.get("limit") or _DEFAULT_PAGE_SIZE)
        except ValueError:
            limit = 0
        if limit <= 0:
            raise _Rejected(
                replace(INVALID_PARAMETER, message="(#100) Param limit must be a number")
            )
        after = request.query.get("after")
        start = _index(after) + 1 if after else 0
        page = items[start : start + limit]
        answer: dict[str, Any] = {"data": page}
        if page:
            last = start + len(page) - 1
            answer["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(last)}}
            if last + 1 < len(items):
                query = urlencode({**request.query, "limit": limit, "after": _cursor(last)})
                answer["paging"]["next"] = f"{self.url}{request.path}?{query}"
        return answer

    # -- route handlers, called with the lock held

    def _read_node(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        node = target.node
        if target.node_type == MEDIA:
            node = {**node, "url": self._media_url(target.business, node["id"])}
        fields = request.query.get("fields") or ""
        if target.node_type == PHONE_NUMBER and "webhook_configuration" in fields.split(","):
            node = {**node, "webhook_configuration": self._webhook_configuration(target)}
        return _select(node, target.node_type, request.query.get("fields"))

    def _media_url(self, business: Business, media_id: str) -> str:
        """A fresh download URL for the media, valid for ``media_url_ttl`` seconds."""
        now = time.time()
        if len(self._media_urls) >= 1024:  # forget expired ones, so a long run stays small
            self._media_urls = {k: u for k, u in self._media_urls.items() if u.expires_at > now}
        key = secrets.token_urlsafe(24)
        expires_at = now + self.media_url_ttl
        self._media_urls[key] = _MediaURL(business.waba_id, media_id, expires_at)
        query = urlencode({"mid": media_id, "ext": int(expires_at), "hash": key})
        return f"{self.url}{MEDIA_DOWNLOAD_PATH}?{query}"

    def _download_media(self, request: RecordedRequest) -> _Reply:
        """The file of a media URL, for its business's token only; 404 once it has expired."""
        found = self._media_urls.get(request.query.get("hash", ""))
        if (
            found is None
            or found.media_id != request.query.get("mid")
            or time.time() >= found.expires_at
        ):
            return _render(MEDIA_URL_EXPIRED)
        business = next(b for b in self._businesses if b.waba_id == found.waba_id)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token != business.token:
            return _render(INVALID_TOKEN)
        media = business.media.get(found.media_id)
        if media is None:
            return _render(MEDIA_URL_EXPIRED)
        return _Reply(200, media.data, media.mime_type)

    def _list_phone_numbers(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        fields = request.query.get("fields")
        numbers = [_select(n, PHONE_NUMBER, fields) for n in target.business.phone_numbers]
        return self._page(request, numbers)

    def _list_templates(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        fields = request.query.get("fields")
        templates = [_select(t, TEMPLATE, fields) for t in target.business.templates]
        return self._page(request, templates)

    def _webhook_configuration(self, target: _Target) -> dict[str, str]:
        """Meta's answer names each level that has a callback URL: the number's own, its
        business's (the subscription's override) and the app's (none in the fake)."""
        business = target.business
        subscription = self._subscriptions.get(business.waba_id)
        levels = {
            "phone_number": business.number_callbacks.get(target.node["id"], ""),
            "whatsapp_business_account": subscription.override_callback_uri if subscription else "",
        }
        return {level: url for level, url in levels.items() if url}

    def _list_permissions(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        items = [
            {"permission": permission, "status": status}
            for permission, status in target.business.permissions.items()
        ]
        return self._page(request, items)

    def _list_subscribed_apps(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        apps = []
        if target.business.waba_id in self._subscriptions:
            link = f"https://www.facebook.com/games/?app_id={APP_ID}"
            apps.append(
                {"whatsapp_business_api_data": {"id": APP_ID, "link": link, "name": APP_NAME}}
            )
        return self._page(request, apps)

    def _unsubscribe(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        self._subscriptions.pop(target.business.waba_id, None)
        return {"success": True}

    def _subscribe(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        # Meta takes these in the query string, a JSON body or a form (not faked here).
        params = {**request.query, **(request.json if isinstance(request.json, dict) else {})}
        callback = params.get("override_callback_uri", "")
        verify_token = params.get("verify_token", "")
        if callback and not verify_token:
            raise _Rejected(
                replace(INVALID_PARAMETER, message="(#100) The parameter verify_token is required")
            )
        self._subscriptions[target.business.waba_id] = Subscription(callback, verify_token)
        return {"success": True}

    def _upload_media(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        mime_type, data = _check_upload(request.form)
        media = Media(id=str(next(self._media_ids)), data=data, mime_type=mime_type)
        target.business.media[media.id] = media
        self._uploads.append(media)
        return {"id": media.id}

    def _send_message(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        if isinstance(request.json, dict) and "status" in request.json:
            return self._mark_read(request, target)
        to, kind = _check_message(request.json)
        media_id = request.json[kind].get("id") if kind in _MEDIA_TYPES else None
        if media_id is not None and media_id not in target.business.media:
            raise _invalid(f"Param {kind}['id'] is not a valid media id.")
        serial = next(self._wamid_serials)
        wamid = (
            "wamid."
            + base64.b64encode(
                f"HBgL{to.lstrip('+')}FQIAERgS{self._wamid_prefix}{serial:016X}".encode()
            ).decode()
        )
        self._sent.append(
            SentMessage(
                phone_number_id=target.node["id"],
                to=to,
                type=kind,
                payload=request.json,
                wamid=wamid,
                at=request.arrived,
            )
        )
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        }

    def _mark_read(self, request: RecordedRequest, target: _Target) -> dict[str, Any]:
        """Meta's read receipt (and typing indicator): the same edge as sends, told apart by
        its ``status``; only a message the number received can be marked."""
        number = target.node["id"]
        wamid = _check_read(request.json)
        if target.business.received.get(wamid) != number:
            raise _Rejected(UNKNOWN_MESSAGE_ID)
        self._read.append(
            ReadMark(phone_number_id=number, payload=request.json, at=request.arrived)
        )
        return {"success": True}


def _check_read(payload: dict[str, Any]) -> str:
    """The wamid of a read receipt Meta would take; else Meta's code 100 error."""
    receipt = Shape(payload, _PARAMETERS)
    product = receipt.value("messaging_product", required=True)
    if product != "whatsapp":
        raise _one_of("messaging_product", ("whatsapp",), product)
    if payload["status"] != "read":
        raise _one_of("status", ("read",), payload["status"])
    wamid = receipt.string("message_id", required=True)
    if "typing_indicator" in payload:
        kind = receipt.object("typing_indicator", required=True).value("type", required=True)
        if kind != "text":
            raise _one_of("typing_indicator['type']", ("text",), kind)
    return wamid


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m whatsapp.testing.fake_graph",
        description="Serve a fake WhatsApp Graph API with one seeded business until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--waba-id", help="the seeded business's id (default: generated)")
    parser.add_argument("--token", help="the seeded business's access token (default: random)")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every answer waits (default: 0)"
    )
    parser.add_argument(
        "--send-latency",
        type=float,
        default=0.0,
        help="seconds more each answer to POST /{phone_number_id}/messages waits (default: 0)",
    )
    parser.add_argument(
        "--record-requests",
        action="store_true",
        help="keep every request in memory (off: nothing outside this process can read them)",
    )
    args = parser.parse_args(argv)
    with FakeGraph(host=args.host, port=args.port, record_requests=args.record_requests) as fake:
        fake.latency = args.latency
        fake.send_latency = args.send_latency
        business = fake.add_business(waba_id=args.waba_id, token=args.token)
        print(f"Fake WhatsApp Graph API on {fake.url} (Ctrl-C stops it)")
        print(f"  WHATSAPP_GRAPH_URL={fake.url}")
        print(f"  WABA id:      {business.waba_id}")
        print(f"  Access token: {business.token}")
        for number in business.phone_numbers:
            print(f"  Phone number: {number['display_phone_number']} (id {number['id']})")
        print(f"  Phone number id: {' '.join(n['id'] for n in business.phone_numbers)}")
        print(f"  Latency:      {args.latency:g} s, sends {args.latency + args.send_latency:g} s")
        sys.stdout.flush()
        started = time.monotonic()
        # Stopped by a benchmark script as by Ctrl-C (and shells start background jobs with
        # SIGINT ignored).
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        count, elapsed = fake.sent_count, time.monotonic() - started
        print(f"\nMessages accepted: {count} in {elapsed:.1f} s ({count / elapsed:.0f} a second)")


if __name__ == "__main__":
    main()
