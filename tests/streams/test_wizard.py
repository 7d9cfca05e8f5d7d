"""The Create New Stream wizard: drafts, step navigation, step 1's lists, and Create Stream."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from streams import services, tokens
from streams.models import MAX_NETWORKS, MAX_TAGS, Stream, Tag
from tests.factories import AccountFactory, StreamFactory, TagFactory
from webhooks.models import WebhookEndpoint
from whatsapp.models import WhatsAppAccount

pytestmark = pytest.mark.django_db

CREATE = reverse("streams:create", args=["whatsapp"])
LIST = reverse("streams:list")
SUGGESTIONS = reverse("streams:tag_suggestions")
TOKEN = re.compile(r"tp_[A-Za-z0-9_-]{43}")


@pytest.fixture
def member(owner_client, whatsapp_access):
    """The owner of Acme Ltd, whose account may create WhatsApp streams."""
    return owner_client


def _step(stream, slug):
    return reverse("streams:setup", args=[stream.uid, slug])


def _details(**fields):
    data = {"name": "Orders", "description": "", "action": "next"}
    data.update(fields)
    return data


def _draft(account, **fields):
    return StreamFactory(account=account, status=Stream.Status.DRAFT, **fields)


def _field(page, name):
    """The HTML of one form field's block (label, input, help and errors)."""
    start = page.index(f'for="id_{name}"')
    end = page.find('<div class="field', start)
    return page[start:end]


def _create_demo_stream(member, name="Orders"):
    """Go through every step for a Demo Sending stream and press Create Stream."""
    member.post(CREATE, _details(name=name, is_demo="on"))
    stream = Stream.objects.get(name=name)
    member.post(_step(stream, "whatsapp"), {"action": "next"})
    member.post(_step(stream, "webhook"), {"action": "skip"})
    response = member.post(_step(stream, "summary"), {"action": "create"})
    stream.refresh_from_db()
    return stream, response


# -- drafts and navigation


def test_it_creates_a_draft_from_the_first_save_of_step_one(member, account):
    member.post(CREATE, _details(action="draft"))
    stream = Stream.objects.get(account=account)
    assert (stream.name, stream.status, stream.type) == ("Orders", "draft", "whatsapp")


def test_it_returns_to_the_list_on_save_as_draft(member):
    response = member.post(CREATE, _details(action="draft"), follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert "Draft “Orders” saved." in response.content.decode()


def test_it_lists_a_draft_with_continue_linking_the_first_unfinished_step(member):
    member.post(CREATE, _details())
    stream = Stream.objects.get()
    page = member.get(LIST).content.decode()
    assert '">Draft</span>' in page
    assert f'<a href="{_step(stream, "whatsapp")}">Continue</a>' in page


def test_it_advances_to_the_next_step_on_save_and_next(member):
    response = member.post(CREATE, _details())
    stream = Stream.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _step(stream, "whatsapp")
    assert stream.setup_progress == 1


def test_it_saves_and_goes_back_on_back(member, account):
    stream = _draft(account, setup_progress=1)
    response = member.post(
        _step(stream, "whatsapp"), {"action": "back", "business_id": "102000000000001"}
    )
    assert response["Location"] == _step(stream, "details")
    assert WhatsAppAccount.objects.get(stream=stream).business_id == "102000000000001"


def test_it_keeps_the_progress_of_a_later_step_when_going_back(member, account):
    stream = _draft(account, setup_progress=3)
    member.post(_step(stream, "details"), _details(name="Renamed", action="back"))
    stream.refresh_from_db()
    assert (stream.name, stream.setup_progress) == ("Renamed", 3)


def test_it_redirects_a_step_beyond_the_progress_to_the_first_unfinished_step(member, account):
    stream = _draft(account, setup_progress=1)
    response = member.get(_step(stream, "summary"))
    assert response.status_code == 302
    assert response["Location"] == _step(stream, "whatsapp")


def test_it_opens_a_step_already_reached(member, account):
    stream = _draft(account, setup_progress=2)
    assert member.get(_step(stream, "webhook")).status_code == 200


def test_it_returns_404_for_an_unknown_step(member, account):
    stream = _draft(account, setup_progress=4)
    assert member.get(_step(stream, "payment")).status_code == 404


def test_it_advances_past_the_webhook_step_on_skip_without_a_webhook(member, account):
    stream = _draft(account, setup_progress=2)
    response = member.post(
        _step(stream, "webhook"), {"action": "skip", "url": "https://example.com/ignored"}
    )
    stream.refresh_from_db()
    assert response["Location"] == _step(stream, "summary")
    assert stream.setup_progress == 3
    assert not WebhookEndpoint.objects.filter(stream=stream).exists()


# -- step 1: name and description


def test_it_shows_the_required_name_error_next_to_the_field(member):
    response = member.post(CREATE, _details(name=""))
    assert response.status_code == 200
    assert "This field is required." in _field(response.content.decode(), "name")
    assert not Stream.objects.exists()


def test_it_keeps_typed_values_when_the_name_is_missing(member):
    response = member.post(
        CREATE, _details(name="", description="Shipping notices", tag_names=["VIP"])
    )
    page = response.content.decode()
    assert "Shipping notices</textarea>" in page
    assert 'name="tag_names" value="VIP"' in page


def test_it_refuses_a_name_over_100_characters(member):
    response = member.post(CREATE, _details(name="x" * 101))
    assert "at most 100 characters (it has 101)" in _field(response.content.decode(), "name")
    assert not Stream.objects.exists()


def test_it_accepts_a_name_of_100_characters(member):
    member.post(CREATE, _details(name="x" * 100))
    assert Stream.objects.get().name == "x" * 100


# -- step 1: IP ACL


def test_it_requires_an_address_when_the_ip_acl_is_on_for_save_and_next(member):
    response = member.post(CREATE, _details(ip_acl_enabled="on"))
    assert response.status_code == 200
    assert "Add at least one IP address, or turn off Enable IP ACL." in response.content.decode()
    assert not Stream.objects.exists()


def test_it_allows_an_ip_acl_without_addresses_in_a_draft(member):
    response = member.post(CREATE, _details(ip_acl_enabled="on", action="draft"))
    assert response["Location"] == LIST
    stream = Stream.objects.get()
    assert (stream.ip_acl_enabled, stream.allowed_networks) == (True, [])


def test_it_refuses_an_ip_acl_without_addresses_when_saving_a_ready_stream(member, account):
    stream = StreamFactory(account=account, setup_progress=4)
    response = member.post(_step(stream, "details"), _details(ip_acl_enabled="on", action="draft"))
    stream.refresh_from_db()
    assert response.status_code == 200
    assert "Add at least one IP address, or turn off Enable IP ACL." in response.content.decode()
    assert not stream.ip_acl_enabled


def test_it_refuses_an_invalid_ip_with_a_message(member):
    response = member.post(CREATE, _details(add_ip="1", new_ip="300.1.2.3"))
    page = response.content.decode()
    assert "“300.1.2.3” is not an IPv4 or IPv6 address or CIDR range" in page
    assert 'name="networks"' not in page


def test_it_refuses_an_empty_ip_with_a_message(member):
    response = member.post(CREATE, _details(add_ip="1", new_ip="  "))
    assert "Enter an IP address or a CIDR range." in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("203.0.113.7", "203.0.113.7/32", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::1/128", "2001:db8::1"),
        ("10.0.0.0/24", "10.0.0.0/24", "10.0.0.0/24"),
        ("2001:DB8::/48", "2001:db8::/48", "2001:db8::/48"),
        # An IPv4 address written as IPv6, which is how a dual-stack server may see it.
        ("::ffff:203.0.113.7", "203.0.113.7/32", "203.0.113.7"),
        ("::ffff:198.51.100.0/120", "198.51.100.0/24", "198.51.100.0/24"),
    ],
)
def test_it_normalises_an_added_ip(member, typed, stored, shown):
    page = member.post(CREATE, _details(add_ip="1", new_ip=typed)).content.decode()
    assert f'<code>{shown}</code><input type="hidden" name="networks" value="{stored}">' in page


def test_it_saves_the_ip_acl_normalised(member):
    member.post(
        CREATE,
        _details(
            ip_acl_enabled="on", networks=["2001:DB8::1", "10.0.0.0/24", "10.0.0.0/255.255.255.0"]
        ),
    )
    assert Stream.objects.get().allowed_networks == ["2001:db8::1/128", "10.0.0.0/24"]


def test_it_refuses_a_duplicate_ip_with_a_message(member):
    response = member.post(
        CREATE, _details(add_ip="1", new_ip="203.0.113.7", networks=["203.0.113.7/32"])
    )
    page = response.content.decode()
    assert "203.0.113.7 is already in the list." in page
    assert page.count('name="networks"') == 1


def test_it_refuses_the_101st_ip(member):
    networks = [f"10.0.{i // 256}.{i % 256}/32" for i in range(MAX_NETWORKS)]
    response = member.post(CREATE, _details(add_ip="1", new_ip="192.0.2.1", networks=networks))
    page = response.content.decode()
    assert "An IP ACL holds at most 100 entries." in page
    assert "192.0.2.1/32" not in page


def test_it_removes_an_ip(member):
    response = member.post(
        CREATE, _details(remove_ip="203.0.113.7/32", networks=["203.0.113.7/32", "10.0.0.0/24"])
    )
    page = response.content.decode()
    assert 'value="203.0.113.7/32"' not in page
    assert 'name="networks" value="10.0.0.0/24"' in page


def test_it_saves_nothing_when_adding_an_ip(member):
    member.post(CREATE, _details(add_ip="1", new_ip="203.0.113.7"))
    assert not Stream.objects.exists()


def test_it_answers_htmx_with_the_ip_acl_alone(member):
    response = member.post(
        CREATE, _details(add_ip="1", new_ip="203.0.113.7"), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<fieldset class="list-editor acl" id="ip-acl">')
    assert 'value="203.0.113.7/32"' in page
    assert "<html" not in page
    assert 'id="tags"' not in page


# -- step 1: tags


def test_it_suggests_the_accounts_matching_tags_only(member, account):
    TagFactory(account=account, name="VIP customers")
    TagFactory(account=account, name="Newsletter")
    TagFactory(account=AccountFactory(), name="VIP elsewhere")
    page = member.get(SUGGESTIONS, {"tag_query": "vip"}).content.decode()
    assert "VIP customers" in page
    assert "VIP elsewhere" not in page
    assert "Newsletter" not in page


def test_it_offers_to_create_a_tag_that_does_not_exist(member, account):
    TagFactory(account=account, name="VIP customers")
    page = member.get(SUGGESTIONS, {"tag_query": "VIP"}).content.decode()
    assert "Create tag “VIP”" in page


def test_it_offers_to_create_a_tag_only_another_account_has(member):
    TagFactory(account=AccountFactory(), name="Wholesale")
    page = member.get(SUGGESTIONS, {"tag_query": "Wholesale"}).content.decode()
    assert "Create tag “Wholesale”" in page


def test_it_does_not_offer_to_create_an_existing_tag(member, account):
    TagFactory(account=account, name="VIP")
    page = member.get(SUGGESTIONS, {"tag_query": "vip"}).content.decode()
    assert "Create tag" not in page
    assert 'value="VIP"' in page


def test_it_does_not_offer_to_create_an_existing_tag_among_many_matches(member, account):
    for letter in "abcdefgh":
        TagFactory(account=account, name=f"{letter}-news")
    TagFactory(account=account, name="news")
    page = member.get(SUGGESTIONS, {"tag_query": "news"}).content.decode()
    assert "Create tag" not in page


def test_it_suggests_at_most_8_tags(member, account):
    for number in range(10):
        TagFactory(account=account, name=f"news-{number}")
    page = member.get(SUGGESTIONS, {"tag_query": "news"}).content.decode()
    assert page.count('class="suggestion"') == 8


def test_it_leaves_chosen_tags_out_of_the_suggestions(member, account):
    TagFactory(account=account, name="VIP")
    TagFactory(account=account, name="VIP gold")
    page = member.get(SUGGESTIONS, {"tag_query": "vip", "tag_names": ["VIP"]}).content.decode()
    assert 'value="VIP gold"' in page
    assert 'value="VIP"' not in page
    assert "Create tag" not in page


def test_it_adds_a_chosen_tag(member):
    page = member.post(CREATE, _details(add_tag="VIP", tag_names=["Orders"])).content.decode()
    assert 'name="tag_names" value="Orders"' in page
    assert 'name="tag_names" value="VIP"' in page


def test_it_adds_the_typed_tag_without_javascript(member):
    page = member.post(CREATE, _details(add_tag="", tag_query="Urgent")).content.decode()
    assert 'name="tag_names" value="Urgent"' in page


def test_it_removes_a_tag(member):
    page = member.post(CREATE, _details(remove_tag="VIP", tag_names=["VIP", "Orders"]))
    page = page.content.decode()
    assert 'name="tag_names" value="VIP"' not in page
    assert 'name="tag_names" value="Orders"' in page


def test_it_refuses_a_21st_tag(member):
    names = [f"tag-{i}" for i in range(MAX_TAGS)]
    page = member.post(CREATE, _details(add_tag="one-more", tag_names=names)).content.decode()
    assert "A stream has at most 20 tags." in page
    assert "one-more" not in page


def test_it_refuses_to_save_21_tags(member):
    names = [f"tag-{i}" for i in range(MAX_TAGS + 1)]
    response = member.post(CREATE, _details(tag_names=names))
    assert "A stream has at most 20 tags." in response.content.decode()
    assert not Stream.objects.exists()


def test_it_creates_tags_only_when_the_stream_is_saved(member, account):
    member.post(CREATE, _details(add_tag="Urgent"))
    assert not Tag.objects.exists()
    member.post(CREATE, _details(tag_names=["Urgent"]))
    stream = Stream.objects.get()
    assert [tag.name for tag in stream.tags.all()] == ["Urgent"]
    assert Tag.objects.get().account == account


def test_it_reuses_an_existing_tag_whatever_its_case(member, account):
    vip = TagFactory(account=account, name="VIP")
    member.post(CREATE, _details(tag_names=["vip"]))
    assert list(Stream.objects.get().tags.all()) == [vip]
    assert Tag.objects.filter(account=account).count() == 1


def test_it_never_reuses_another_accounts_tag(member, account):
    elsewhere = TagFactory(account=AccountFactory(), name="VIP")
    member.post(CREATE, _details(tag_names=["VIP"]))
    tag = Stream.objects.get().tags.get()
    assert tag != elsewhere
    assert tag.account == account


# -- step 4: Create Stream


def test_it_makes_the_stream_ready_on_create_stream(member):
    stream, _ = _create_demo_stream(member)
    assert stream.status == Stream.Status.READY
    assert stream.setup_progress == 4


def test_it_shows_the_new_token_once_on_create_stream(member):
    stream, response = _create_demo_stream(member)
    page = response.content.decode()
    token = TOKEN.search(page)[0]
    assert response.status_code == 200
    assert "“Orders” is Ready." in page
    assert tokens.token_matches(token, stream.token_hash)
    assert stream.token_prefix == token[:8]


def test_it_keeps_the_token_page_out_of_caches(member):
    _, response = _create_demo_stream(member)
    assert response["Cache-Control"] == "no-store"


def test_it_does_not_show_the_token_again_on_the_summary(member):
    stream, response = _create_demo_stream(member)
    token = TOKEN.search(response.content.decode())[0]
    again = member.get(_step(stream, "summary"))
    assert again.status_code == 200
    assert token not in again.content.decode()
    assert TOKEN.search(again.content.decode()) is None


def test_it_lists_the_created_stream_first(member, account):
    StreamFactory(account=account, name="Older")
    stream, _ = _create_demo_stream(member, name="Newest")
    page = member.get(LIST)
    assert page.context["page"][0] == stream
    assert '">Ready</span>' in page.content.decode()


def test_it_refuses_create_stream_before_whatsapp_is_checked(member, account):
    stream = _draft(account, setup_progress=3)
    response = member.post(_step(stream, "summary"), {"action": "create"})
    stream.refresh_from_db()
    assert "Check the WhatsApp Settings with Save &amp; Next" in response.content.decode()
    assert (stream.status, stream.token_hash) == ("draft", None)


def test_it_does_not_reissue_the_token_of_a_stream_created_meanwhile(account):
    draft = _draft(account, setup_progress=3)
    stale = Stream.objects.get(pk=draft.pk)
    first = services.stream_activate(stream=draft, steps_done=4)
    assert services.stream_activate(stream=stale, steps_done=4) is None
    draft.refresh_from_db()
    assert tokens.token_matches(first, draft.token_hash)


# -- editing a stream in use


def test_it_keeps_a_ready_stream_ready_when_edited_through_the_wizard(member, account):
    stream = StreamFactory(account=account, setup_progress=4)
    response = member.post(_step(stream, "details"), _details(name="Renamed"))
    stream.refresh_from_db()
    assert response["Location"] == _step(stream, "whatsapp")
    assert (stream.name, stream.status) == ("Renamed", "ready")


def test_it_keeps_a_ready_stream_ready_after_done_on_the_summary(member, account):
    stream = StreamFactory(account=account, setup_progress=4, is_demo=True)
    WhatsAppAccount.objects.create(stream=stream, verified_at=timezone.now())
    hash_before = stream.token_hash
    response = member.post(_step(stream, "summary"), {"action": "next"})
    stream.refresh_from_db()
    assert response["Location"] == LIST
    assert (stream.status, stream.token_hash) == ("ready", hash_before)


def test_it_says_saved_not_draft_saved_for_a_ready_stream(member, account):
    stream = StreamFactory(account=account, setup_progress=4, name="Orders")
    response = member.post(_step(stream, "details"), _details(action="draft"), follow=True)
    page = response.content.decode()
    assert "“Orders” saved." in page
    assert "Draft “Orders”" not in page


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("10.1.2.3/8", "10.0.0.0/8"), ("2001:db8::1/48", "2001:db8::/48")],
)
def test_it_refuses_an_ip_with_host_bits_set_and_suggests_its_network(member, typed, meant):
    page = member.post(CREATE, _details(add_ip="1", new_ip=typed)).content.decode()
    assert f"{typed} has host bits set: did you mean {meant}?" in page
    assert 'name="networks"' not in page


def test_it_refuses_to_save_a_network_with_host_bits_set(member):
    response = member.post(CREATE, _details(ip_acl_enabled="on", networks=["10.0.0.5/24"]))
    assert "10.0.0.5/24 has host bits set: did you mean 10.0.0.0/24?" in response.content.decode()
    assert not Stream.objects.exists()
