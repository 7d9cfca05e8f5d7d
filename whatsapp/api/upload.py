"""The upload API: a client's file, checked and uploaded to WhatsApp for one of the stream's
senders, answered with the media id that sends then name.

Django keeps a file part of up to FILE_UPLOAD_MAX_MEMORY_SIZE in memory and writes a larger one
to a temporary file as it arrives; the client then streams it from there to WhatsApp. The body
may be larger than the send API's (API_MAX_BODY_BYTES): up to the largest file WhatsApp takes,
refused from its Content-Length before a byte of it is read.
"""

import logging

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from whatsapp.graph.errors import GraphError
from whatsapp.outbox.validate import DIGITS
from whatsapp.uploads.limits import MAX_BYTES, MediaRefused
from whatsapp.uploads.services import media_upload

logger = logging.getLogger(__name__)

UPLOAD_METHOD_NOT_ALLOWED = "Use POST, with a multipart/form-data body."

# The file and the form's other fields, boundaries and headers.
MAX_BODY_BYTES = MAX_BYTES + 64 * 1024

UPLOAD_FAILED = "WhatsApp did not take the file"


def _refuse(error: str, detail: str, status: int = 400, **headers) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail}, status=status, headers=headers)


def _form(request):
    """The sender field and the one file of the request; raises :class:`MediaRefused`."""
    if request.content_type != "multipart/form-data":
        raise MediaRefused("INVALID_REQUEST", "Send the file as multipart/form-data.")
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        raise MediaRefused("INVALID_REQUEST", "The request needs a Content-Length.")
    if int(length) > MAX_BODY_BYTES:
        raise MediaRefused(
            "MEDIA_TOO_LARGE",
            f"The body is larger than {MAX_BODY_BYTES} bytes: WhatsApp takes files up to "
            f"{MAX_BYTES // (1024 * 1024)} MB (documents; other types less).",
        )
    try:
        files = request.FILES.getlist("file")
        sender = request.POST.get("sender", "")
    except (MultiPartParserError, SuspiciousOperation, BadRequest):
        raise MediaRefused(
            "INVALID_REQUEST", "The multipart/form-data body is malformed."
        ) from None
    if len(files) != 1:
        raise MediaRefused("INVALID_REQUEST", "Send one file, in the field “file”.")
    sender = sender.removeprefix("+")
    if not DIGITS.fullmatch(sender):
        raise MediaRefused("UNKNOWN_SENDER", "sender must be one of the stream's sender numbers.")
    return sender, files[0]


@login_not_required
@csrf_exempt
def upload(request):
    """POST /api/whatsapp/media/: upload a file for one of the stream's senders."""
    if request.method != "POST":
        return _refuse("INVALID_REQUEST", UPLOAD_METHOD_NOT_ALLOWED, 405, Allow="POST")
    try:
        sender, file = _form(request)
        uploaded = media_upload(
            stream=request.stream,
            sender=sender,
            file=file,
            size=file.size,
            claimed_type=file.content_type or "",
            filename=file.name or "",
        )
    except MediaRefused as refused:
        status = 413 if refused.code == "MEDIA_TOO_LARGE" else 400
        return _refuse(refused.code, refused.message, status)
    except GraphError as error:
        return _refuse("WHATSAPP_ERROR", f"{UPLOAD_FAILED}: {error.message}", 502)
    finally:
        request.close()  # the temporary file goes now, not when the request is collected
    logger.info(
        "Media uploaded as %s (%s, %d bytes)", uploaded.media_id, uploaded.mime_type, uploaded.size
    )
    return JsonResponse(
        {"media_id": uploaded.media_id, "mime_type": uploaded.mime_type, "size": uploaded.size}
    )
