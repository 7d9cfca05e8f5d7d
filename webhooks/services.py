"""Writes for customer webhook endpoints and their deliveries, and the request preview they
share with deliveries."""

import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from streams import types
from streams.models import Stream
from textpeak.lib import ratelimit
from textpeak.lib.local_cache import LocalCache
from webhooks import deliveries, transport
from webhooks.builder import WebhookRequest, build_request
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

# What webhook_events_enqueue is told its events are: incoming messages, or status updates of
# sent messages (forwarded only when the webhook has "Send delivery statuses" on).
EVENT_KINDS = ("message", "status")
# Delivery.event of the Test webhook button's deliveries (the request carries the sample
# event, "message.received"), so the log tells them apart from real ones.
TEST_EVENT = "webhook.test"


@transaction.atomic
def webhook_save(
    *,
    stream: Stream,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    send_statuses: bool | None = None,
) -> WebhookEndpoint:
    """Create or update the stream's webhook; ``send_statuses`` None keeps what is stored."""
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    if endpoint is None:
        endpoint = WebhookEndpoint(stream=stream)
        endpoint.rotate_signing_secret()
    endpoint.method = method
    endpoint.url = url
    endpoint.set_headers(headers)
    if send_statuses is not None:
        endpoint.send_statuses = send_statuses
    endpoint.save()
    return endpoint


def webhook_delete(*, stream: Stream) -> None:
    WebhookEndpoint.objects.filter(stream=stream).delete()


# Previews are signed at the sample message's fixed time, so one copied from the page is
# stale (and easy to tell apart) for any receiver that checks the timestamp.
PREVIEW_TIMESTAMP = 1736933400  # 2025-01-15T09:30:00Z, the sample event's received_at
PREVIEW_SECRET = "whsec_preview"  # noqa: S105 (a placeholder until the webhook has its own)


def _sample_event(stream: Stream) -> dict:
    """The event previews and the Test webhook button send: the stream type's own sample."""
    return types.find(stream.type).sample_event(stream)


def preview_request(
    *, stream: Stream, method: str, url: str, headers: list[tuple[str, str]]
) -> WebhookRequest:
    """What a delivery of a sample incoming message would send, signed with the endpoint's
    secret (or a placeholder before the endpoint is first saved)."""
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    return build_request(
        method=method,
        url=url,
        headers=headers,
        signing_secret=endpoint.signing_secret() if endpoint else PREVIEW_SECRET,
        previous_secret=endpoint.previous_signing_secret() if endpoint else "",
        event=_sample_event(stream),
        delivery_id="preview",
        timestamp=PREVIEW_TIMESTAMP,
    )


def webhook_preview(*, stream: Stream) -> WebhookRequest | None:
    """The saved webhook's preview, or None when the stream has no webhook."""
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    if endpoint is None:
        return None
    return preview_request(
        stream=stream, method=endpoint.method, url=endpoint.url, headers=endpoint.headers()
    )


def webhook_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret, the old one still signing beside it for ``SECRET_OVERLAP``.
    Deliveries are signed when sent, so pending ones and retries carry the new secret's
    signature from now on, and the old one's until it expires."""
    endpoint.rotate_signing_secret()
    endpoint.save(
        update_fields=[
            "signing_secret_encrypted",
            "previous_signing_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    return endpoint


def webhook_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn a webhook disabled after days of failures back on, with a clean failure record."""
    endpoint.enabled = True
    endpoint.disabled_at = endpoint.failing_since = None
    endpoint.save(update_fields=["enabled", "disabled_at", "failing_since", "updated_at"])
    return endpoint


# Deliveries


def webhook_events_enqueue(*, stream: Stream, kind: str, events: list[dict]) -> list[Delivery]:
    """Queue ``events``, all of one ``kind``, for the stream's webhook, in the caller's
    transaction, and return their deliveries; none when the stream has no enabled webhook, or
    for statuses when the webhook does not want statuses.

    The deliveries are rows at once (one INSERT for them all), and sending is enqueued after
    the transaction commits, in tasks of ``outbox.BATCH_SIZE``: one Meta POST can carry
    hundreds of messages, handed over in one call, not one task each.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"kind must be one of {EVENT_KINDS}, not {kind!r}")
    if not events:
        return []
    endpoint = _enabled_endpoint(stream)
    if endpoint is None or (kind == "status" and not endpoint.send_statuses):
        return []
    now = timezone.now()
    created = Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint=endpoint,
                event=str(event["event"])[:40],
                payload=event,
                next_attempt_at=now,
                claimed_until=deliveries.broker_hold(now),
                created_at=now,
            )
            for event in events
        ]
    )
    deliveries.deliveries_enqueue([delivery.pk for delivery in created])
    return created


# Meta's callback asks on every POST, so an enabled webhook is also kept a few seconds in the
# process (API_CACHE_SECONDS); "no webhook" is not kept, so one just added gets the next event.
# One just disabled may still be handed a few events, which fail unsent ("the webhook is
# disabled") in its log; a change to its URL or headers is read when each delivery is sent.
_endpoints = LocalCache()


def _enabled_endpoint(stream: Stream) -> WebhookEndpoint | None:
    return _endpoints.get(
        stream.pk,
        lambda: (
            WebhookEndpoint.objects.filter(stream=stream, enabled=True)
            .only("id", "send_statuses")
            .first()
        ),
    )


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery's event again, as a new delivery with the same payload and a new
    X-TextPeak-Delivery id; the original keeps its status and attempts, so the log keeps the
    whole history. Sent to the webhook's current URL and headers (a disabled webhook fails it
    unsent, like any delivery)."""
    now = timezone.now()
    redelivery = Delivery.objects.create(
        endpoint_id=delivery.endpoint_id,
        event=delivery.event,
        payload=delivery.payload,
        next_attempt_at=now,
        claimed_until=deliveries.broker_hold(now),
        created_at=now,
    )
    deliveries.deliveries_enqueue([redelivery.pk])
    return redelivery


class TestRefused(Exception):
    """Test webhook not sent: the message says why, and when to try again, to the user."""


# A test is held this much longer than its transport's timeout: held longer, its process
# died, and the stream's next test may go.
TEST_HOLD_MARGIN_SECONDS = 5


def webhook_test(*, endpoint: WebhookEndpoint) -> DeliveryAttempt:
    """Send the sample event (the preview's) to the webhook now, even a disabled one, and
    record it as a delivery of event `TEST_EVENT` with its one attempt, which is returned for
    inline display. Never retried, and it does not count for the endpoint's failure record.
    Blocks for up to DELIVERY_TIMEOUT_SECONDS.

    A stream sends one test at a time and WEBHOOK_TESTS_PER_MINUTE at most, counted by every
    process together: a test beyond either is not sent, and raises TestRefused. Pressing Test
    again and again must neither flood the customer's server nor tie up the web processes (a
    test holds one until the server answers)."""
    key = f"webhook-test:{endpoint.stream_id}"
    hold = settings.DELIVERY_TIMEOUT_SECONDS + TEST_HOLD_MARGIN_SECONDS
    with ratelimit.one_at_a_time(key, seconds=hold) as held:
        if not held:
            raise TestRefused("A test is already being sent to this webhook: wait for its answer.")
        per_minute = settings.WEBHOOK_TESTS_PER_MINUTE
        slot = ratelimit.reserve(key, rate=per_minute / 60, burst=per_minute)
        if not slot.granted:
            tests = "test" if per_minute == 1 else "tests"
            raise TestRefused(
                f"You can send {per_minute} {tests} a minute: "
                f"try again in {max(1, math.ceil(slot.wait))} s."
            )
        return _test_send(endpoint)


def _test_send(endpoint: WebhookEndpoint) -> DeliveryAttempt:
    now = timezone.now()
    delivery = Delivery(
        endpoint=endpoint,
        event=TEST_EVENT,
        payload=_sample_event(endpoint.stream),
        next_attempt_at=now,
        created_at=now,
    )
    outcome = deliveries.attempt_send(
        delivery, deliveries.signing_for(endpoint), timeout=settings.DELIVERY_TIMEOUT_SECONDS
    )
    delivery.status = Delivery.Status.SUCCEEDED if outcome.succeeded else Delivery.Status.FAILED
    delivery.attempts = 1
    delivery.last_status_code = outcome.status_code
    delivery.last_attempt_at = outcome.started_at
    with transaction.atomic():
        delivery.save()
        attempt = outcome.attempt()
        attempt.delivery = delivery
        attempt.save()
    return attempt


# What file_fetch raises: no HTTP answer (FetchFailed), or a host with a private, loopback,
# link-local or reserved address (FetchRefused, a FetchFailed too).
FetchFailed = transport.DeliveryError
FetchRefused = transport.AddressRefused


def file_fetch(*, url: str, file, timeout: float, max_bytes: int) -> transport.Fetched:
    """GET a customer's file into ``file`` through the webhooks' transport, so that it is
    guarded exactly as deliveries are (public addresses only, after DNS; no redirects), with at
    most ``max_bytes`` and one byte more written within ``timeout`` seconds."""
    return transport.fetch(url, file, timeout=timeout, max_bytes=max_bytes)
