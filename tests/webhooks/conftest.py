import pytest

from tests.factories import StreamFactory
from webhooks import tasks


@pytest.fixture
def stream(account, whatsapp_access):
    """The account's Ready stream the webhook belongs to."""
    return StreamFactory(account=account, name="Orders", setup_progress=4)


@pytest.fixture
def published_task():
    """Webhook deliveries go to ``send_deliveries``."""
    return tasks.send_deliveries
