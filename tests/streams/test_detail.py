import pytest
from django.urls import reverse

from tests.factories import StreamFactory

pytestmark = pytest.mark.django_db


def test_it_shows_the_stream_to_a_member_of_its_account(client, teammate, account, whatsapp_access):
    stream = StreamFactory(account=account, name="Orders", description="Shipping notices")
    client.force_login(teammate)
    page = client.get(reverse("streams:detail", args=[stream.uid])).content.decode()
    assert "Orders" in page
    assert "Shipping notices" in page


def test_it_returns_404_to_a_member_of_another_account(client, outsider, account):
    stream = StreamFactory(account=account)
    client.force_login(outsider)
    response = client.get(reverse("streams:detail", args=[stream.uid]))
    assert response.status_code == 404
    assert stream.name not in response.content.decode()


def test_it_returns_404_for_an_unknown_stream(owner_client):
    url = reverse("streams:detail", args=["00000000-0000-0000-0000-000000000000"])
    assert owner_client.get(url).status_code == 404


def test_it_returns_404_for_an_unknown_stream_type(owner_client):
    assert owner_client.get(reverse("streams:create", args=["carrier-pigeon"])).status_code == 404
