import pytest

from webhooks import services as webhook_services


@pytest.fixture
def enqueued(monkeypatch):
    """``webhooks.services.enqueue_event`` replaced by a recorder: what the webhook gets."""
    calls = []

    def record(*, stream, kind, event):
        calls.append({"stream": stream, "kind": kind, "event": event})

    monkeypatch.setattr(webhook_services, "enqueue_event", record, raising=False)
    return calls
