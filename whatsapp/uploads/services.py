"""Uploading files to WhatsApp for a stream's sender: a client's file, or one fetched from a
URL of a send that asked for it. Each is checked against WhatsApp's limits first
(``whatsapp.uploads.limits``), so a file WhatsApp would refuse never leaves TextPeak."""

import tempfile
from dataclasses import dataclass
from typing import BinaryIO

from streams.models import Stream
from webhooks import services as webhooks
from whatsapp.graph.errors import GraphError
from whatsapp.graph.pick import graph_for
from whatsapp.models import Sender, WhatsAppAccount
from whatsapp.uploads.limits import HEAD_BYTES, LIMITS, MediaRefused, media_check, too_large

# A fetch, from connecting to its last byte: a slow server fails its own message, no other.
FETCH_TIMEOUT = 30.0

# What a fetched file is held in: memory up to this size, a temporary file beyond.
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Uploaded:
    media_id: str
    mime_type: str
    size: int


class MediaFetchFailed(GraphError):
    """A send's file could not be fetched, or is not one WhatsApp takes: the message fails
    with ``code`` (an API error code) and a message that says what happened."""


def _phone_number_id(stream: Stream, sender: str) -> str:
    senders = Sender.objects.filter(whatsapp_account__stream=stream)
    phone_number_id = next((s.phone_number_id for s in senders if s.number == sender), None)
    if phone_number_id is None:
        raise MediaRefused("UNKNOWN_SENDER", "sender must be one of the stream's sender numbers.")
    return phone_number_id


def _head(file: BinaryIO) -> bytes:
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    return head


def media_upload(
    *, stream: Stream, sender: str, file: BinaryIO, size: int, claimed_type: str, filename: str
) -> Uploaded:
    """Upload a client's file for one of the stream's senders. Raises :class:`MediaRefused`
    for a sender or file WhatsApp would not take, :class:`GraphError` when WhatsApp refuses."""
    phone_number_id = _phone_number_id(stream, sender)
    checked = media_check(_head(file), size, claimed=claimed_type)
    graph = graph_for(WhatsAppAccount.objects.select_related("stream").get(stream=stream))
    media_id = graph.upload_media(
        phone_number_id, file, size=size, mime_type=checked.mime_type, filename=filename
    )
    return Uploaded(media_id=media_id, mime_type=checked.mime_type, size=size)


def _fetch(url: str, file: BinaryIO, kind: str):
    """Fetch ``url`` into ``file``, at most the type's limit and a byte."""
    try:
        fetched = webhooks.file_fetch(
            url=url, file=file, timeout=FETCH_TIMEOUT, max_bytes=LIMITS[kind].max_bytes
        )
    except webhooks.FetchRefused as error:
        raise MediaFetchFailed(error.message, code="MEDIA_URL_REFUSED") from None
    except webhooks.FetchFailed as error:
        raise MediaFetchFailed(
            f"The file could not be fetched: {error.message}", code="MEDIA_FETCH_FAILED"
        ) from None
    if not 200 <= fetched.status_code < 300:
        what = "redirects are not followed" if 300 <= fetched.status_code < 400 else "no file"
        raise MediaFetchFailed(
            f"The file could not be fetched: its server answered HTTP {fetched.status_code} "
            f"({what}).",
            code="MEDIA_FETCH_FAILED",
        )
    return fetched


def media_fetch_upload(*, graph, phone_number_id: str, url: str, kind: str) -> str:
    """Fetch a send's file from ``url`` (public addresses only, as webhooks), check it as a
    ``kind`` and upload it; its media id. Raises :class:`MediaFetchFailed` or the graph's
    :class:`GraphError`."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as file:
        fetched = _fetch(url, file, kind)
        size = file.tell()
        try:
            if fetched.truncated:
                raise too_large(LIMITS[kind].noun, LIMITS[kind].max_bytes)
            checked = media_check(_head(file), size, claimed=fetched.content_type, kind=kind)
        except MediaRefused as refused:
            raise MediaFetchFailed(f"The fetched {refused.message}", code=refused.code) from None
        filename = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        return graph.upload_media(
            phone_number_id, file, size=size, mime_type=checked.mime_type, filename=filename
        )
