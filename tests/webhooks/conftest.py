import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A running customer webhook server on 127.0.0.1 (see receiver.py), which the suite may
    reach: private networks are allowed, as in the suite's settings."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    with Receiver() as running:
        yield running
