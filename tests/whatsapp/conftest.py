from unittest import mock

import pytest

from tests.factories import whatsapp_stream
from webhooks import services as webhook_services
from whatsapp import tasks


@pytest.fixture
def enqueued(monkeypatch):
    """``webhooks.services.enqueue_event`` replaced by a recorder: what the webhook gets."""
    calls = []

    def record(*, stream, kind, event):
        calls.append({"stream": stream, "kind": kind, "event": event})

    monkeypatch.setattr(webhook_services, "enqueue_event", record)
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
