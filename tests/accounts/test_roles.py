"""Roles: an account's admins change its streams and members; its members only look.

Every console URL is classified below. A new URL fails ``test_every_console_url_is_classified``
until it is listed, and each one a member may not use is tried as a member, with every method,
and must be refused with a 403 that changes nothing.
"""

import html
import itertools
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.urls import URLResolver, get_resolver, reverse

from streams import services as stream_services
from streams.models import Stream, Tag
from tests.factories import MemberFactory, whatsapp_stream
from textpeak.accounts.models import BetaAccessRequest, Member, User
from webhooks import services as webhook_services
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from whatsapp.models import Message, Sender, Template, WhatsAppAccount

pytestmark = pytest.mark.django_db


def _console_urls(patterns=None, prefix="", params=()):
    """(name, route parameters) of every named URL a signed-in person uses; not Django admin,
    and not the views that need no login (the API, Meta's callback, the login page)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        found = (*params, *entry.pattern.converters)
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
                yield from _console_urls(entry.url_patterns, namespace, found)
        elif entry.name and getattr(entry.callback, "login_required", True):
            yield f"{prefix}{entry.name}", found


CONSOLE_URLS = dict(_console_urls())

# A person's own session and password: open to everyone signed in, nothing of the account's.
OWN_LOGIN = {"home", "logout", "password_change", "password_change_done"}
# What any member of the account may open (and not post to).
MEMBER_PAGES = {
    "streams:list",
    "streams:detail",
    "streams:tab",
    "members",
    "whatsapp_messages_export",
}
# An admin's alone, whatever the method: the wizard, the row actions and their confirmations,
# the webhook's tools, beta access, and the members page's actions.
ADMIN_ONLY = {
    "streams:create",
    "streams:setup",
    "streams:tag_suggestions",
    "streams:disable",
    "streams:enable",
    "streams:regenerate_token",
    "streams:delete",
    "webhooks:preview",
    "webhooks:remove",
    "webhooks:remove_confirm",
    "webhooks:test",
    "webhooks:rotate_secret",
    "webhooks:rotate_secret_confirm",
    "webhooks:enable",
    "webhooks:redeliver",
    "whatsapp_callback_key_rotate",
    "whatsapp_callback_key_rotate_confirm",
    "whatsapp_credentials_check",
    "beta_request",
    "member_invite",
    "member_resend",
    "member_role",
    "member_remove",
}

# Everything a form of the console could post, so that no view sees an empty POST only.
POSTED = {
    "name": "Hijacked",
    "description": "changed",
    "action": "next",
    "refresh": "1",
    "demo_replies": "on",
    "register_callback": "1",
    "service_window_check": "off",
    "access_token": "EAAG-stolen",
    "business_id": "123456789",
    "method": "POST",
    "url": "https://attacker.example/hook",
    "header_name": "Authorization",
    "header_value": "Bearer attacker",
    "send_statuses": "on",
    "add_ip": "1",
    "new_ip": "203.0.113.9",
    "email": "intruder@attacker.example",
    "role": "admin",
}


@pytest.fixture
def world(account, owner, teammate, receiver, whatsapp_access):
    """A Ready demo stream of Acme with a token, a webhook with a secret header, and a test
    delivery in its log."""
    stream = whatsapp_stream(account=account)
    stream_services.stream_token_regenerate(stream=stream)
    endpoint = webhook_services.webhook_save(
        stream=stream,
        method="POST",
        url=receiver.url(),
        headers=[("Authorization", "Bearer header-secret-value")],
    )
    attempt = webhook_services.webhook_test(endpoint=endpoint)
    values = {
        "uid": [stream.uid],
        "tab": ["messages", "whatsapp", "webhooks", "api"],
        "step": ["details", "whatsapp", "webhook", "summary"],
        "type_slug": ["whatsapp"],
        "feature": ["whatsapp_streams"],
        "delivery": [attempt.delivery.uid],
        # The admin's: a member trying to demote or remove the one who can stop them.
        "member_id": [owner.member.id],
    }
    return SimpleNamespace(stream=stream, endpoint=endpoint, values=values)


def _urls(name, world):
    params = CONSOLE_URLS[name]
    missing = [param for param in params if param not in world.values]
    assert not missing, f"add values for {missing} to the world fixture"
    for combination in itertools.product(*(world.values[param] for param in params)):
        yield reverse(name, kwargs=dict(zip(params, combination, strict=True)))


def _database():
    """Every row a console action could write (not sessions or last_login)."""
    models = [
        Stream,
        Tag,
        WhatsAppAccount,
        Sender,
        Template,
        Message,
        WebhookEndpoint,
        Delivery,
        DeliveryAttempt,
        Member,
        BetaAccessRequest,
    ]
    rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
    rows["User"] = list(User.objects.order_by("pk").values("pk", "email", "password", "is_active"))
    return rows


def test_every_console_url_is_classified():
    classified = OWN_LOGIN | MEMBER_PAGES | ADMIN_ONLY
    assert sorted(set(CONSOLE_URLS) - classified) == [], "classify these URLs above"
    assert sorted(classified - set(CONSOLE_URLS)) == [], "these URLs no longer exist"


@pytest.mark.parametrize("name", sorted(MEMBER_PAGES | ADMIN_ONLY))
def test_it_refuses_a_member_who_posts(client, teammate, world, name):
    client.force_login(teammate)
    before = _database()
    for url in _urls(name, world):
        response = client.post(url, POSTED)
        assert response.status_code == 403, url
        response = client.post(url, POSTED, HTTP_HX_REQUEST="true")
        assert response.status_code == 403, url
    assert _database() == before


@pytest.mark.parametrize("name", sorted(ADMIN_ONLY))
def test_it_refuses_a_member_the_page_of_an_admin_action(client, teammate, world, name):
    client.force_login(teammate)
    before = _database()
    for url in _urls(name, world):
        assert client.get(url, {"tag_query": "x"}).status_code == 403, url
    assert _database() == before


@pytest.mark.parametrize("name", sorted(MEMBER_PAGES))
def test_it_shows_a_member_the_pages_they_may_read(client, teammate, world, name):
    client.force_login(teammate)
    for url in _urls(name, world):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("name", sorted(ADMIN_ONLY))
def test_it_does_not_refuse_an_admin(client, owner, world, name):
    """The same URLs are open to an admin: a 403 above comes from the role alone."""
    client.force_login(owner)
    url = next(_urls(name, world))
    assert client.get(url).status_code != 403


def test_it_refuses_a_member_who_posts_a_stream_delete(teammate_client, account):
    stream = whatsapp_stream(account=account)
    response = teammate_client.post(reverse("streams:delete", args=[stream.uid]))
    assert response.status_code == 403
    assert "Only an admin of Acme Ltd" in response.content.decode()
    assert Stream.objects.get(pk=stream.pk).deleted_at is None


def test_it_refuses_a_member_who_edits_the_info_tab(teammate_client, account):
    stream = whatsapp_stream(account=account, name="Orders")
    url = reverse("streams:detail", args=[stream.uid])
    response = teammate_client.post(url, {"name": "Renamed"})
    assert response.status_code == 403
    assert Stream.objects.get(pk=stream.pk).name == "Orders"


# -- what the console shows a member


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_it_shows_a_member_the_streams_without_actions(teammate_client, account, whatsapp_access):
    stream = whatsapp_stream(account=account, name="Orders")
    page = _page(teammate_client, reverse("streams:list"))
    assert "Orders" in page
    assert "Create Stream API" not in page
    assert "Actions" not in page
    for name in ("streams:setup", "streams:delete", "streams:disable", "streams:regenerate_token"):
        kwargs = {"step": "details"} if name == "streams:setup" else {}
        assert reverse(name, kwargs={"uid": stream.uid, **kwargs}) not in page


def test_it_tells_a_member_who_can_create_streams(teammate_client, account):
    page = _page(teammate_client, reverse("streams:list"))
    assert "An admin of Acme Ltd can create one." in page


def test_it_shows_a_member_the_info_tab_without_a_form(teammate_client, account, whatsapp_access):
    stream = whatsapp_stream(account=account, name="Orders", description="Shipping notices")
    page = _page(teammate_client, reverse("streams:detail", args=[stream.uid]))
    assert "Shipping notices" in page
    assert '<form method="post"' not in page.split('class="tabs"')[1]
    assert "Save changes" not in page


def test_it_shows_a_member_the_whatsapp_tab_without_actions_or_verify_token(
    teammate_client, account, whatsapp_access, fake_graph
):
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    page = _page(teammate_client, reverse("streams:tab", args=[stream.uid, "whatsapp"]))
    assert "Senders" in page
    tab = page.split('class="tabs"')[1]
    assert "<form" not in tab
    assert stream.whatsapp.verify_token not in page


def test_it_hides_the_secret_callback_url_from_a_member(
    teammate_client, account, whatsapp_access, fake_graph
):
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    page = _page(teammate_client, reverse("streams:tab", args=[stream.uid, "whatsapp"]))
    assert "Shown to the account's admins" in page
    assert stream.whatsapp.callback_key not in page
    assert "New URL" not in page


def test_it_hides_webhook_header_values_and_the_secret_from_a_member(teammate_client, world):
    page = _page(teammate_client, reverse("streams:tab", args=[world.stream.uid, "webhooks"]))
    assert world.endpoint.url in page
    assert "Authorization: ********" in page
    assert "header-secret-value" not in page
    assert world.endpoint.signing_secret()[-4:] not in page
    tab = page.split('class="tabs"')[1]
    assert "<form" not in tab
    for action in ("Save webhook", "Remove webhook", "Rotate", "Test webhook", "Redeliver"):
        assert action not in tab
    assert "webhook.test" in page  # the delivery log is there


def test_it_masks_webhook_header_values_in_a_members_request_api_tab(teammate_client, world):
    page = _page(teammate_client, reverse("streams:tab", args=[world.stream.uid, "api"]))
    assert "Authorization: ********" in page
    assert "header-secret-value" not in page


def test_it_shows_an_admin_the_actions(owner_client, account, whatsapp_access):
    whatsapp_stream(account=account, name="Orders")
    page = _page(owner_client, reverse("streams:list"))
    assert "Create Stream API" in page
    assert "Actions" in page


def test_the_upgrade_makes_the_first_member_of_an_account_without_admins_its_admin(account):
    from django.apps import apps

    migration = import_module("textpeak.accounts.migrations.0002_every_account_has_an_admin")
    first = MemberFactory(account=account).user
    MemberFactory(account=account)
    with_admin = MemberFactory(role=Member.Role.ADMIN)
    other_member = MemberFactory(account=with_admin.account)
    migration.promote_first_members(apps, None)
    assert Member.objects.get(user=first).role == "admin"
    assert Member.objects.filter(account=account, role="admin").count() == 1
    assert Member.objects.get(pk=other_member.pk).role == "member"
