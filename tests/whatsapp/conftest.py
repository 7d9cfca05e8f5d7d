"""The fake Graph API, for tests of code that talks to WhatsApp."""

import pytest

from whatsapp.fake_graph import FakeGraph


@pytest.fixture
def fake_graph(settings):
    """A running fake Graph API that ``whatsapp.client`` is pointed at.

    One business is seeded with the defaults of ``FakeGraph.add_business``: ``fake_graph.business``
    gives its ``waba_id``, ``token``, phone numbers and templates. Add more with ``add_business``.
    """
    with FakeGraph() as fake:
        fake.add_business()
        settings.WHATSAPP_GRAPH_URL = fake.url
        yield fake
