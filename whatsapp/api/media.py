"""The media API: an incoming message's file, streamed from WhatsApp and checked as it passes."""

import base64
import binascii
import hashlib
import logging
import re
import uuid

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt

from whatsapp.graph.client import MediaDownload, MediaInfo
from whatsapp.graph.demo import DemoGraph
from whatsapp.graph.errors import GraphError, NotFound
from whatsapp.graph.pick import graph_for
from whatsapp.models import Message, WhatsAppAccount

logger = logging.getLogger(__name__)


MEDIA_METHOD_NOT_ALLOWED = "Use GET."


MEDIA_NOT_FOUND = "No incoming message with a file has this uuid on this stream."


MEDIA_GONE = "WhatsApp no longer has this file (it keeps received media for a limited time)"


MEDIA_FAILED = "WhatsApp did not give the file"


FILENAME_MAX = 240


# A MIME type as a header may carry it: type/subtype, then parameters ("audio/ogg; codecs=opus").
_MIME_TYPE = re.compile(
    r"[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w.+-]+=(?:[\w.+-]+|\"[^\"\\\x00-\x1f\x7f]*\"))*",
    re.ASCII,
)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MediaCorrupted(Exception):
    """The file WhatsApp sent is not the one it described: the answer is cut short."""


def _incoming_media(stream, message_uuid: str) -> dict | None:
    """``payload["media"]`` of one of the stream's incoming messages, if it has a media id."""
    try:
        key = uuid.UUID(message_uuid)
    except ValueError:
        return None
    message = (
        Message.objects.filter(stream=stream, uuid=key, direction=Message.Direction.INBOUND)
        .only("payload")
        .first()
    )
    payload = message.payload if message is not None else None
    media = payload.get("media") if isinstance(payload, dict) else None
    if not isinstance(media, dict):
        return None
    media_id = media.get("id")
    return media if isinstance(media_id, str) and media_id.strip() else None


def _graph(stream):
    try:
        account = stream.whatsapp
    except WhatsAppAccount.DoesNotExist:
        return DemoGraph() if stream.is_demo else None
    return graph_for(account)


def _fetch(graph, media_id: str) -> tuple[MediaInfo, MediaDownload]:
    """The media's description and its download, begun. A URL that expired between the two
    calls (Meta's last about 5 minutes) is asked for again, once."""
    info = graph.media_info(media_id)
    try:
        return info, graph.download(info.url)
    except NotFound:
        info = graph.media_info(media_id)
        return info, graph.download(info.url)


def _sha256(value) -> bytes | None:
    """A SHA-256 digest as Meta writes it: hex (``GET /{media_id}``) or base64 (webhooks)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return bytes.fromhex(value)
    try:
        altchars = b"-_" if "-" in value or "_" in value else None
        digest = base64.b64decode(value, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 32 else None


def _mime_type(*candidates) -> str:
    for value in candidates:
        if isinstance(value, str) and _MIME_TYPE.fullmatch(value.strip()):
            return value.strip()
    return "application/octet-stream"


def _filename(value) -> str:
    """The file name to offer: the last path segment, without control characters."""
    if not isinstance(value, str):
        return ""
    name = _CONTROL.sub("", re.split(r"[/\\]", value)[-1]).strip()
    return "" if name in ("", ".", "..") else name[:FILENAME_MAX]


class _CheckedFile:
    """The file's bytes as they arrive from WhatsApp, checked against its length and SHA-256.

    Hashing costs far less than the network does, so every byte is checked. The last chunk is
    held back until the whole file has matched: a file that does not match never reaches the
    client complete. :class:`MediaCorrupted` is raised instead, and the server cuts the
    connection short (the client sees fewer bytes than ``Content-Length``, or no last chunk).
    """

    def __init__(self, download: MediaDownload, *, length, sha256, message_uuid) -> None:
        self._download = download
        self._length = length
        self._sha256 = sha256
        self._message_uuid = message_uuid

    def __iter__(self):
        digest = hashlib.sha256()
        size = 0
        held = b""
        try:
            for chunk in self._download:
                if not chunk:
                    continue
                size += len(chunk)
                if self._length is not None and size > self._length:
                    self._corrupted(f"more than the {self._length} bytes announced")
                digest.update(chunk)
                if held:
                    yield held
                held = chunk
        except GraphError as error:
            logger.warning("Media of message %s broke off: %s", self._message_uuid, error)
            raise
        if self._length is not None and size != self._length:
            self._corrupted(f"{size} bytes, not the {self._length} announced")
        if self._sha256 is not None and digest.digest() != self._sha256:
            self._corrupted("its SHA-256 is not the one WhatsApp gave")
        if held:
            yield held

    def _corrupted(self, what: str):
        logger.error("Media of message %s not passed on: %s", self._message_uuid, what)
        raise MediaCorrupted(what)

    def close(self) -> None:
        self._download.close()


def _json_error(detail: str, status: int, **headers) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers)


@login_not_required
@csrf_exempt
def media(request, message_uuid: str):
    """GET /api/media/<message_uuid>/: the file of one of the stream's incoming messages,
    streamed from WhatsApp as it arrives (nothing is stored here)."""
    if request.method != "GET":
        return _json_error(MEDIA_METHOD_NOT_ALLOWED, 405, Allow="GET")
    stream = request.stream
    media = _incoming_media(stream, message_uuid)
    if media is None:
        return _json_error(MEDIA_NOT_FOUND, 404)
    graph = _graph(stream)
    if graph is None:
        return _json_error(f"{MEDIA_FAILED}: the stream has no WhatsApp Business Account", 502)
    try:
        info, download = _fetch(graph, media["id"])
    except NotFound as error:
        return _json_error(f"{MEDIA_GONE}: {error.message}", 410)
    except GraphError as error:
        return _json_error(f"{MEDIA_FAILED}: {error.message}", 502)
    # WhatsApp's answer now describes the very bytes being sent; the webhook's is the fallback.
    length = download.content_length if download.content_length is not None else info.file_size
    checked = _CheckedFile(
        download,
        length=length,
        sha256=_sha256(info.sha256) or _sha256(media.get("sha256")),
        message_uuid=message_uuid,
    )
    response = StreamingHttpResponse(
        checked, content_type=_mime_type(info.mime_type, media.get("mime_type"))
    )
    filename = _filename(media.get("filename"))
    response["Content-Disposition"] = (
        content_disposition_header(True, filename) if filename else "inline"
    )
    if length is not None:
        response["Content-Length"] = str(length)
    response["Cache-Control"] = "private, no-store"
    # A customer's file is never a page of this site, whatever its type claims.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
