"""WhatsApp's limits on the files it takes, per media type, and the file's real type.

The type is read from the file's first bytes (:func:`sniff`): a client's Content-Type, or a
server's, says what the file claims to be, and WhatsApp refuses a file whose bytes are of
another type, after the upload. A few containers hold several types (a ZIP is a .docx, .xlsx or
.pptx; an OLE2 file a .doc, .xls or .ppt; plain text has no signature): there the claimed type
decides, if the bytes can be of it.
"""

from dataclasses import dataclass

KB = 1024
MB = 1024 * 1024

# How much of a file's beginning :func:`sniff` needs.
HEAD_BYTES = 4096

_OOXML = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_OLE2 = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}
_TEXT = "text/plain"


@dataclass(frozen=True)
class Limit:
    kind: str  # the message type: image, video, audio, document or sticker
    noun: str  # as the error names it: "images"
    mime_types: frozenset[str]
    max_bytes: int


# Meta's table of supported media (Cloud API reference, "Supported media types").
LIMITS = {
    limit.kind: limit
    for limit in (
        Limit("image", "images", frozenset({"image/jpeg", "image/png"}), 5 * MB),
        Limit("video", "videos", frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
        Limit(
            "audio",
            "audio files",
            frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
            16 * MB,
        ),
        Limit(
            "document",
            "documents",
            frozenset({"application/pdf", _TEXT, *_OOXML, *_OLE2}),
            100 * MB,
        ),
        Limit("sticker", "stickers", frozenset({"image/webp"}), 500 * KB),
    )
}
# An animated sticker may take the sticker limit; a static one only this.
STATIC_STICKER_MAX_BYTES = 100 * KB

# The largest file any type takes: what an upload may send at most.
MAX_BYTES = max(limit.max_bytes for limit in LIMITS.values())


class MediaRefused(Exception):
    """The file is not one WhatsApp takes; ``message`` names the limit, ``code`` is the API's."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MediaFile:
    mime_type: str
    kind: str
    size: int


def _size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(size / KB, 0.1):.1f} KB" if size >= 100 else f"{size} bytes"


def _limit(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size // KB} KB"


def _mp4(head: bytes) -> str:
    brand = head[8:12]
    if brand.startswith(b"3g"):
        return "video/3gpp"
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    return "video/mp4"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end inside a character.
        return error.start >= len(head) - 3
    return True


def sniff(head: bytes, claimed: str = "") -> str:
    """The MIME type of a file from its first bytes ("" when none WhatsApp takes)."""
    claimed = claimed.split(";")[0].strip().lower()
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _mp4(head)
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):  # ADTS, how .aac files are framed
        return "audio/aac"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return claimed if claimed in _OOXML else ""
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return claimed if claimed in _OLE2 else ""
    if claimed == _TEXT and head and _is_text(head):
        return _TEXT
    return ""


def _animated(head: bytes) -> bool:
    """Whether a WebP is animated: its extended header (VP8X) has the animation flag."""
    return head[12:16] == b"VP8X" and bool(head[20] & 0x02) if len(head) > 20 else False


def too_large(noun: str, max_bytes: int, size: int | None = None) -> MediaRefused:
    """The refusal of a file over ``max_bytes``: of ``size`` bytes, or more (``None``)."""
    what = f"over {_limit(max_bytes)}" if size is None else _size(size)
    return MediaRefused(
        "MEDIA_TOO_LARGE", f"file is {what}: WhatsApp takes {noun} up to {_limit(max_bytes)}."
    )


def _check_size(limit: Limit, size: int, head: bytes) -> None:
    max_bytes = limit.max_bytes
    noun = limit.noun
    if limit.kind == "sticker" and not _animated(head):
        max_bytes, noun = STATIC_STICKER_MAX_BYTES, "static stickers"
    if size > max_bytes:
        raise too_large(noun, max_bytes, size)
    if size == 0:
        raise MediaRefused("MEDIA_EMPTY", "file is empty.")


def _type_refused(kind: str | None) -> MediaRefused:
    if kind is None:
        names = sorted({m for limit in LIMITS.values() for m in limit.mime_types})
        return MediaRefused(
            "MEDIA_TYPE_NOT_ALLOWED",
            "file is not of a type WhatsApp takes (by its content): " + ", ".join(names) + ".",
        )
    names = ", ".join(sorted(LIMITS[kind].mime_types))
    return MediaRefused(
        "MEDIA_TYPE_NOT_ALLOWED",
        f"file is not of a type WhatsApp takes for {LIMITS[kind].noun} (by its content): {names}.",
    )


def media_check(head: bytes, size: int, *, claimed: str = "", kind: str | None = None) -> MediaFile:
    """The file described by its first bytes and size, if WhatsApp takes it as ``kind`` (or,
    without a kind, as the type its content says); else :class:`MediaRefused`."""
    mime_type = sniff(head, claimed)
    found = next((limit for limit in LIMITS.values() if mime_type in limit.mime_types), None)
    if found is None or (kind is not None and found.kind != kind):
        raise _type_refused(kind)
    _check_size(found, size, head)
    return MediaFile(mime_type=mime_type, kind=found.kind, size=size)
