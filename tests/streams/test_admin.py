import pytest
from django.urls import reverse

from streams.services import stream_delete
from tests.factories import StreamFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:streams_stream_changelist")


@pytest.fixture
def deleted(account):
    stream = StreamFactory(account=account, name="Old campaign", status="draft")
    stream_delete(stream=stream)
    return stream


@pytest.fixture
def live(account):
    return StreamFactory(account=account, name="Orders", status="draft")


def _rows(response):
    return {stream.name: stream for stream in response.context["cl"].result_list}


def test_it_shows_a_deleted_stream_as_deleted(support_client, deleted, live):
    page = support_client.get(CHANGELIST).content.decode()
    assert '<td class="field-state">Deleted (was Draft)</td>' in page
    assert '<td class="field-state">Draft</td>' in page


def test_it_filters_streams_by_deleted(support_client, deleted, live):
    page = support_client.get(CHANGELIST).content.decode()
    assert "By deleted" in page
    assert set(_rows(support_client.get(CHANGELIST, {"deleted": "yes"}))) == {"Old campaign"}
    assert set(_rows(support_client.get(CHANGELIST, {"deleted": "no"}))) == {"Orders"}


def test_it_shows_the_stream_types_name(support_client, live):
    page = support_client.get(CHANGELIST).content.decode()
    assert '<td class="field-type_label">WhatsApp</td>' in page
    assert ">whatsapp<" not in page


def test_it_filters_streams_by_the_types_name(support_client, live):
    changelist = support_client.get(CHANGELIST).context["cl"]
    (by_type,) = [spec for spec in changelist.filter_specs if spec.title == "type"]
    choices = [choice["display"] for choice in by_type.choices(changelist)]
    assert choices == ["All", "WhatsApp"]
    assert set(_rows(support_client.get(CHANGELIST, {"type": "whatsapp"}))) == {"Orders"}


def test_a_streams_page_shows_its_type_and_state_by_name(support_client, deleted):
    page = support_client.get(reverse("admin:streams_stream_change", args=[deleted.id]))
    content = page.content.decode()
    assert page.status_code == 200
    assert '<div class="readonly">WhatsApp</div>' in content
    assert '<div class="readonly">Deleted (was Draft)</div>' in content


def test_streams_cannot_be_added_in_admin_even_by_a_superuser(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:streams_stream_add")).status_code == 403


def test_it_refuses_an_ip_acl_entry_with_host_bits_set_in_admin(client, live):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:streams_stream_change", args=[live.pk]),
        {
            "account": live.account_id,
            "name": live.name,
            "description": "",
            "status": live.status,
            "ip_acl_enabled": "on",
            "allowed_networks": '["10.1.2.3/8"]',
            "setup_progress": 0,
        },
    )
    assert response.status_code == 200
    assert "10.1.2.3/8 has host bits set: did you mean 10.0.0.0/8?" in response.content.decode()
    live.refresh_from_db()
    assert live.allowed_networks == []
