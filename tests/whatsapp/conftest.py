from unittest import mock

import pytest

from tests.factories import whatsapp_stream
from webhooks import services as webhook_services
from whatsapp import tasks


@pytest.fixture
def enqueued(monkeypatch):
    """``webhooks.services.webhook_events_enqueue`` replaced by a recorder: what the webhook
    gets, one entry an event."""
    calls = []

    def record(*, stream, kind, events):
        calls.extend({"stream": stream, "kind": kind, "event": event} for event in events)
        return []

    monkeypatch.setattr(webhook_services, "webhook_events_enqueue", record)
    return calls


@pytest.fixture
def demo_stream(account, whatsapp_access):
    """A Ready Demo Sending stream of the account."""
    return whatsapp_stream(account=account, name="Demo")


@pytest.fixture
def demo_statuses(monkeypatch):
    """``simulate_demo_statuses.apply_async`` replaced by a mock: the steps scheduled."""
    scheduled = mock.Mock()
    monkeypatch.setattr(tasks.simulate_demo_statuses, "apply_async", scheduled)
    return scheduled
