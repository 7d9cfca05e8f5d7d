import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

from requests.models import PreparedRequest

from webhooks.builder import build_request, sign
from whatsapp.inbound.events import sample_message_event

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FYbo4e6SdFv2yLj3JfN2oVoHsu7aUB"
TIMESTAMP = 1736933400


def _build(*, method="POST", url="https://hooks.example.com/in", headers=(), event=None, **secrets):
    return build_request(
        method=method,
        url=url,
        headers=list(headers),
        event=event if event is not None else {"event": "message.received", "text": "Hi"},
        delivery_id="d-1",
        timestamp=TIMESTAMP,
        **{"signing_secret": SECRET, **secrets},
    )


def _expected_signature(payload: bytes) -> str:
    """The scheme as documented for customers, computed without the code under test."""
    mac = hmac.new(SECRET.encode(), str(TIMESTAMP).encode() + b"." + payload, hashlib.sha256)
    return f"t={TIMESTAMP},v1={mac.hexdigest()}"


def _v1(secret: str, payload: bytes) -> str:
    """Standard Webhooks' v1 as its specification says, without the code under test."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"d-1.{TIMESTAMP}.".encode() + payload
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _standard_headers(payload: bytes) -> list[tuple[str, str]]:
    return [
        ("webhook-id", "d-1"),
        ("webhook-timestamp", str(TIMESTAMP)),
        ("webhook-signature", _v1(SECRET, payload)),
    ]


def test_it_posts_the_event_as_compact_json_with_sorted_keys():
    request = _build(event={"event": "message.received", "reply_to": None, "n": 1})

    assert request.method == "POST"
    assert request.url == "https://hooks.example.com/in"
    assert request.body == b'{"event":"message.received","n":1,"reply_to":null}'


def test_it_sends_post_headers_in_order_with_the_users_headers_kept():
    request = _build(headers=[("Authorization", "Bearer abc"), ("X-Tenant", "7")])

    assert request.headers == [
        ("User-Agent", "TextPeak-Webhooks/1.0"),
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer abc"),
        ("X-Tenant", "7"),
        ("X-TextPeak-Delivery", "d-1"),
        ("X-TextPeak-Signature", _expected_signature(request.body)),
        *_standard_headers(request.body),
    ]


def test_it_signs_the_post_body():
    request = _build()

    assert dict(request.headers)["X-TextPeak-Signature"] == _expected_signature(
        b'{"event":"message.received","text":"Hi"}'
    )


def test_it_signs_the_post_body_the_standard_webhooks_way():
    request = _build()

    assert dict(request.headers)["webhook-signature"] == _v1(
        SECRET, b'{"event":"message.received","text":"Hi"}'
    )


def test_it_signs_with_both_secrets_the_new_one_first_during_an_overlap():
    request = _build(previous_secret=OLD_SECRET)
    headers = dict(request.headers)

    new, old = (
        hmac.new(key.encode(), f"{TIMESTAMP}.".encode() + request.body, hashlib.sha256).hexdigest()
        for key in (SECRET, OLD_SECRET)
    )
    assert headers["X-TextPeak-Signature"] == f"t={TIMESTAMP},v1={new},v1={old}"
    assert headers["webhook-signature"] == (
        f"{_v1(SECRET, request.body)} {_v1(OLD_SECRET, request.body)}"
    )


def test_it_keys_an_older_url_safe_secret_with_its_own_random_bytes():
    key = bytes(range(200, 232))
    legacy = "whsec_" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "-" in legacy or "_" in legacy.removeprefix("whsec_")

    request = _build(signing_secret=legacy)

    signed = f"d-1.{TIMESTAMP}.".encode() + request.body
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert dict(request.headers)["webhook-signature"] == f"v1,{digest}"


def test_it_masks_every_signature_for_the_log():
    request = _build(previous_secret=OLD_SECRET).masked()
    headers = dict(request.headers)

    assert headers["X-TextPeak-Signature"] == f"t={TIMESTAMP},v1=********,v1=********"
    assert headers["webhook-signature"] == "v1,******** v1,********"


def test_it_appends_the_event_to_the_existing_query_on_get():
    request = _build(
        method="GET",
        url="https://hooks.example.com/in?token=abc&mode=a+b",
        event={"event": "message.received", "text": "Hi there?"},
    )

    assert request.url == (
        "https://hooks.example.com/in?token=abc&mode=a+b&event=message.received&text=Hi+there%3F"
    )


def test_it_flattens_nested_fields_with_dots_and_skips_none_on_get():
    event = {
        "type": "location",
        "reply_to": None,
        "forwarded": False,
        "location": {"latitude": 52.52, "longitude": 13.405, "name": None},
        "buttons": ["Yes", "No"],
    }

    request = _build(method="GET", event=event)

    assert parse_qsl(urlsplit(request.url).query) == [
        ("buttons.0", "Yes"),
        ("buttons.1", "No"),
        ("forwarded", "false"),
        ("location.latitude", "52.52"),
        ("location.longitude", "13.405"),
        ("type", "location"),
    ]


def test_it_sends_no_body_and_no_content_type_on_get():
    request = _build(method="GET", headers=[("X-Tenant", "7")])

    assert request.body == b""
    assert [name for name, _ in request.headers] == [
        "User-Agent",
        "X-Tenant",
        "X-TextPeak-Delivery",
        "X-TextPeak-Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ]


def test_it_signs_the_get_query_string():
    request = _build(method="GET", url="https://hooks.example.com/in?token=abc")

    query = b"token=abc&event=message.received&text=Hi"
    assert dict(request.headers)["X-TextPeak-Signature"] == _expected_signature(query)
    assert dict(request.headers)["webhook-signature"] == _v1(SECRET, query)


def test_it_builds_a_get_url_that_requests_sends_unchanged():
    request = _build(
        method="GET",
        url="https://hooks.example.com/in?token=abc",
        event=sample_message_event(stream_uid="5b0c3c52-6f7a-4a57-9e53-0f2b1c9d8e7a"),
    )
    prepared = PreparedRequest()

    prepared.prepare_url(request.url, None)

    assert prepared.url == request.url


def test_it_lets_the_users_user_agent_replace_ours():
    request = _build(headers=[("user-agent", "Acme/2")])

    assert [header for header in request.headers if header[0].lower() == "user-agent"] == [
        ("user-agent", "Acme/2")
    ]


def test_it_drops_a_fragment_that_http_never_sends():
    assert _build(url="https://hooks.example.com/in#top").url == "https://hooks.example.com/in"


def test_it_shows_the_request_as_http_text():
    request = _build(
        url="https://hooks.example.com:8443/in?token=abc",
        headers=[("X-Tenant", "7")],
        event={"event": "message.received", "media": {"url": "https://example.com/a.jpg"}},
    )

    assert request.as_text() == (
        "POST /in?token=abc HTTP/1.1\n"
        "Host: hooks.example.com:8443\n"
        "User-Agent: TextPeak-Webhooks/1.0\n"
        "Content-Type: application/json\n"
        "X-Tenant: 7\n"
        "X-TextPeak-Delivery: d-1\n"
        f"X-TextPeak-Signature: {_expected_signature(request.body)}\n"
        "webhook-id: d-1\n"
        f"webhook-timestamp: {TIMESTAMP}\n"
        f"webhook-signature: {_v1(SECRET, request.body)}\n"
        "\n"
        "{\n"
        '  "event": "message.received",\n'
        '  "media": {\n'
        '    "url": "https://example.com/a.jpg"\n'
        "  }\n"
        "}"
    )


def test_it_shows_a_get_request_without_a_body():
    request = _build(method="GET", url="https://hooks.example.com", event={"text": "Hi"})

    assert request.as_text() == (
        "GET /?text=Hi HTTP/1.1\n"
        "Host: hooks.example.com\n"
        "User-Agent: TextPeak-Webhooks/1.0\n"
        "X-TextPeak-Delivery: d-1\n"
        f"X-TextPeak-Signature: {_expected_signature(b'text=Hi')}\n"
        "webhook-id: d-1\n"
        f"webhook-timestamp: {TIMESTAMP}\n"
        f"webhook-signature: {_v1(SECRET, b'text=Hi')}"
    )


def test_it_keeps_non_ascii_text_in_the_post_body():
    request = _build(event={"text": "Grüße 👋"})

    assert request.body == '{"text":"Grüße 👋"}'.encode()
    assert '"text": "Grüße 👋"' in request.as_text()


def test_it_percent_encodes_non_ascii_text_as_utf8_on_get():
    request = _build(method="GET", url="https://hooks.example.com/in", event={"text": "Grüße"})

    assert request.url == "https://hooks.example.com/in?text=Gr%C3%BC%C3%9Fe"


def test_it_builds_the_same_sample_event_every_time():
    assert sample_message_event(stream_uid="s-1") == sample_message_event(stream_uid="s-1")


def test_it_builds_a_sample_incoming_text_message():
    event = sample_message_event(stream_uid="s-1", destination_number="4930123456")

    assert event == {
        "event": "message.received",
        "stream_id": "s-1",
        "message_uuid": "3f6c2b9e-5d1a-4c8e-9b7f-2a4d6e8c0b1f",
        "conversation_uuid": "8a1e4c7d-2b5f-4e9a-b3c6-7d0f1e2a5b8c",
        "received_at": "2025-01-15T09:30:00Z",
        "source_number": "4915112345678",
        "destination_number": "4930123456",
        "contact_name": "Anna Schmidt",
        "type": "text",
        "text": "Hi! Is my order on its way?",
        "reply_to": None,
    }


def test_it_formats_signatures_with_timestamp_and_hex_digest():
    assert sign(secret=SECRET, timestamp=TIMESTAMP, payload=b"{}") == _expected_signature(b"{}")
