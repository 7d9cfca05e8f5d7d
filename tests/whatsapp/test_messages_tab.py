"""The side panel's Messages tab: the stream's messages, their filters, pages and history."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import StreamFactory
from whatsapp.models import Message, MessageEvent

pytestmark = pytest.mark.django_db

SENDER = "15550001111"
DRAWER = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "stream-panel"}
TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "messages-table"}


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


def _url(stream):
    return reverse("streams:tab", args=[stream.uid, "messages"])


def _message(stream, contact, *, minutes_ago=0, events=(), **fields):
    """A message to (or, inbound, from) ``contact``; ``events`` are (status, fields) pairs."""
    fields.setdefault("direction", Message.Direction.OUTBOUND)
    fields.setdefault("status", Message.Status.SENT)
    message = Message.objects.create(
        stream=stream,
        sender_number=fields.pop("sender_number", SENDER),
        contact_number=contact,
        type=fields.pop("type", "text"),
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )
    for minute, (status, event_fields) in enumerate(events):
        MessageEvent.objects.create(
            message=message,
            status=status,
            occurred_at=message.created_at + timedelta(minutes=minute),
            **event_fields,
        )
    return message


def _page(client, stream, **kwargs):
    response = client.get(_url(stream), **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def _rows(page: str) -> int:
    return page.count('<tbody class="message">')


def test_it_adds_the_messages_tab_after_info(owner_client, stream):
    page = _page(owner_client, stream)
    tabs = re.findall(r'<nav class="tabs".*?</nav>', page, re.S)[0]
    titles = re.findall(r">([^<]+)</a>", tabs)
    assert titles[:2] == ["Info", "Messages"]


def test_it_lists_the_newest_message_first(owner_client, stream):
    _message(stream, "447700900001", minutes_ago=30)
    _message(stream, "447700900003", minutes_ago=1)
    _message(stream, "447700900002", minutes_ago=10)
    page = _page(owner_client, stream)
    positions = [page.index(n) for n in ("447700900003", "447700900002", "447700900001")]
    assert positions == sorted(positions)
    assert "3 messages" in page


def test_it_shows_only_this_streams_messages(owner_client, account, stream):
    _message(stream, "447700900001")
    _message(StreamFactory(account=account, name="Other"), "447700900999")
    page = _page(owner_client, stream)
    assert "447700900001" in page
    assert "447700900999" not in page


def test_it_shows_an_inbound_message_as_from_the_contact(owner_client, stream):
    _message(stream, "447700900001", direction=Message.Direction.INBOUND, status="received")
    page = _page(owner_client, stream)
    cells = re.findall(r'<td class="number">(\d+)</td>', page)
    assert cells == ["447700900001", SENDER]
    assert "Inbound" in page
    assert "Received" in page


def test_it_filters_by_status(owner_client, stream):
    _message(stream, "447700900001", status=Message.Status.DELIVERED)
    _message(stream, "447700900002", status=Message.Status.READ)
    page = _page(owner_client, stream, data={"status": "read"})
    assert "447700900002" in page
    assert "447700900001" not in page
    assert "Clear filters" in page


def test_it_filters_by_direction(owner_client, stream):
    _message(stream, "447700900001")
    _message(stream, "447700900002", direction=Message.Direction.INBOUND, status="received")
    page = _page(owner_client, stream, data={"direction": "inbound"})
    assert "447700900002" in page
    assert "447700900001" not in page


def test_it_filters_by_part_of_a_number_typed_with_a_plus_and_spaces(owner_client, stream):
    _message(stream, "447700900123")
    _message(stream, "15550109999")
    page = _page(owner_client, stream, data={"number": "+44 7700 900"})
    assert "447700900123" in page
    assert "15550109999" not in page


def test_it_filters_by_the_sender_number_too(owner_client, stream):
    _message(stream, "447700900001", sender_number="15550002222")
    _message(stream, "447700900002")
    page = _page(owner_client, stream, data={"number": "5550002222"})
    assert "447700900001" in page
    assert "447700900002" not in page


def test_it_shows_an_error_and_ignores_an_invalid_filter(owner_client, stream):
    _message(stream, "447700900001")
    page = _page(owner_client, stream, data={"status": "lost", "number": "abc"})
    assert "Status: Select a valid choice. lost is not one of the available choices." in page
    assert "Number: Enter digits of a phone number" in page
    assert "447700900001" in page
    assert "Clear filters" not in page


def test_it_shows_the_history_with_the_error(owner_client, stream):
    _message(
        stream,
        "447700900001",
        status=Message.Status.SENT_FAILED,
        error_code="131026",
        error_message="Message undeliverable",
        events=[
            ("queued", {"note": "Accepted by the send API"}),
            ("queued", {"note": "Retry 1 of 3", "error_code": "130429", "error_message": "Rate"}),
            ("sent_failed", {"error_code": "131026", "error_message": "Message undeliverable"}),
        ],
    )
    page = _page(owner_client, stream)
    assert '<span class="status status-sent_failed">Failed</span>' in page
    assert '<p class="message-error"><code>131026</code> Message undeliverable</p>' in page
    history = re.findall(r"<details class=\"message-history\">.*?</details>", page, re.S)[0]
    assert "<summary>History</summary>" in history
    assert history.count('<span class="status status-queued">Queued</span>') == 2
    assert "Accepted by the send API" in history
    assert "Retry 1 of 3" in history
    assert "<code>130429</code> Rate" in history
    assert history.index("Retry 1 of 3") < history.index("<code>131026</code>")


def test_it_shows_the_messages_ids_with_copy_buttons(owner_client, stream):
    message = _message(stream, "447700900001", internal_id="order-42", wamid="wamid.HBgL123")
    page = _page(owner_client, stream)
    for value in (str(message.uuid), "order-42", "wamid.HBgL123"):
        button = f'<button type="button" class="btn small" data-copy="{value}">Copy</button>'
        assert f"<code>{value}</code> {button}" in page


@pytest.mark.parametrize(
    ("direction", "type", "payload", "shown"),
    [
        ("outbound", "text", {"body": "Thanks, see you soon"}, "Thanks, see you soon"),
        (
            "outbound",
            "interactive",
            {
                "type": "button",
                "body": {"text": "Deliver tomorrow?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "y", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "n", "title": "Another day"}},
                    ]
                },
            },
            "Deliver tomorrow? [Yes | Another day]",
        ),
        (
            "outbound",
            "interactive",
            {
                "type": "list",
                "body": {"text": "Pick a slot"},
                "action": {
                    "button": "Slots",
                    "sections": [{"rows": [{"id": "am", "title": "Morning"}]}],
                },
            },
            "Pick a slot [Morning]",
        ),
        (
            "outbound",
            "interactive",
            {
                "type": "cta_url",
                "body": {"text": "On its way"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Track it", "url": "https://e.com/t"},
                },
            },
            "On its way [Track it]",
        ),
        ("outbound", "sticker", {"url": "https://e.com/thanks.webp"}, "https://e.com/thanks.webp"),
        (
            "outbound",
            "contacts",
            {
                "contacts": [
                    {"name": {"formatted_name": "Anna"}},
                    {"name": {"formatted_name": "Bo"}},
                ]
            },
            "Anna, Bo",
        ),
        ("outbound", "location", {"latitude": 1.5, "longitude": 2.0, "name": "Shop"}, "Shop"),
        (
            "inbound",
            "interactive",
            {"interactive": {"type": "button_reply", "id": "y", "title": "Yes, deliver"}},
            "Yes, deliver",
        ),
        (
            "inbound",
            "button",
            {"button": {"text": "Stop promotions", "payload": "STOP"}},
            "Stop promotions",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_it_shows_what_each_type_of_message_says(
    owner_client, stream, direction, type, payload, shown
):
    _message(stream, "4915112345678", direction=direction, type=type, payload=payload)
    page = _page(owner_client, stream)
    assert f'<p class="message-summary">{html.escape(shown)}</p>' in page


def test_it_says_when_there_are_no_messages_yet(owner_client, stream):
    page = _page(owner_client, stream)
    assert "No messages yet" in page
    assert f'href="{reverse("streams:tab", args=[stream.uid, "api"])}"' in page


def test_it_says_when_no_message_matches_the_filters(owner_client, stream):
    _message(stream, "447700900001")
    page = _page(owner_client, stream, data={"status": "rejected"})
    assert "No messages match these filters" in page
    assert "No messages yet" not in page


@pytest.mark.parametrize("headers", [{}, DRAWER], ids=["page", "drawer"])
def test_it_returns_404_to_a_member_of_another_account(client, outsider, stream, headers):
    _message(stream, "447700900001")
    client.force_login(outsider)
    response = client.get(_url(stream), **headers)
    assert response.status_code == 404
    assert b"447700900001" not in response.content


def test_it_runs_as_many_queries_for_30_messages_as_for_one(
    owner_client, stream, django_assert_max_num_queries
):
    history = [("queued", {}), ("sent", {}), ("delivered", {})]
    _message(stream, "447700900000", events=history)
    with django_assert_max_num_queries(15) as one:
        _page(owner_client, stream)
    for n in range(1, 30):
        _message(stream, f"4477009{n:05}", events=history)
    with django_assert_max_num_queries(len(one)):
        page = _page(owner_client, stream)
    assert _rows(page) == 30


def test_it_returns_the_table_alone_to_the_filters(owner_client, stream):
    _message(stream, "447700900001", status=Message.Status.DELIVERED)
    _message(stream, "447700900002", status=Message.Status.READ)
    page = _page(owner_client, stream, data={"status": "read"}, **TABLE)
    assert page.lstrip().startswith('<section id="messages-table"')
    assert "<form" not in page
    assert 'class="sidebar"' not in page
    assert "447700900002" in page
    assert "447700900001" not in page


def test_it_returns_the_whole_tab_to_the_drawer(owner_client, stream):
    page = _page(owner_client, stream, **DRAWER)
    assert '<h1 id="panel-title">Orders</h1>' in page
    assert "<form" in page
    assert 'class="sidebar"' not in page


def test_it_keeps_the_address_when_filtering_in_the_drawer(owner_client, stream):
    for n in range(51):
        _message(stream, f"4477009{n:05}")
    assert 'hx-push-url="true"' in _page(owner_client, stream)
    assert 'hx-push-url="true"' not in _page(owner_client, stream, **DRAWER)
    in_drawer = _page(owner_client, stream, HTTP_X_STREAM_DRAWER="true", **TABLE)
    assert 'rel="next"' in in_drawer
    assert 'hx-push-url="true"' not in in_drawer


def test_it_shows_50_messages_a_page(owner_client, stream):
    for n in range(51):
        _message(stream, f"4477009{n:05}", minutes_ago=n, status=Message.Status.READ)
    _message(stream, "15550109999", status=Message.Status.DELIVERED)
    first = _page(owner_client, stream, data={"status": "read"})
    assert _rows(first) == 50
    assert "Page 1 of 2" in first
    assert f'href="{_url(stream)}?status=read&amp;page=2"' in first
    second = _page(owner_client, stream, data={"status": "read", "page": "2"})
    assert _rows(second) == 1
    assert "447700900050" in second
    assert "Page 2 of 2" in second
    assert f'href="{_url(stream)}?status=read&amp;page=1"' in second
