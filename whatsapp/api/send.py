"""The send, status, contacts and read receipt APIs: JSON in, JSON out, for the stream
``streams.api_auth`` found."""

import logging
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from textpeak import logcontext
from textpeak.lib import shape
from textpeak.lib.shape import Rules
from whatsapp.outbox import validate
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.read import NotIncoming, UnknownMessage, read_receipt_request
from whatsapp.selectors import message_statuses
from whatsapp.service_window import contact_windows

logger = logging.getLogger(__name__)

MAX_MESSAGES = 1000


METHOD_NOT_ALLOWED = "Use POST, with a JSON body."


BAD_CONTACT = (
    "“contacts” must be phone numbers in international format, digits only (for example "
    "4915112345678): {position} is not."
)


BAD_MESSAGE_UUID = "“message_uuid” must be the uuid of a message the stream received."


NOT_INCOMING = (
    "“message_uuid” is a message this stream sent: only a message it received can be marked "
    "as read."
)


BAD_TYPING = "“typing” must be true or false."


UNKNOWN_MESSAGE = "This stream has no message with this uuid."


class BadRequest(Exception):
    def __init__(self, detail: str, status: int = 400):
        super().__init__(detail)
        self.detail = detail
        self.status = status


_REQUEST = Rules(error=BadRequest)


def _json_body(request) -> dict:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES:
        raise BadRequest(
            f"The body is larger than {settings.API_MAX_BODY_BYTES} bytes; send fewer "
            "messages per request.",
            status=413,
        )
    try:
        body = request.body
    except RequestDataTooBig:
        raise BadRequest("The body is too large; send fewer messages per request.", 413) from None
    return shape.body(body, _REQUEST).data


def _list(data: dict, key: str, *, noun: str) -> list:
    items = data.get(key)
    if not isinstance(items, list):
        raise BadRequest(f"The body must have a “{key}” array of {noun}.")
    if not 1 <= len(items) <= MAX_MESSAGES:
        raise BadRequest(
            f"“{key}” holds {len(items)} {noun}; send 1 to {MAX_MESSAGES} per request."
        )
    return items


def _api_view(view):
    """A POST-only JSON endpoint authenticated by its stream token, not a session."""

    def wrapper(request):
        if request.method != "POST":
            return JsonResponse(
                {"detail": METHOD_NOT_ALLOWED}, status=405, headers={"Allow": "POST"}
            )
        try:
            return view(request, _json_body(request))
        except BadRequest as error:
            return JsonResponse({"detail": error.detail}, status=error.status)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return login_not_required(csrf_exempt(wrapper))


@_api_view
def send(request, data):
    """POST /api/whatsapp/send/: accept 1 to 1000 messages, each on its own."""
    items = _list(data, "messages", noun="messages")
    batch_id, results = messages_accept(stream=request.stream, items=items)
    # A line per message, so that a message's uuid finds its request's id in the logs.
    for result in results:
        if result.message_uuid:
            logger.info(
                "Message accepted", extra=logcontext.about(message_uuid=result.message_uuid)
            )
    return JsonResponse(
        {
            "status": True,
            "task_id": str(batch_id),
            "messages": [result.as_json() for result in results],
        }
    )


@_api_view
def messages_status(request, data):
    """POST /api/messages_status/: the status of up to 1000 of the stream's messages."""
    uuids = _list(data, "message_uuids", noun="message uuids")
    if not all(isinstance(value, str) for value in uuids):
        raise BadRequest("“message_uuids” must be strings.")
    statuses = message_statuses(stream=request.stream, uuids=uuids)
    return JsonResponse({"status": True, "messages": statuses})


@_api_view
def contacts(request, data):
    """POST /api/whatsapp/contacts/: the customer service window of up to 1000 contacts."""
    numbers = _list(data, "contacts", noun="contacts")
    digits = []
    for position, number in enumerate(numbers):
        value = number.removeprefix("+") if isinstance(number, str) else ""
        if not validate.E164.fullmatch(value):
            raise BadRequest(BAD_CONTACT.format(position=f"contacts[{position}]"))
        digits.append(value)
    windows = contact_windows(stream=request.stream, numbers=digits)
    return JsonResponse(
        {
            "status": True,
            "contacts": [
                {"phone": number, "window": windows[value].as_json()}
                for number, value in zip(numbers, digits, strict=True)
            ],
        }
    )


@_api_view
def read(request, data):
    """POST /api/whatsapp/read/: mark a message the stream received as read at WhatsApp,
    optionally with the typing indicator; sent by a worker, paced with the sender's messages."""
    value = data.get("message_uuid")
    typing = data.get("typing", False)
    if not isinstance(typing, bool):
        raise BadRequest(BAD_TYPING)
    try:
        message_uuid = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        message_uuid = None
    if message_uuid is None:
        raise BadRequest(BAD_MESSAGE_UUID)
    try:
        receipt = read_receipt_request(
            stream=request.stream, message_uuid=message_uuid, typing=typing
        )
    except UnknownMessage:
        # Another stream's message too: its existence is not this stream's to know.
        raise BadRequest(UNKNOWN_MESSAGE, status=404) from None
    except NotIncoming:
        raise BadRequest(NOT_INCOMING) from None
    return JsonResponse(
        {
            "status": True,
            "message_uuid": value,
            "read": receipt.status,
            "typing": receipt.typing,
        },
        # Accepted while it waits to be sent; a receipt already sent or failed is as it was.
        status=202 if receipt.status == receipt.Status.QUEUED else 200,
    )
