import pytest

from tests.factories import StreamFactory


@pytest.fixture
def stream(account):
    """The account's Ready stream the webhook belongs to."""
    return StreamFactory(account=account, name="Orders", setup_progress=4)
