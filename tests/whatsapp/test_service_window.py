"""The customer service window: when each contact last wrote to a stream, the send API's
refusal of free-form messages outside it, the setting that turns the check off, the contacts
API and the window shown in the console."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from streams.services import stream_token_regenerate
from tests.factories import whatsapp_stream
from tests.whatsapp.fixtures import CONTACT, fixture
from whatsapp import services
from whatsapp.inbound.parse import parse
from whatsapp.inbound.store import store
from whatsapp.models import Message, ServiceWindow, WhatsAppAccount

pytestmark = pytest.mark.django_db

SEND = "/api/whatsapp/send/"
CONTACTS = "/api/whatsapp/contacts/"
SENDER = "15550001111"  # the fake business's number
DEMO_SENDER = "15550100100"
OTHER = "4917612345678"
WROTE_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REFUSAL = {
    "error": "OUTSIDE_SERVICE_WINDOW",
    "detail": "the contact has not written in the last 24 hours: send an approved template",
}


@pytest.fixture
def clock(monkeypatch):
    """``timezone.now()`` frozen, an hour after ``WROTE_AT`` until a test moves it."""

    class Clock:
        now = WROTE_AT + timedelta(hours=1)

        def __call__(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    return whatsapp_stream(account=account, fake_graph=fake_graph)


@pytest.fixture
def api(client, token):
    def post(path, body, authorization=token):
        return client.post(
            path,
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=authorization,
        )

    return post


def wrote(stream, number=CONTACT, at=WROTE_AT, text="Hi, is my order on its way?"):
    """The contact's message, as Meta posts it, stored by the inbound path."""
    data = json.loads(fixture("text"))
    value = data["entry"][0]["changes"][0]["value"]
    [message] = value["messages"]
    message.update(
        {
            "from": number,
            "id": f"wamid.in-{number}-{at.timestamp():.0f}",
            "timestamp": str(int(at.timestamp())),
            "text": {"body": text},
        }
    )
    value["contacts"][0]["wa_id"] = number
    store(stream=stream, events=parse(json.dumps(data).encode()))


def _text(recipient=CONTACT, sender=SENDER, **fields):
    return {
        "sender": sender,
        "recipient_phone": recipient,
        "type": "text",
        "message_content": "Your parcel left the warehouse",
        **fields,
    }


def _template(recipient=CONTACT):
    return {
        "sender": SENDER,
        "recipient_phone": recipient,
        "type": "template",
        "template": {"name": "hello_world", "language": "en_US"},
    }


def _results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return [
        {key: result.get(key) for key in ("error", "detail")} if result["error"] else "accepted"
        for result in response.json()["messages"]
    ]


# -- the send API's refusal


NON_TEMPLATE = [
    _text(),
    {"type": "image", "media": {"url": "https://example.com/parcel.jpg"}},
    {"type": "document", "media": {"url": "https://example.com/invoice.pdf"}},
    {"type": "location", "location": {"latitude": 52.52, "longitude": 13.40}},
]


@pytest.mark.parametrize("message", NON_TEMPLATE, ids=lambda m: m["type"])
def test_it_refuses_a_free_form_message_to_a_contact_who_never_wrote(
    api, stream, fake_graph, clock, message
):
    message = {"sender": SENDER, "recipient_phone": CONTACT, **message}
    assert _results(api(SEND, {"messages": [message]})) == [REFUSAL]
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_it_refuses_a_reaction_outside_the_window(api, stream, clock):
    wrote(stream, at=WROTE_AT - timedelta(days=2))
    earlier = Message.objects.get(direction=Message.Direction.INBOUND)
    reaction = {
        "sender": SENDER,
        "recipient_phone": CONTACT,
        "type": "reaction",
        "reaction": {"message_uuid": str(earlier.uuid), "emoji": "👍"},
    }
    assert _results(api(SEND, {"messages": [reaction]})) == [REFUSAL]


def test_it_accepts_a_template_while_the_window_is_closed(api, stream, clock):
    assert _results(api(SEND, {"messages": [_template()]})) == ["accepted"]


def test_it_accepts_a_free_form_message_after_the_contact_wrote(api, stream, clock):
    wrote(stream)
    assert _results(api(SEND, {"messages": [_text()]})) == ["accepted"]


def test_the_window_closes_24_hours_after_the_contacts_last_message(api, stream, clock):
    wrote(stream)
    clock.now = WROTE_AT + timedelta(hours=24) - timedelta(seconds=1)
    assert _results(api(SEND, {"messages": [_text(internal_id="last-second")]})) == ["accepted"]

    clock.now = WROTE_AT + timedelta(hours=24)
    assert _results(api(SEND, {"messages": [_text(internal_id="too-late")]})) == [REFUSAL]


def test_a_new_message_opens_the_window_again(api, stream, clock):
    wrote(stream)
    clock.now = WROTE_AT + timedelta(days=3)
    wrote(stream, at=clock.now - timedelta(minutes=5), text="Hello again")
    assert _results(api(SEND, {"messages": [_text()]})) == ["accepted"]


def test_a_message_reported_late_does_not_move_the_window_back(api, stream, clock):
    clock.now = WROTE_AT + timedelta(days=1, hours=1)
    wrote(stream, at=WROTE_AT + timedelta(days=1))
    wrote(stream, at=WROTE_AT)  # Meta retried an older delivery
    assert _results(api(SEND, {"messages": [_text()]})) == ["accepted"]
    window = api(CONTACTS, {"contacts": [CONTACT]}).json()["contacts"][0]["window"]
    assert window["last_inbound_at"] == (WROTE_AT + timedelta(days=1)).isoformat()


def test_it_refuses_only_the_messages_to_closed_windows_in_a_batch(api, stream, clock):
    wrote(stream)
    body = {"messages": [_text(), _text(OTHER), _template(OTHER), _text(internal_id="again")]}
    assert _results(api(SEND, body)) == ["accepted", REFUSAL, "accepted", "accepted"]


def test_it_asks_for_the_windows_of_a_whole_batch_in_one_query(api, stream, clock):
    numbers = [f"49151000{n:05d}" for n in range(50)]
    for number in numbers[:25]:
        wrote(stream, number)
    api(SEND, {"messages": [_text()]})  # the stream's senders and templates, now cached
    with CaptureQueriesContext(connection) as queries:
        results = _results(api(SEND, {"messages": [_text(n) for n in numbers]}))
    assert results == ["accepted"] * 25 + [REFUSAL] * 25
    windows = [q["sql"] for q in queries if ServiceWindow._meta.db_table in q["sql"]]
    assert len(windows) == 1


def test_a_contact_who_wrote_to_another_stream_is_closed_for_this_one(
    api, account, stream, fake_graph, clock
):
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    wrote(other)
    assert _results(api(SEND, {"messages": [_text()]})) == [REFUSAL]


def test_a_system_notice_is_not_the_contact_writing(api, stream, clock):
    data = json.loads(fixture("system"))
    data["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(
        int(WROTE_AT.timestamp())
    )
    store(stream=stream, events=parse(json.dumps(data).encode()))
    assert _results(api(SEND, {"messages": [_text()]})) == [REFUSAL]


def test_a_contact_keeps_one_row_however_often_they_write(stream, clock):
    for minute in range(5):
        wrote(stream, at=WROTE_AT - timedelta(minutes=minute))
    wrote(stream, OTHER)
    assert ServiceWindow.objects.filter(stream=stream).count() == 2


def test_a_message_from_a_hidden_number_records_no_window(stream, clock):
    store(stream=stream, events=parse(fixture("hidden_number")))
    assert not ServiceWindow.objects.exists()


# -- the setting that turns the check off, and demo streams


def test_a_stream_without_the_check_accepts_a_free_form_message(api, stream, clock):
    account = WhatsAppAccount.objects.get(stream=stream)
    services.service_window_check_set(account=account, enabled=False)
    assert _results(api(SEND, {"messages": [_text()]})) == ["accepted"]


def test_a_demo_stream_treats_every_window_as_open(client, account, whatsapp_access, clock):
    demo = whatsapp_stream(account=account, name="Demo")
    token = stream_token_regenerate(stream=demo)
    response = client.post(
        SEND,
        json.dumps({"messages": [_text(sender=DEMO_SENDER)]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    assert _results(response) == ["accepted"]
    contacts = client.post(
        CONTACTS,
        json.dumps({"contacts": [CONTACT]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    ).json()["contacts"]
    assert contacts == [
        {"phone": CONTACT, "window": {"open": True, "last_inbound_at": None, "closes_at": None}}
    ]


def _tab(stream):
    return reverse("streams:tab", args=[stream.uid, "whatsapp"])


def test_the_check_is_on_for_a_new_stream(stream):
    assert WhatsAppAccount.objects.get(stream=stream).service_window_check is True


def test_an_admin_turns_the_check_off_on_the_whatsapp_tab(owner_client, api, stream, clock):
    page = owner_client.get(_tab(stream)).content.decode()
    assert "Customer service window" in page
    assert 'name="service_window_check" value="on"' in page

    response = owner_client.post(_tab(stream), {"service_window_check": "off"}, follow=True)

    assert "Saved: the send API applies it from now on." in response.content.decode()
    assert WhatsAppAccount.objects.get(stream=stream).service_window_check is False

    owner_client.post(_tab(stream), {"service_window_check": "on"})
    assert WhatsAppAccount.objects.get(stream=stream).service_window_check is True


def test_a_choice_not_offered_leaves_the_check_as_it_was(owner_client, stream):
    response = owner_client.post(_tab(stream), {"service_window_check": "maybe"})
    assert "Choose what happens to a message outside the service window." in (
        response.content.decode()
    )
    assert WhatsAppAccount.objects.get(stream=stream).service_window_check is True


def test_a_member_sees_the_check_but_cannot_turn_it_off(teammate_client, stream):
    page = teammate_client.get(_tab(stream)).content.decode()
    assert "Refused at once outside the window." in page
    assert 'name="service_window_check"' not in page

    response = teammate_client.post(_tab(stream), {"service_window_check": "off"})

    assert response.status_code == 403
    assert WhatsAppAccount.objects.get(stream=stream).service_window_check is True


def test_support_turns_the_check_off_in_the_admin(support_client, stream):
    account = WhatsAppAccount.objects.get(stream=stream)
    url = reverse("admin:whatsapp_whatsappaccount_change", args=[account.pk])
    page = support_client.get(url).content.decode()
    assert 'name="service_window_check"' in page
    assert 'name="business_id"' not in page  # the rest stays read-only

    # The form as the page has it (its inlines' hidden fields), the box left unticked.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    response = support_client.post(url, {**hidden, "_save": "Save"})

    assert response.status_code == 302, response.content.decode()
    account.refresh_from_db()
    assert account.service_window_check is False
    assert account.business_id  # untouched


# -- POST /api/whatsapp/contacts/


def test_it_answers_each_contacts_window(api, stream, clock):
    wrote(stream)
    response = api(CONTACTS, {"contacts": [CONTACT, "+" + OTHER, CONTACT]})
    assert response.status_code == 200
    assert response.json() == {
        "status": True,
        "contacts": [
            {
                "phone": CONTACT,
                "window": {
                    "open": True,
                    "last_inbound_at": WROTE_AT.isoformat(),
                    "closes_at": (WROTE_AT + timedelta(hours=24)).isoformat(),
                },
            },
            {
                "phone": "+" + OTHER,
                "window": {"open": False, "last_inbound_at": None, "closes_at": None},
            },
            {
                "phone": CONTACT,
                "window": {
                    "open": True,
                    "last_inbound_at": WROTE_AT.isoformat(),
                    "closes_at": (WROTE_AT + timedelta(hours=24)).isoformat(),
                },
            },
        ],
    }


def test_a_closed_window_still_says_when_the_contact_last_wrote(api, stream, clock):
    wrote(stream)
    clock.now = WROTE_AT + timedelta(days=2)
    [contact] = api(CONTACTS, {"contacts": [CONTACT]}).json()["contacts"]
    assert contact["window"] == {
        "open": False,
        "last_inbound_at": WROTE_AT.isoformat(),
        "closes_at": None,
    }


def test_it_never_tells_one_streams_contacts_to_another(
    client, account, stream, fake_graph, api, clock
):
    wrote(stream)
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    response = api(
        CONTACTS, {"contacts": [CONTACT]}, authorization=stream_token_regenerate(stream=other)
    )
    assert response.json()["contacts"][0]["window"] == {
        "open": False,
        "last_inbound_at": None,
        "closes_at": None,
    }


@pytest.mark.parametrize("authorization", ["", "tp_not-a-token", "tp_" + "x" * 43])
def test_it_refuses_a_request_without_a_streams_token(api, stream, authorization):
    response = api(CONTACTS, {"contacts": [CONTACT]}, authorization=authorization)
    assert response.status_code == 403
    assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize(
    ("numbers", "position"),
    [
        (["012345678"], 0),
        ([CONTACT, "123456"], 1),
        ([CONTACT, CONTACT, "1" * 16], 2),
        ([4915112345678], 0),
        (["49 151 12345678"], 0),
        ([None], 0),
    ],
)
def test_it_refuses_a_number_not_in_international_format(api, stream, numbers, position):
    response = api(CONTACTS, {"contacts": numbers})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "“contacts” must be phone numbers in international format, digits only (for example "
        f"4915112345678): contacts[{position}] is not."
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "The body must have a “contacts” array of contacts."),
        ({"contacts": CONTACT}, "The body must have a “contacts” array of contacts."),
        ({"contacts": []}, "“contacts” holds 0 contacts; send 1 to 1000 per request."),
        (
            {"contacts": [CONTACT] * 1001},
            "“contacts” holds 1001 contacts; send 1 to 1000 per request.",
        ),
    ],
)
def test_it_refuses_a_body_without_1_to_1000_contacts(api, stream, body, detail):
    response = api(CONTACTS, body)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_it_answers_1000_contacts(api, stream, clock):
    response = api(CONTACTS, {"contacts": [f"4915100{n:06d}" for n in range(1000)]})
    assert response.status_code == 200
    assert len(response.json()["contacts"]) == 1000


def test_it_only_answers_post(client, stream, token):
    response = client.get(CONTACTS, HTTP_AUTHORIZATION=token)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


# -- the Messages tab


def _messages_tab(client, stream, number):
    url = reverse("streams:tab", args=[stream.uid, "messages"])
    response = client.get(url, {"number": number})
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_messages_tab_shows_an_open_window_until_it_closes(owner_client, stream, clock):
    wrote(stream)
    page = _messages_tab(owner_client, stream, "+49 151 12345678")
    assert 'Customer service window with <span class="number">4915112345678</span>:' in page
    assert "<strong>open</strong> until" in page
    assert f'datetime="{(WROTE_AT + timedelta(hours=24)).isoformat()}"' in page


def test_the_messages_tab_shows_a_closed_window(owner_client, stream, clock):
    wrote(stream)
    clock.now = WROTE_AT + timedelta(days=2)
    page = _messages_tab(owner_client, stream, CONTACT)
    assert "<strong>closed</strong>. They last wrote on" in page
    assert "only an approved template reaches them" in page


def test_the_messages_tab_shows_a_window_for_a_contact_who_never_wrote(owner_client, stream):
    page = _messages_tab(owner_client, stream, OTHER)
    assert "<strong>closed</strong>. They have not written to this stream" in page


def test_the_messages_tab_shows_no_window_for_part_of_a_number(owner_client, stream, clock):
    wrote(stream)
    assert "Customer service window" not in _messages_tab(owner_client, stream, "12345")


def test_the_messages_tab_shows_another_streams_contact_as_closed(
    owner_client, account, stream, fake_graph, clock
):
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    wrote(other)
    assert "<strong>closed</strong>" in _messages_tab(owner_client, stream, CONTACT)


def test_the_messages_tab_shows_a_demo_streams_window_open(owner_client, account, whatsapp_access):
    demo = whatsapp_stream(account=account, name="Demo")
    page = _messages_tab(owner_client, demo, CONTACT)
    assert "<strong>open</strong>: a demo stream's windows never close." in page
