from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from streams.models import Stream
from tests.factories import StreamFactory, TagFactory

pytestmark = pytest.mark.django_db

LIST = reverse("streams:list")


def _streams(account, count, **fields):
    """``count`` streams, created one minute apart, the last one newest."""
    now = timezone.now()
    streams = [StreamFactory(account=account, **fields) for _ in range(count)]
    for age, stream in enumerate(reversed(streams)):
        Stream.objects.filter(id=stream.id).update(created_at=now - timedelta(minutes=age))
    return streams


def _names(response):
    return [stream.name for stream in response.context["page"]]


def test_it_shows_an_empty_state_with_a_call_to_action(owner_client):
    page = owner_client.get(LIST).content.decode()
    assert "No streams yet" in page
    assert "Create Stream API" in page


def test_it_lists_the_columns_of_the_streams_table(owner_client, account):
    StreamFactory(
        account=account,
        name="Orders",
        ip_acl_enabled=True,
        allowed_networks=["203.0.113.7/32", "2001:db8::/48"],
    )
    page = owner_client.get(LIST).content.decode()
    for column in ("Name", "Status", "Tags", "Type", "Allowed IPs", "Created"):
        assert f">{column}</th>" in page
    assert "203.0.113.7<" in page
    assert "2001:db8::/48" in page
    assert "WhatsApp" in page


def test_it_shows_any_address_when_the_acl_is_off(owner_client, account):
    StreamFactory(account=account)
    assert ">Any<" in owner_client.get(LIST).content.decode()


def test_it_lists_newest_first(owner_client, account):
    first, second, third = _streams(account, 3)
    assert _names(owner_client.get(LIST)) == [third.name, second.name, first.name]


def test_it_shows_statuses_as_words(owner_client, account):
    StreamFactory(account=account, status=Stream.Status.DRAFT)
    StreamFactory(account=account, status=Stream.Status.DISABLED)
    StreamFactory(account=account, status=Stream.Status.READY)
    page = owner_client.get(LIST).content.decode()
    for label in ("Draft", "Disabled", "Ready"):
        assert f'">{label}</span>' in page


def test_it_pages_25_streams_at_a_time_with_the_total(owner_client, account):
    streams = _streams(account, 30)
    first = owner_client.get(LIST)
    assert len(_names(first)) == 25
    assert "30 streams" in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    second = owner_client.get(LIST, {"page": 2})
    assert _names(second) == [s.name for s in reversed(streams[:5])]


def test_it_treats_a_page_past_the_end_as_the_last_page(owner_client, account):
    _streams(account, 30)
    assert len(_names(owner_client.get(LIST, {"page": 99}))) == 5


def test_it_filters_by_name_containing_the_text(owner_client, account):
    StreamFactory(account=account, name="Order updates")
    StreamFactory(account=account, name="Marketing")
    assert _names(owner_client.get(LIST, {"name": "ORDER"})) == ["Order updates"]


def test_it_filters_by_status(owner_client, account):
    StreamFactory(account=account, name="Live", status=Stream.Status.READY)
    StreamFactory(account=account, name="Unfinished", status=Stream.Status.DRAFT)
    assert _names(owner_client.get(LIST, {"status": "draft"})) == ["Unfinished"]


def test_it_filters_by_tag(owner_client, account):
    vip = TagFactory(account=account, name="vip")
    StreamFactory(account=account, name="Tagged", tags=[vip])
    StreamFactory(account=account, name="Plain")
    assert _names(owner_client.get(LIST, {"tag": "vip"})) == ["Tagged"]


def test_it_combines_filters_and_keeps_them_in_the_page_links(owner_client, account):
    vip = TagFactory(account=account, name="vip")
    _streams(account, 27, tags=[vip], status=Stream.Status.READY)
    _streams(account, 3, status=Stream.Status.READY)
    response = owner_client.get(LIST, {"tag": "vip", "status": "ready"})
    assert "27 streams" in response.content.decode()
    assert "tag=vip&amp;status=ready&amp;page=2" in response.content.decode()
    assert len(_names(owner_client.get(LIST, {"tag": "vip", "status": "ready", "page": 2}))) == 2


def test_it_says_when_no_stream_matches(owner_client, account):
    StreamFactory(account=account, name="Orders")
    page = owner_client.get(LIST, {"name": "zzz"}).content.decode()
    assert "No streams match these filters" in page
    assert "Clear filters" in page


def test_it_shows_an_error_for_an_unknown_status_and_ignores_it(owner_client, account):
    StreamFactory(account=account, name="Orders")
    response = owner_client.get(LIST, {"status": "exploded"})
    assert "Select a valid choice" in response.content.decode()
    assert _names(response) == ["Orders"]


def test_it_answers_htmx_with_the_table_alone(owner_client, account):
    StreamFactory(account=account, name="Orders")
    response = owner_client.get(LIST, {"name": "Ord"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="streams-table"')
    assert "Orders" in body
    assert "<html" not in body


def test_it_offers_only_the_accounts_own_tags_as_filters(owner_client, account, outsider):
    TagFactory(account=account, name="vip")
    TagFactory(account=outsider.member.account, name="secret-tag")
    page = owner_client.get(LIST).content.decode()
    assert '<option value="vip">' in page
    assert "secret-tag" not in page


def test_it_shows_only_the_members_own_streams(owner_client, account, outsider):
    StreamFactory(account=account, name="Ours")
    StreamFactory(account=outsider.member.account, name="Theirs")
    assert _names(owner_client.get(LIST)) == ["Ours"]


def test_it_uses_the_same_number_of_queries_for_more_streams(
    owner_client, account, django_assert_max_num_queries
):
    tag = TagFactory(account=account)
    _streams(account, 3, tags=[tag])
    owner_client.get(LIST)  # warm the session
    with django_assert_max_num_queries(12) as few:
        owner_client.get(LIST)
    _streams(account, 22, tags=[tag])
    with django_assert_max_num_queries(len(few.captured_queries)):
        owner_client.get(LIST)
