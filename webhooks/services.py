"""Writes for customer webhook endpoints, and the request preview they share with deliveries."""

from django.db import transaction

from streams.models import Stream
from webhooks.builder import WebhookRequest, build_request, sample_event
from webhooks.models import WebhookEndpoint


@transaction.atomic
def webhook_save(
    *, stream: Stream, method: str, url: str, headers: list[tuple[str, str]]
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    if endpoint is None:
        endpoint = WebhookEndpoint(stream=stream)
        endpoint.rotate_signing_secret()
    endpoint.method = method
    endpoint.url = url
    endpoint.set_headers(headers)
    endpoint.save()
    return endpoint


def webhook_delete(*, stream: Stream) -> None:
    WebhookEndpoint.objects.filter(stream=stream).delete()


# Previews are signed at the sample message's fixed time, so one copied from the page is
# stale (and easy to tell apart) for any receiver that checks the timestamp.
PREVIEW_TIMESTAMP = 1736933400  # 2025-01-15T09:30:00Z, the sample event's received_at
PREVIEW_SECRET = "whsec_preview"  # noqa: S105 (a placeholder until the webhook has its own)


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
        event=sample_event(stream_uid=str(stream.uid)),
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
