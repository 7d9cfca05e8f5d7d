"""Reads of webhooks that other apps ask for."""

from streams.models import Stream
from webhooks.models import WebhookEndpoint


def disabled_endpoint(*, stream: Stream) -> WebhookEndpoint | None:
    """The stream's webhook when it is disabled (after days of failed deliveries), else None."""
    return WebhookEndpoint.objects.filter(stream=stream, enabled=False).first()
