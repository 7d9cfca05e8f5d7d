"""A send by ``media.url`` with ``"fetch": true``: the worker fetches the file itself, guarded
as webhook deliveries are, checks it against WhatsApp's limits, uploads it and sends it by the
media id. The customer's file server is the loopback receiver of tests/webhooks (the suite's
settings allow private networks; the tests of the guard turn that off)."""

import time

import pytest

from tests.factories import contact_wrote, whatsapp_stream
from whatsapp.models import Message
from whatsapp.outbox import send
from whatsapp.outbox.accept import messages_accept
from whatsapp.selectors import message_statuses
from whatsapp.uploads import services as uploads

pytestmark = pytest.mark.django_db

SENDER = "15550001111"
RECIPIENT = "4915112345678"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    """A real stream whose recipient has written: its service window is open."""
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    contact_wrote(stream, RECIPIENT)
    return stream


def _queue(stream, *items) -> list[Message]:
    full = [{"sender": SENDER, "recipient_phone": RECIPIENT, **item} for item in items]
    _, results = messages_accept(stream=stream, items=full)
    assert [r.error for r in results] == [None] * len(items), results
    return [Message.objects.get(uuid=r.message_uuid) for r in results]


def _fetched(stream, url, kind="image", **media) -> Message:
    [message] = _queue(stream, {"type": kind, "media": {"url": url, "fetch": True, **media}})
    send.messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    return message


def _failed(message) -> tuple[str, str]:
    assert message.status == Message.Status.SENT_FAILED
    return message.error_code, message.error_message


def test_it_fetches_the_file_uploads_it_and_sends_it_by_its_media_id(stream, fake_graph, receiver):
    receiver.answer(200, body=PNG)

    message = _fetched(stream, receiver.url("/parcel.png"), caption="Your parcel")

    assert message.status == Message.Status.SENT
    [upload] = fake_graph.uploads
    assert (upload.data, upload.mime_type) == (PNG, "image/png")
    assert fake_graph.sent[-1].payload["image"] == {"id": upload.id, "caption": "Your parcel"}
    assert [r.path for r in receiver.requests] == ["/parcel.png"]


def test_it_uploads_the_file_as_its_bytes_say_not_as_its_server_does(stream, fake_graph, receiver):
    receiver.answer(200, body=b"%PDF-1.7\n" + b"invoice " * 50)  # served as text/plain

    message = _fetched(stream, receiver.url("/i"), kind="document", filename="invoice.pdf")

    assert message.status == Message.Status.SENT
    assert fake_graph.uploads[0].mime_type == "application/pdf"
    assert fake_graph.sent[-1].payload["document"]["filename"] == "invoice.pdf"


def test_it_refuses_to_fetch_from_a_private_address(stream, fake_graph, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    message = _fetched(stream, receiver.url("/parcel.png", host="localhost"))

    code, error = _failed(message)
    assert code == "MEDIA_URL_REFUSED"
    assert error.startswith("localhost resolves to ")
    assert "files are only fetched from public addresses" in error
    assert receiver.requests == []
    assert fake_graph.uploads == []
    assert fake_graph.sent == []


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.7", "[::1]"])
def test_it_refuses_metadata_and_private_addresses_without_connecting(
    stream, fake_graph, settings, host
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    code, error = _failed(_fetched(stream, f"http://{host}/latest/meta-data/"))

    assert code == "MEDIA_URL_REFUSED"
    assert "a private, loopback, link-local or reserved address" in error


def test_it_shows_why_in_the_status_api(stream, fake_graph, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    message = _fetched(stream, "http://169.254.169.254/a.png")

    [status] = message_statuses(stream=stream, uuids=[str(message.uuid)])

    assert status["status"] == "sent_failed"
    assert status["error"]["code"] == "MEDIA_URL_REFUSED"
    assert "169.254.169.254 resolves to 169.254.169.254" in status["error"]["message"]


def test_it_does_not_follow_a_redirect(stream, fake_graph, receiver):
    receiver.redirect(receiver.url("/elsewhere.png"))

    code, error = _failed(_fetched(stream, receiver.url("/parcel.png")))

    assert code == "MEDIA_FETCH_FAILED"
    assert error == (
        "The file could not be fetched: its server answered HTTP 302 (redirects are not followed)."
    )
    assert [r.path for r in receiver.requests] == ["/parcel.png"]


def test_it_fails_a_message_whose_file_is_not_there(stream, fake_graph, receiver):
    receiver.answer(404, body=b"Not Found")

    code, error = _failed(_fetched(stream, receiver.url("/gone.png")))

    assert code == "MEDIA_FETCH_FAILED"
    assert "HTTP 404" in error


def test_it_fails_a_message_whose_file_is_too_big_for_its_type(stream, fake_graph, receiver):
    receiver.answer(200, body=PNG + b"\x00" * (5 * 1024 * 1024))

    code, error = _failed(_fetched(stream, receiver.url("/big.png")))

    assert (code, error) == (
        "MEDIA_TOO_LARGE",
        "The fetched file is over 5 MB: WhatsApp takes images up to 5 MB.",
    )
    assert fake_graph.uploads == []


def test_it_stops_reading_an_endless_file_at_the_limit(stream, fake_graph, receiver):
    receiver.endless()

    code, _ = _failed(_fetched(stream, receiver.url("/endless"), kind="video"))

    assert code == "MEDIA_TOO_LARGE"


def test_it_fails_a_message_whose_file_is_of_another_type(stream, fake_graph, receiver):
    receiver.answer(200, body=b"<html><body>Log in</body></html>")

    code, error = _failed(_fetched(stream, receiver.url("/login")))

    assert code == "MEDIA_TYPE_NOT_ALLOWED"
    assert error.startswith("The fetched file is not of a type WhatsApp takes for images")
    assert fake_graph.uploads == []


def test_a_slow_file_server_holds_back_no_other_message_of_the_batch(
    stream, fake_graph, receiver, monkeypatch
):
    monkeypatch.setattr(uploads, "FETCH_TIMEOUT", 1.0)
    receiver.answer(200, body=PNG, delay=3)
    slow, text = _queue(
        stream,
        {"type": "image", "media": {"url": receiver.url("/slow.png"), "fetch": True}},
        {"type": "text", "message_content": "Meanwhile"},
    )
    started = time.time()

    send.messages_send(message_ids=[slow.pk, text.pk])

    [sent] = fake_graph.sent
    assert sent.payload["text"]["body"] == "Meanwhile"
    assert sent.at - started < 0.9
    slow.refresh_from_db()
    code, error = _failed(slow)
    assert code == "MEDIA_FETCH_FAILED"
    assert "Timed out" in error
