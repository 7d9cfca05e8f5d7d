"""Real deliveries verified as a customer would: with the off-the-shelf ``standardwebhooks``
package, and with the README's check of X-TextPeak-Signature; a rotated secret keeps signing
beside the new one for 24 hours, then only the new one signs."""

import base64
import hashlib
import hmac
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from textpeak.lib import crypto
from webhooks import deliveries, services
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

EVENT = {
    "event": "message.received",
    "stream_id": "stream-uid",
    "message_uuid": "00000000-0000-4000-8000-000000000001",
    "type": "text",
    "text": "Grüße 👋",
}


@pytest.fixture
def endpoint(stream, receiver):
    return services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/hook"), headers=[]
    )


@pytest.fixture
def clock(monkeypatch):
    """``clock.move(delta)``: timezone.now runs ``delta`` away from the real time."""

    class Clock:
        offset = timedelta()

        def move(self, delta: timedelta) -> None:
            self.offset = delta

    clock = Clock()
    real = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real() + clock.offset)
    return clock


def _deliver(stream, receiver):
    """One real delivery of EVENT, as the customer's server received it."""
    [delivery] = services.webhook_events_enqueue(stream=stream, kind="message", events=[EVENT])
    deliveries.deliveries_send(delivery_ids=[delivery.pk])
    received = receiver.requests[-1]
    return received, delivery


def _headers(received) -> dict[str, str]:
    return dict(received.headers.items())


def _verifies(secret: str, received) -> bool:
    try:
        Webhook(secret).verify(received.body, _headers(received))
    except WebhookVerificationError:
        return False
    return True


def _ours_verifies(secret: str, received) -> bool:
    """The README's check of X-TextPeak-Signature, accepting any v1."""
    fields = [part.split("=", 1) for part in received.headers["X-TextPeak-Signature"].split(",")]
    timestamp = next(value for name, value in fields if name == "t")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, value in fields if name == "v1")


def _rotate(endpoint) -> tuple[str, str]:
    old = endpoint.signing_secret()
    services.webhook_rotate_secret(endpoint=endpoint)
    endpoint.refresh_from_db()
    return old, endpoint.signing_secret()


# The library verifies real deliveries


def test_the_standardwebhooks_package_verifies_a_real_delivery(stream, endpoint, receiver):
    received, delivery = _deliver(stream, receiver)

    payload = Webhook(endpoint.signing_secret()).verify(received.body, _headers(received))

    assert payload == EVENT
    assert received.headers["webhook-id"] == str(delivery.uid)


def test_it_sends_the_same_webhook_id_on_a_retry_with_the_attempts_own_timestamp(
    stream, endpoint, receiver, clock
):
    receiver.answer(500)
    received, delivery = _deliver(stream, receiver)
    clock.move(timedelta(minutes=2))

    deliveries.deliveries_send(delivery_ids=[delivery.pk])

    retried = receiver.requests[-1]
    assert len(receiver.requests) == 2
    assert retried.headers["webhook-id"] == received.headers["webhook-id"] == str(delivery.uid)
    assert int(retried.headers["webhook-timestamp"]) >= int(received.headers["webhook-timestamp"])
    assert _verifies(endpoint.signing_secret(), retried)


def test_the_package_verifies_a_get_delivery_over_its_raw_query_string(stream, receiver):
    endpoint = services.webhook_save(
        stream=stream, method="GET", url=receiver.url("/hook?src=tp"), headers=[]
    )

    received, _ = _deliver(stream, receiver)

    assert received.body == b""
    Webhook(endpoint.signing_secret()).verify(received.query, _headers(received), json_parse=False)


def test_the_package_refuses_a_tampered_body(stream, endpoint, receiver):
    received, _ = _deliver(stream, receiver)
    tampered = received.body.replace(b"Gr\xc3\xbc\xc3\x9fe", b"Hallo")
    assert tampered != received.body

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(endpoint.signing_secret()).verify(tampered, _headers(received))


def test_the_package_refuses_a_delivery_replayed_after_six_minutes(
    stream, endpoint, receiver, clock
):
    # Signed six minutes ago: what an attacker who captured it would replay now.
    clock.move(-timedelta(minutes=6))

    received, _ = _deliver(stream, receiver)

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint.signing_secret()).verify(received.body, _headers(received))


def test_the_package_refuses_another_endpoints_secret(stream, endpoint, receiver):
    received, _ = _deliver(stream, receiver)
    other = WebhookEndpoint()
    other.rotate_signing_secret()

    assert not _verifies(other.signing_secret(), received)


def test_new_secrets_are_standard_base64_of_32_random_bytes(endpoint):
    secret = endpoint.signing_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert endpoint.has_standard_secret()


# Rotation with overlap


def test_both_secrets_verify_a_delivery_during_the_overlap(stream, endpoint, receiver, clock):
    # Rotated 23 h 59 min ago (the delivery's timestamp is now, as the package wants it).
    clock.move(-timedelta(hours=23, minutes=59))
    old, new = _rotate(endpoint)
    clock.move(timedelta())

    received, _ = _deliver(stream, receiver)

    assert _verifies(new, received)
    assert _verifies(old, received)
    assert _ours_verifies(new, received)
    assert _ours_verifies(old, received)
    assert received.headers["webhook-signature"].count("v1,") == 2
    assert received.headers["X-TextPeak-Signature"].count("v1=") == 2


def test_only_the_new_secret_verifies_after_the_overlap(stream, endpoint, receiver, clock):
    clock.move(-timedelta(hours=24, seconds=1))
    old, new = _rotate(endpoint)
    clock.move(timedelta())

    received, _ = _deliver(stream, receiver)

    assert _verifies(new, received)
    assert _ours_verifies(new, received)
    assert not _verifies(old, received)
    assert not _ours_verifies(old, received)


def test_a_second_rotation_stops_the_secret_the_first_replaced(stream, endpoint, receiver):
    first, second = _rotate(endpoint)
    _, third = _rotate(endpoint)

    received, _ = _deliver(stream, receiver)

    assert _verifies(third, received)
    assert _verifies(second, received)
    assert not _verifies(first, received)


def test_a_webhook_keeps_its_older_url_safe_secret_and_its_signature(stream, endpoint, receiver):
    # A secret as they were made before Standard Webhooks: whsec_ + secrets.token_urlsafe(32).
    key = bytes(range(224, 256))
    legacy = "whsec_" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    endpoint.signing_secret_encrypted = crypto.encrypt(legacy)
    endpoint.save()

    received, _ = _deliver(stream, receiver)

    assert _ours_verifies(legacy, received)
    assert not endpoint.has_standard_secret()
    # The library verifies with the secret's own 32 bytes, as given to it.
    Webhook(key).verify(received.body, _headers(received))


# The README's snippets, run against a real delivery during an overlap


def _readme_snippets() -> list[str]:
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text[text.index("A receiver accepts a request when any `v1`") :]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[:2]


@pytest.mark.parametrize("secret_of", ["new", "old"])
def test_the_readmes_snippets_verify_a_real_delivery_with_either_secret(
    stream, endpoint, receiver, secret_of
):
    old, new = _rotate(endpoint)
    received, _ = _deliver(stream, receiver)
    names = {
        "secret": {"new": new, "old": old}[secret_of],
        "raw_body": received.body,
        "request_headers": _headers(received),
        "header": received.headers["X-TextPeak-Signature"],
    }

    for snippet in _readme_snippets():
        exec(snippet, dict(names))  # noqa: S102 (the README's own code)


def test_the_readmes_snippets_refuse_a_tampered_body(stream, endpoint, receiver):
    received, _ = _deliver(stream, receiver)
    names = {
        "secret": endpoint.signing_secret(),
        "raw_body": received.body + b" ",
        "request_headers": _headers(received),
        "header": received.headers["X-TextPeak-Signature"],
    }

    library, plain = _readme_snippets()
    with pytest.raises(WebhookVerificationError):
        exec(library, dict(names))  # noqa: S102
    with pytest.raises(AssertionError):
        exec(plain, dict(names))  # noqa: S102
