"""WhatsApp's media limits: the file's type read from its bytes, and its size per type."""

import pytest

from whatsapp.uploads.limits import MediaRefused, media_check

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP = b"PK\x03\x04" + b"\x00" * 100


def _animated_webp(size):
    header = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02"
    return header + b"\x00" * (size - len(header))


@pytest.mark.parametrize(
    ("head", "claimed", "mime_type", "kind"),
    [
        (b"\xff\xd8\xff\xe0", "", "image/jpeg", "image"),
        (b"\x89PNG\r\n\x1a\n", "application/octet-stream", "image/png", "image"),
        (b"\x00\x00\x00\x18ftypmp42", "", "video/mp4", "video"),
        (b"\x00\x00\x00\x18ftyp3gp4", "", "video/3gpp", "video"),
        (b"\x00\x00\x00\x18ftypM4A ", "", "audio/mp4", "audio"),
        (b"OggS\x00\x02", "", "audio/ogg", "audio"),
        (b"ID3\x04\x00", "", "audio/mpeg", "audio"),
        (b"#!AMR\n", "", "audio/amr", "audio"),
        (b"%PDF-1.7\n", "", "application/pdf", "document"),
        (ZIP, DOCX, DOCX, "document"),
        (b"Order 1001: shipped\n", "text/plain; charset=utf-8", "text/plain", "document"),
    ],
)
def test_it_reads_the_type_from_the_files_bytes(head, claimed, mime_type, kind):
    checked = media_check(head, 1000, claimed=claimed)
    assert (checked.mime_type, checked.kind) == (mime_type, kind)


@pytest.mark.parametrize(
    ("head", "claimed"),
    [
        (ZIP, "image/png"),  # a ZIP is an Office document only when it says it is one
        (ZIP, ""),
        (b"MZ\x90\x00", "application/pdf"),
        (b"\x00\x01binary", "text/plain"),
        (b"<svg xmlns=", "image/svg+xml"),
    ],
)
def test_it_refuses_bytes_of_no_type_whatsapp_takes_whatever_is_claimed(head, claimed):
    with pytest.raises(MediaRefused) as refused:
        media_check(head, 1000, claimed=claimed)
    assert refused.value.code == "MEDIA_TYPE_NOT_ALLOWED"


def test_it_refuses_a_file_of_another_type_than_the_message():
    with pytest.raises(MediaRefused) as refused:
        media_check(b"%PDF-1.7\n", 1000, kind="image")
    assert refused.value.message == (
        "file is not of a type WhatsApp takes for images (by its content): image/jpeg, image/png."
    )


@pytest.mark.parametrize(
    ("head", "size", "message"),
    [
        (b"\xff\xd8\xff", 7_549_747, "file is 7.2 MB: WhatsApp takes images up to 5 MB."),
        (
            b"\x00\x00\x00\x18ftypmp42",
            17 * 2**20,
            "file is 17.0 MB: WhatsApp takes videos up to 16 MB.",
        ),
        (b"OggS", 16 * 2**20 + 1, "file is 16.0 MB: WhatsApp takes audio files up to 16 MB."),
        (b"%PDF-", 101 * 2**20, "file is 101.0 MB: WhatsApp takes documents up to 100 MB."),
        (_animated_webp(64), 501 * 1024, "file is 501.0 KB: WhatsApp takes stickers up to 500 KB."),
    ],
)
def test_it_names_the_size_limit_that_was_hit(head, size, message):
    with pytest.raises(MediaRefused) as refused:
        media_check(head, size)
    assert (refused.value.code, refused.value.message) == ("MEDIA_TOO_LARGE", message)


def test_an_animated_sticker_may_be_larger_than_a_static_one():
    assert media_check(_animated_webp(64), 400 * 1024).kind == "sticker"


def test_it_refuses_an_empty_file():
    with pytest.raises(MediaRefused) as refused:
        media_check(b"\x89PNG\r\n\x1a\n", 0)
    assert refused.value.code == "MEDIA_EMPTY"
