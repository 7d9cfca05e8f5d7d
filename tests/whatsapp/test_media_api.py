"""GET /api/media/<message_uuid>/: the file of an incoming message, streamed from WhatsApp."""

import base64
import hashlib
import uuid

import pytest
from django.urls import reverse

from streams import services as stream_services
from tests.factories import StreamFactory
from whatsapp import services as wa
from whatsapp.api.media import MediaCorrupted, _CheckedFile, _sha256
from whatsapp.graph.client import MediaDownload
from whatsapp.graph.demo import DEMO_BUSINESS_ID, demo_placeholder
from whatsapp.models import Message
from whatsapp.testing.fake_graph import BAD_GATEWAY, INVALID_TOKEN, MEDIA_URL_EXPIRED

pytestmark = pytest.mark.django_db

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 1024  # 256 KiB: several chunks
PDF = b"%PDF-1.7\n" + b"invoice " * 100
DOWNLOADS = "/whatsapp_business/attachments"


@pytest.fixture
def business(fake_graph):
    return fake_graph.business


@pytest.fixture
def stream(account, whatsapp_access, business):
    """A Ready stream connected to the fake Graph API's business."""
    stream = StreamFactory(account=account, name="Orders", setup_progress=4)
    wa.whatsapp_settings_save(
        stream=stream, business_id=business.waba_id, access_token=business.token
    )
    return stream


@pytest.fixture
def get(client, token):
    def get(message_uuid, authorization=token):
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
        return client.get(f"/api/media/{message_uuid}/", **headers)

    return get


def _incoming(stream, kind="image", media=None, **fields):
    payload = {"media": media} if media is not None else {"body": "Hello"}
    return Message.objects.create(
        stream=stream,
        direction=fields.pop("direction", Message.Direction.INBOUND),
        sender_number="15550001111",
        contact_number="4915112345678",
        type=kind,
        payload=payload,
        status=fields.pop("status", Message.Status.RECEIVED),
        wamid=f"wamid.IN{uuid.uuid4().hex}",
        **fields,
    )


def _media(fake_graph, business, data, mime_type, **extra):
    media_id = fake_graph.add_media(business, data, mime_type)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()  # as webhooks write it
    return {"id": media_id, "mime_type": mime_type, "sha256": digest, **extra}


def _body(response) -> bytes:
    """The streamed file. Reading it to the end closes the response, as a server would."""
    assert response.streaming, response.content
    return b"".join(response.streaming_content)


def _detail(response, status) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["detail"]


def test_it_streams_an_image_inline(get, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))

    response = get(message.uuid)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline"
    assert response["Content-Length"] == str(len(IMAGE))
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    assert _body(response) == IMAGE
    info, download = fake_graph.requests[-2:]
    assert info.path.endswith(f"/{message.payload['media']['id']}")
    assert download.path == DOWNLOADS + "/"
    assert download.headers["authorization"] == f"Bearer {business.token}"


def test_it_offers_a_document_as_an_attachment_with_its_file_name(
    get, stream, fake_graph, business
):
    media = _media(fake_graph, business, PDF, "application/pdf", filename="Invoice 4001.pdf")
    message = _incoming(stream, "document", media=media)

    response = get(message.uuid)

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Invoice 4001.pdf"'
    assert _body(response) == PDF


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ("Rechnung März.pdf", "attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf"),
        ('../../etc/"passwd"', 'attachment; filename="\\"passwd\\""'),
        ("C:\\Users\\a\\scan.pdf", 'attachment; filename="scan.pdf"'),
        ("bad\r\nSet-Cookie: x=1.pdf", 'attachment; filename="badSet-Cookie: x=1.pdf"'),
        ("..", "inline"),
        ("", "inline"),
    ],
)
def test_it_offers_only_a_safe_file_name(get, stream, fake_graph, business, filename, disposition):
    media = _media(fake_graph, business, PDF, "application/pdf", filename=filename)
    response = get(_incoming(stream, "document", media=media).uuid)
    assert response["Content-Disposition"] == disposition
    _body(response)


def test_it_finds_the_message_by_its_uuid_in_any_letter_case(get, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    response = get(str(message.uuid).upper())
    assert _body(response) == IMAGE


def test_it_serves_a_file_whatsapp_gives_with_a_type_of_its_own(get, stream, fake_graph, business):
    media = _media(fake_graph, business, b"OggS" + bytes(500), "audio/ogg; codecs=opus")
    response = get(_incoming(stream, "audio", media=media).uuid)
    assert response["Content-Type"] == "audio/ogg; codecs=opus"
    _body(response)


def test_it_does_not_pass_on_a_malformed_type(get, stream, fake_graph, business):
    media = _media(fake_graph, business, PDF, "text/html\r\nX-Evil: 1")
    message = _incoming(stream, "document", media={**media, "mime_type": "also bad"})
    response = get(message.uuid)
    assert response["Content-Type"] == "application/octet-stream"
    _body(response)


def test_it_answers_404_for_another_streams_message(get, account, stream, fake_graph, business):
    media = _media(fake_graph, business, IMAGE, "image/png")
    sibling = _incoming(StreamFactory(account=account, name="Other"), media=media)
    foreign = _incoming(StreamFactory(name="Someone else's"), media=media)
    for message in (sibling, foreign):
        assert _detail(get(message.uuid), 404) == (
            "No incoming message with a file has this uuid on this stream."
        )
    assert not [r for r in fake_graph.requests if DOWNLOADS in r.path]


@pytest.mark.parametrize(
    "fields",
    [
        {"direction": Message.Direction.OUTBOUND, "status": Message.Status.SENT},
        {"kind": "text", "media": None},
        {"media": {"mime_type": "image/png"}},
        {"media": {"id": ""}},
        {"media": {"id": 1234}},
        {"media": "1234"},
    ],
    ids=["outbound", "text", "no_id", "empty_id", "numeric_id", "not_an_object"],
)
def test_it_answers_404_for_a_message_without_an_incoming_file(
    get, stream, fake_graph, business, fields
):
    fields = {"media": _media(fake_graph, business, IMAGE, "image/png"), **fields}
    message = _incoming(stream, **fields)
    assert _detail(get(message.uuid), 404).startswith("No incoming message with a file")
    assert [r for r in fake_graph.requests if r.method == "GET"] == []


@pytest.mark.parametrize("value", [str(uuid.uuid4()), "not-a-uuid", "' OR 1=1 --", "x" * 300])
def test_it_answers_404_for_an_unknown_or_malformed_uuid(get, stream, value):
    assert _detail(get(value), 404).startswith("No incoming message with a file")


@pytest.mark.parametrize("authorization", [None, "tp_not-a-token", "Bearer "])
def test_it_needs_the_streams_token(get, stream, fake_graph, business, authorization):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    assert _detail(get(message.uuid, authorization=authorization), 403) == "Not authenticated"


def test_it_answers_another_streams_token_with_404(get, account, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    other = StreamFactory(account=account, name="Other", setup_progress=4)
    other_token = stream_services.stream_token_regenerate(stream=other)
    assert _detail(get(message.uuid, authorization=other_token), 404)


@pytest.mark.parametrize("method", ["post", "put", "delete", "head"])
def test_it_only_answers_get(client, token, stream, fake_graph, business, method):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    response = getattr(client, method)(f"/api/media/{message.uuid}/", HTTP_AUTHORIZATION=token)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    if method != "head":
        assert response.json() == {"detail": "Use GET."}


def test_it_answers_502_with_whatsapps_message_when_the_token_is_refused(
    get, stream, fake_graph, business
):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    fake_graph.fail_next(INVALID_TOKEN)
    assert _detail(get(message.uuid), 502) == (
        "WhatsApp did not give the file: Invalid OAuth access token - Cannot parse access token"
    )


def test_it_answers_502_when_the_download_fails(get, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    fake_graph.fail_next(BAD_GATEWAY, path=DOWNLOADS)
    assert _detail(get(message.uuid), 502) == (
        "WhatsApp did not give the file: WhatsApp answered HTTP 502"
    )


def test_it_never_shows_the_access_token(get, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    fake_graph.fail_next(status=400, code=190, message=f"Malformed access token {business.token}")
    assert _detail(get(message.uuid), 502) == (
        "WhatsApp did not give the file: Malformed access token [token]"
    )


def test_it_answers_502_for_a_stream_without_a_whatsapp_account(get, stream):
    message = _incoming(stream, media={"id": "1234", "mime_type": "image/jpeg"})
    stream.whatsapp.delete()
    assert _detail(get(message.uuid), 502) == (
        "WhatsApp did not give the file: the stream has no WhatsApp Business Account"
    )


def test_it_answers_410_for_media_whatsapp_no_longer_has(get, stream):
    message = _incoming(stream, media={"id": "1399999999999999", "mime_type": "image/jpeg"})
    detail = _detail(get(message.uuid), 410)
    assert detail.startswith("WhatsApp no longer has this file")
    assert "Object with ID '1399999999999999' does not exist" in detail


def test_it_asks_again_once_for_a_url_that_expired_on_the_way(get, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    fake_graph.fail_next(MEDIA_URL_EXPIRED, path=DOWNLOADS)
    assert _body(get(message.uuid)) == IMAGE
    assert len([r for r in fake_graph.requests if r.path.startswith(DOWNLOADS)]) == 2


def test_it_answers_410_when_every_url_has_expired(get, stream, fake_graph, business):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    fake_graph.media_url_ttl = 0
    assert _detail(get(message.uuid), 410) == (
        "WhatsApp no longer has this file (it keeps received media for a limited time): "
        "The media URL has expired (HTTP 404)"
    )


def _read_until_broken(content, close) -> tuple[bytes, Exception | None]:
    """What a client receives before the server cuts the answer short, and why it did."""
    received = b""
    try:
        for chunk in content:
            received += chunk
    except MediaCorrupted as error:
        return received, error
    finally:
        close()
    return received, None


@pytest.mark.parametrize("body", ["not the picture", "y" * len(IMAGE)], ids=["short", "same_size"])
def test_it_cuts_short_a_file_that_is_not_the_one_whatsapp_described(
    get, stream, fake_graph, business, body
):
    message = _incoming(stream, media=_media(fake_graph, business, IMAGE, "image/png"))
    fake_graph.fail_next(status=200, body=body, content_type="image/png", path=DOWNLOADS)

    response = get(message.uuid)

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(body))
    received, error = _read_until_broken(response.streaming_content, response.close)
    assert "SHA-256" in str(error)
    # The last chunk is held back until the whole file has been checked.
    assert len(received) < len(body)


@pytest.mark.parametrize(
    ("chunks", "length", "error", "received"),
    [
        ([b"abc", b"def"], 6, None, b"abcdef"),
        ([b"abc", b"def"], None, None, b"abcdef"),
        ([], 0, None, b""),
        ([b"", b"abc"], 3, None, b"abc"),
        ([b"abc", b"defg"], 6, "more than the 6 bytes announced", b""),
        ([b"abc", b"de", b"f"], 5, "more than the 5 bytes announced", b"abc"),
        ([b"abc", b"de"], 6, "5 bytes, not the 6 announced", b"abc"),
    ],
)
def test_a_file_is_checked_against_the_length_announced(chunks, length, error, received):
    """When WhatsApp's download has no Content-Length, ``file_size`` is announced instead.
    Only the chunks before the one held back reach the client of a file that fails."""
    download = MediaDownload(chunks)
    checked = _CheckedFile(download, length=length, sha256=None, message_uuid="m")
    got, caught = _read_until_broken(checked, checked.close)
    assert (got, caught and str(caught)) == (received, error)
    assert download.closed


def test_it_streams_a_placeholder_on_a_demo_stream(client, account, whatsapp_access):
    stream = StreamFactory(account=account, is_demo=True, name="Demo")
    wa.whatsapp_settings_save(stream=stream, business_id=DEMO_BUSINESS_ID)
    token = stream_services.stream_token_regenerate(stream=stream)
    message = _incoming(
        stream, media={"id": "demo-media-1", "mime_type": "image/jpeg", "sha256": "ignored"}
    )

    response = client.get(f"/api/media/{message.uuid}/", HTTP_AUTHORIZATION=token)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    body = _body(response)
    assert body == demo_placeholder("demo-media-1")
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    assert response["Content-Length"] == str(len(body))


def test_the_route_is_named():
    message_uuid = uuid.uuid4()
    assert reverse("api_media", args=[message_uuid]) == f"/api/media/{message_uuid}/"


DIGEST = hashlib.sha256(b"file").digest()


@pytest.mark.parametrize(
    ("value", "digest"),
    [
        (DIGEST.hex(), DIGEST),  # GET /{media_id}
        (DIGEST.hex().upper(), DIGEST),
        (base64.b64encode(DIGEST).decode(), DIGEST),  # webhooks
        (base64.urlsafe_b64encode(DIGEST).decode(), DIGEST),
        ("", None),
        ("not a hash", None),
        (base64.b64encode(b"short").decode(), None),
        (None, None),
        (1234, None),
    ],
)
def test_it_reads_metas_sha256_in_either_form(value, digest):
    assert _sha256(value) == digest
