"""The streams table's row actions: disable, enable, regenerate the token, delete."""

import re

import pytest
from django.urls import reverse

from streams import services, tokens
from streams.models import Stream
from tests.factories import StreamFactory
from textpeak.accounts.models import Member
from whatsapp.models import Message, WhatsAppAccount

pytestmark = pytest.mark.django_db

LIST = reverse("streams:list")
TOKEN = re.compile(r"tp_[A-Za-z0-9_-]{43}")


def _url(name, stream, **kwargs):
    return reverse(name, kwargs={"uid": stream.uid, **kwargs})


def _ready(account, **fields):
    """A Ready stream with a token, as Create Stream leaves it; returns (stream, token)."""
    stream = StreamFactory(account=account, name="Orders", setup_progress=4, **fields)
    token = services.stream_token_regenerate(stream=stream)
    return stream, token


def _status(stream):
    return Stream.objects.get(pk=stream.pk).status


# -- disable / enable


def test_it_disables_a_ready_stream(owner_client, account):
    stream, _ = _ready(account)
    response = owner_client.post(_url("streams:disable", stream), follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert '">Disabled</span>' in response.content.decode()
    assert "its token is refused until you enable it" in response.content.decode()
    assert _status(stream) == "disabled"


def test_it_offers_enable_for_a_disabled_stream(owner_client, account):
    stream, _ = _ready(account, status=Stream.Status.DISABLED)
    page = owner_client.get(LIST).content.decode()
    assert f'action="{_url("streams:enable", stream)}"' in page
    assert _url("streams:disable", stream) not in page


def test_it_enables_a_disabled_stream(owner_client, account):
    stream, _ = _ready(account, status=Stream.Status.DISABLED)
    response = owner_client.post(_url("streams:enable", stream), follow=True)
    assert "“Orders” is enabled." in response.content.decode()
    assert '">Ready</span>' in response.content.decode()
    assert _status(stream) == "ready"


def test_it_refuses_to_disable_a_draft(owner_client, account):
    draft = StreamFactory(account=account, status=Stream.Status.DRAFT)
    assert owner_client.post(_url("streams:disable", draft)).status_code == 409
    assert _status(draft) == "draft"


def test_it_refuses_to_enable_a_ready_stream(owner_client, account):
    stream, _ = _ready(account)
    assert owner_client.post(_url("streams:enable", stream)).status_code == 409


def test_it_redirects_htmx_to_the_list_after_an_action(owner_client, account):
    stream, _ = _ready(account)
    response = owner_client.post(_url("streams:disable", stream), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == LIST


# -- regenerate the token


def test_it_asks_before_regenerating_the_token(owner_client, account):
    stream, token = _ready(account)
    response = owner_client.get(_url("streams:regenerate_token", stream))
    page = response.content.decode()
    assert "Regenerate token?" in page
    assert f"<code>{token[:8]}…</code>" in page
    assert tokens.token_matches(token, Stream.objects.get(pk=stream.pk).token_hash)


def test_it_shows_the_new_token_once_after_regenerating(owner_client, account):
    stream, old = _ready(account)
    response = owner_client.post(_url("streams:regenerate_token", stream))
    new = TOKEN.search(response.content.decode())[0]
    assert new != old
    assert "New token issued" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_it_stops_the_old_token_matching_after_regenerating(owner_client, account):
    stream, old = _ready(account)
    response = owner_client.post(_url("streams:regenerate_token", stream))
    new = TOKEN.search(response.content.decode())[0]
    stream.refresh_from_db()
    assert not tokens.token_matches(old, stream.token_hash)
    assert tokens.token_matches(new, stream.token_hash)
    assert stream.token_prefix == new[:8]


def test_it_does_not_regenerate_the_token_of_a_draft(owner_client, account):
    draft = StreamFactory(account=account, status=Stream.Status.DRAFT)
    assert owner_client.post(_url("streams:regenerate_token", draft)).status_code == 404
    assert Stream.objects.get(pk=draft.pk).token_hash is None


# -- delete


def _message(stream, status=Message.Status.DELIVERED):
    return Message.objects.create(
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number="15550001111",
        contact_number="4915112345678",
        type="text",
        status=status,
    )


def test_it_asks_before_deleting(owner_client, account):
    stream, _ = _ready(account)
    page = owner_client.get(_url("streams:delete", stream)).content.decode()
    assert "Delete “Orders”?" in page
    assert "Its message history is kept." in page
    assert Stream.objects.get(pk=stream.pk).deleted_at is None


def test_it_removes_a_deleted_stream_from_the_list(owner_client, account):
    stream, _ = _ready(account)
    response = owner_client.post(_url("streams:delete", stream), follow=True)
    page = response.content.decode()
    assert "“Orders” was deleted. Its token no longer works." in page
    assert stream not in list(response.context["page"])
    assert _url("streams:detail", stream) not in page


def test_it_revokes_the_token_of_a_deleted_stream(owner_client, account):
    stream, token = _ready(account)
    owner_client.post(_url("streams:delete", stream))
    stream.refresh_from_db()
    assert stream.token_hash is None
    assert not Stream.objects.filter(token_hash__in=tokens.token_hashes(token)).exists()


def test_it_keeps_the_message_history_of_a_deleted_stream(owner_client, account):
    stream, _ = _ready(account)
    message = _message(stream)
    owner_client.post(_url("streams:delete", stream))
    assert Message.objects.filter(pk=message.pk, stream_id=stream.pk).exists()


def test_it_rejects_the_queued_messages_of_a_deleted_stream(owner_client, account):
    stream, _ = _ready(account)
    queued, delivered = _message(stream, Message.Status.QUEUED), _message(stream)
    owner_client.post(_url("streams:delete", stream))
    queued.refresh_from_db()
    assert (queued.status, queued.error_message) == (
        "rejected",
        "The stream was deleted before this message was sent.",
    )
    assert Message.objects.get(pk=delivered.pk).status == "delivered"


def test_it_returns_404_for_a_deleted_stream(owner_client, account):
    stream, _ = _ready(account)
    owner_client.post(_url("streams:delete", stream))
    assert owner_client.get(_url("streams:detail", stream)).status_code == 404


def test_it_deletes_a_draft(owner_client, account):
    draft = StreamFactory(account=account, status=Stream.Status.DRAFT, name="Half done")
    owner_client.post(_url("streams:delete", draft))
    assert list(owner_client.get(LIST).context["page"]) == []


# -- what each row offers


def test_it_offers_continue_and_delete_only_for_a_draft(owner_client, account):
    draft = StreamFactory(account=account, status=Stream.Status.DRAFT, setup_progress=2)
    page = owner_client.get(LIST).content.decode()
    menu = page[page.index('<div class="menu-panel">', page.index("streams-table")) :]
    menu = menu[: menu.index("</div>")]
    links = re.findall(r">([^<>]+)</(?:a|button)>", menu)
    assert links == ["Continue", "Delete"]
    assert reverse("streams:setup", args=[draft.uid, "webhook"]) in menu


def test_it_offers_every_action_for_a_ready_stream(owner_client, account):
    _ready(account)
    page = owner_client.get(LIST).content.decode()
    menu = page[page.index('<div class="menu-panel">', page.index("streams-table")) :]
    menu = menu[: menu.index("</div>")]
    links = re.findall(r">([^<>]+)</(?:a|button)>", menu)
    assert links == ["Edit", "Disable", "Regenerate token", "Delete"]


# -- another account's streams and the wrong method


OUTSIDER_REQUESTS = [
    *((method, "streams:detail", {}) for method in ("get", "post")),
    *(
        (method, "streams:tab", {"tab": tab})
        for tab in ("whatsapp", "webhooks", "api")
        for method in ("get", "post")
    ),
    *(
        (method, "streams:setup", {"step": step})
        for step in ("details", "whatsapp", "webhook", "summary")
        for method in ("get", "post")
    ),
    *(
        (method, name, {})
        for name in ("streams:regenerate_token", "streams:delete")
        for method in ("get", "post")
    ),
    *(
        ("post", name, {})
        for name in (
            "streams:disable",
            "streams:enable",
            "webhooks:preview",
            "webhooks:remove",
            "whatsapp_callback_key_rotate",
            "whatsapp_credentials_check",
        )
    ),
    ("get", "whatsapp_callback_key_rotate_confirm", {}),
    ("get", "whatsapp_messages_export", {}),
]


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    OUTSIDER_REQUESTS,
    ids=[f"{m.upper()} {n} {' '.join(k.values())}".strip() for m, n, k in OUTSIDER_REQUESTS],
)
def test_it_returns_404_to_a_member_of_another_account(
    client, outsider, account, method, name, kwargs
):
    stream, _ = _ready(account)
    whatsapp = WhatsAppAccount.objects.create(stream=stream)
    client.force_login(outsider)
    data = {"name": "Hijacked", "action": "create", "url": "https://example.com/x"}
    response = getattr(client, method)(
        _url(name, stream, **kwargs), data if method == "post" else None
    )
    assert response.status_code == 404
    after = Stream.objects.get(pk=stream.pk)
    assert (after.name, after.status, after.deleted_at) == ("Orders", "ready", None)
    assert after.token_hash == stream.token_hash
    assert WhatsAppAccount.objects.get(pk=whatsapp.pk).callback_key == whatsapp.callback_key
    assert "Orders" not in response.content.decode()


OUTSIDER_MEMBER_REQUESTS = [
    ("post", "member_role"),
    ("post", "member_resend"),
    ("get", "member_remove"),
    ("post", "member_remove"),
]


@pytest.mark.parametrize(("method", "name"), OUTSIDER_MEMBER_REQUESTS)
def test_it_returns_404_for_another_accounts_member(client, outsider, teammate, method, name):
    client.force_login(outsider)
    url = reverse(name, args=[teammate.member.id])
    response = getattr(client, method)(url, {"role": "admin"} if method == "post" else None)
    assert response.status_code == 404
    assert "teammate@acme.test" not in response.content.decode()
    assert Member.objects.get(user=teammate).role == "member"


@pytest.mark.parametrize(
    "name",
    [
        "streams:disable",
        "streams:enable",
        "webhooks:preview",
        "webhooks:remove",
        "whatsapp_callback_key_rotate",
        "whatsapp_credentials_check",
    ],
)
def test_it_refuses_get_on_a_post_only_action(owner_client, account, name):
    stream, _ = _ready(account)
    response = owner_client.get(_url(name, stream))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert _status(stream) == "ready"


def test_it_changes_nothing_on_get_of_delete(owner_client, account):
    stream, _ = _ready(account)
    owner_client.get(_url("streams:delete", stream))
    assert Stream.objects.get(pk=stream.pk).deleted_at is None


def test_it_changes_nothing_on_get_of_regenerate_token(owner_client, account):
    stream, _ = _ready(account)
    owner_client.get(_url("streams:regenerate_token", stream))
    assert Stream.objects.get(pk=stream.pk).token_hash == stream.token_hash
