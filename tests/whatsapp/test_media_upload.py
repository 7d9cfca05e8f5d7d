"""POST /api/whatsapp/media/: a client's file, checked as WhatsApp checks it and uploaded for
one of the stream's senders."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import whatsapp_stream
from whatsapp.api.upload import MAX_BODY_BYTES
from whatsapp.testing.fake_graph import INVALID_TOKEN

pytestmark = pytest.mark.django_db

URL = "/api/whatsapp/media/"
SENDER = "15550001111"  # the fake business's number
DEMO_SENDER = "15550100100"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000
PDF = b"%PDF-1.7\n" + b"invoice " * 100


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    return whatsapp_stream(account=account, fake_graph=fake_graph)


@pytest.fixture
def upload(client, token):
    """POST a multipart form with the stream's token: ``file`` as (name, bytes, content type)."""

    def post(file=("parcel.png", PNG, "image/png"), *, sender=SENDER, authorization=token):
        data = {"sender": sender}
        if file is not None:
            data["file"] = SimpleUploadedFile(*file)
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        return client.post(URL, data, **headers)

    return post


def _refused(response, status, error) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error
    return body["detail"]


def test_it_uploads_a_file_and_answers_its_media_id(upload, stream, fake_graph):
    response = upload()

    assert response.status_code == 200, response.content
    [uploaded] = fake_graph.uploads
    assert response.json() == {"media_id": uploaded.id, "mime_type": "image/png", "size": len(PNG)}
    assert uploaded.data == PNG


def test_it_uploads_for_the_senders_phone_number_as_meta_documents(upload, stream, fake_graph):
    upload()

    [request] = [r for r in fake_graph.requests if r.path.endswith("/media")]
    assert request.path.endswith(f"/{fake_graph.business.phone_numbers[0]['id']}/media")
    assert request.headers["authorization"] == f"Bearer {fake_graph.business.token}"
    assert request.form["messaging_product"] == "whatsapp"
    assert request.form["type"] == "image/png"
    assert request.form["file"] == ("parcel.png", "image/png", PNG)


def test_it_takes_the_type_from_the_files_bytes_not_its_content_type(upload, stream, fake_graph):
    response = upload(("photo.pdf", JPEG, "application/pdf"))

    assert response.json()["mime_type"] == "image/jpeg"
    assert fake_graph.uploads[0].mime_type == "image/jpeg"


def test_it_refuses_a_file_whose_bytes_are_not_of_the_type_it_claims(upload, stream, fake_graph):
    program = b"MZ\x90\x00" + b"\x00" * 2000

    detail = _refused(upload(("cat.png", program, "image/png")), 400, "MEDIA_TYPE_NOT_ALLOWED")

    assert "not of a type WhatsApp takes (by its content)" in detail
    assert fake_graph.uploads == []


def test_it_refuses_an_image_over_5_mb_naming_the_limit(upload, stream, fake_graph):
    big = JPEG + b"\x00" * int(5.2 * 1024 * 1024)

    detail = _refused(upload(("big.jpg", big, "image/jpeg")), 413, "MEDIA_TOO_LARGE")

    assert detail == "file is 5.2 MB: WhatsApp takes images up to 5 MB."
    assert fake_graph.uploads == []


def test_it_refuses_a_static_sticker_over_100_kb(upload, stream, fake_graph):
    webp = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * (120 * 1024)

    detail = _refused(upload(("s.webp", webp, "image/webp")), 413, "MEDIA_TOO_LARGE")

    assert detail.endswith("WhatsApp takes static stickers up to 100 KB.")


def test_it_streams_a_file_larger_than_djangos_memory_limit(upload, stream, fake_graph, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    document = PDF + b"x" * (3 * 1024 * 1024)

    response = upload(("report.pdf", document, "application/pdf"))

    assert response.status_code == 200, response.content
    assert fake_graph.uploads[0].data == document


def test_it_refuses_a_body_over_the_largest_file_before_reading_it(client, token, stream):
    response = client.post(
        URL,
        b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        HTTP_AUTHORIZATION=token,
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
    )

    assert _refused(response, 413, "MEDIA_TOO_LARGE").startswith("The body is larger than")


def test_it_refuses_a_sender_that_is_not_the_streams(upload, stream, fake_graph):
    detail = _refused(upload(sender="4915100000000"), 400, "UNKNOWN_SENDER")

    assert detail == "sender must be one of the stream's sender numbers."
    assert fake_graph.uploads == []


def test_it_refuses_another_streams_token_for_this_streams_sender(
    client, account, stream, fake_graph
):
    from streams.services import stream_token_regenerate

    other = whatsapp_stream(account=account, name="Other")  # a demo stream, another sender
    response = client.post(
        URL,
        {"sender": SENDER, "file": SimpleUploadedFile("a.png", PNG, "image/png")},
        HTTP_AUTHORIZATION=stream_token_regenerate(stream=other),
    )

    _refused(response, 400, "UNKNOWN_SENDER")
    assert fake_graph.uploads == []


def test_it_needs_the_streams_token(upload, stream, fake_graph):
    response = upload(authorization=None)

    assert response.status_code == 403
    assert fake_graph.uploads == []


def test_it_needs_one_file(upload, stream):
    detail = _refused(upload(file=None), 400, "INVALID_REQUEST")
    assert detail == "Send one file, in the field “file”."


def test_it_refuses_a_json_body(client, token, stream):
    response = client.post(
        URL, {"sender": SENDER}, content_type="application/json", HTTP_AUTHORIZATION=token
    )
    assert _refused(response, 400, "INVALID_REQUEST") == "Send the file as multipart/form-data."


def test_it_only_answers_post(client, token, stream):
    response = client.get(URL, HTTP_AUTHORIZATION=token)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_it_answers_502_with_whatsapps_message_when_the_upload_is_refused(
    upload, stream, fake_graph
):
    fake_graph.fail_next(INVALID_TOKEN, path="/media")

    detail = _refused(upload(), 502, "WHATSAPP_ERROR")

    assert detail.startswith("WhatsApp did not take the file: Invalid OAuth access token")


def test_a_demo_stream_answers_a_made_up_media_id(client, account, whatsapp_access):
    from streams.services import stream_token_regenerate

    demo = whatsapp_stream(account=account, name="Demo")
    response = client.post(
        URL,
        {"sender": DEMO_SENDER, "file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")},
        HTTP_AUTHORIZATION=stream_token_regenerate(stream=demo),
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["media_id"].startswith("demo-")
    assert (body["mime_type"], body["size"]) == ("application/pdf", len(PDF))
