import pytest

from tests.factories import StreamFactory


@pytest.fixture
def stream(account, whatsapp_access):
    """The account's Ready stream the webhook belongs to."""
    return StreamFactory(account=account, name="Orders", setup_progress=4)
