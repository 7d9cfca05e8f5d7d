"""The send API's interactive, sticker and contacts messages, and replies of every type: each
accepted shape sent through the worker to the fake Graph API in Meta's format, each refused
shape refused at once with the path of the field at fault, and refused by the fake Graph API
too when it reaches WhatsApp as it is."""

import copy
import json

import pytest
import requests

from tests.factories import contact_wrote, whatsapp_stream
from whatsapp.models import Message
from whatsapp.outbox import send

pytestmark = pytest.mark.django_db

URL = "/api/whatsapp/send/"
SENDER = "15550001111"  # the fake business's number
RECIPIENT = "4915112345678"

BUTTONS = {
    "type": "button",
    "header": {"type": "image", "image": {"link": "https://example.com/parcel.jpg"}},
    "body": {"text": "Deliver your parcel tomorrow?"},
    "footer": {"text": "Reply by 6 pm"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "deliver-yes", "title": "Yes, deliver"}},
            {"type": "reply", "reply": {"id": "deliver-later", "title": "Another day"}},
            {"type": "reply", "reply": {"id": "deliver-shop", "title": "To the shop"}},
        ]
    },
}
LIST = {
    "type": "list",
    "header": {"type": "text", "text": "Delivery slots"},
    "body": {"text": "When should we come?"},
    "action": {
        "button": "Choose a slot",
        "sections": [
            {
                "title": "Tomorrow",
                "rows": [
                    {"id": "slot-am", "title": "Morning", "description": "8:00 to 12:00"},
                    {"id": "slot-pm", "title": "Afternoon"},
                ],
            },
            {"title": "Saturday", "rows": [{"id": "slot-sat", "title": "All day"}]},
        ],
    },
}
CTA_URL = {
    "type": "cta_url",
    "body": {"text": "Your parcel is on its way."},
    "action": {
        "name": "cta_url",
        "parameters": {"display_text": "Track it", "url": "https://example.com/t/1001"},
    },
}
CONTACTS = [
    {
        "name": {"formatted_name": "Anna Schmidt", "first_name": "Anna", "last_name": "Schmidt"},
        "org": {"company": "Acme Ltd", "title": "Driver"},
        "phones": [{"phone": "+49 151 1234 5678", "type": "WORK", "wa_id": "4915112345678"}],
        "emails": [{"email": "anna@acme.test", "type": "WORK"}],
        "urls": [{"url": "https://acme.test", "type": "WORK"}],
        "addresses": [{"street": "Alexanderplatz 1", "city": "Berlin", "country_code": "DE"}],
        "birthday": "1990-05-12",
    },
    {"name": {"formatted_name": "Acme Support"}},
]


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    """A real stream whose recipient has written: its service window is open."""
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    contact_wrote(stream, RECIPIENT)
    return stream


@pytest.fixture
def api(client, token):
    """POST the messages with the stream's token; the answer's results."""

    def post(*messages):
        full = [{"sender": SENDER, "recipient_phone": RECIPIENT, **m} for m in messages]
        response = client.post(
            URL,
            json.dumps({"messages": full}),
            content_type="application/json",
            HTTP_AUTHORIZATION=token,
        )
        assert response.status_code == 200, response.content
        return response.json()["messages"]

    return post


@pytest.fixture
def sent(api, fake_graph):
    """Accept one message through the API, send it, and give what the fake Graph API got."""

    def sent(message: dict) -> dict:
        [result] = api(message)
        assert result["error"] is None, result
        row = Message.objects.get(uuid=result["message_uuid"])
        send.messages_send(message_ids=[row.pk])
        row.refresh_from_db()
        assert row.status == Message.Status.SENT, (row.error_code, row.error_message)
        return fake_graph.sent[-1].payload

    return sent


@pytest.fixture
def earlier(stream, sent):
    """A message of the stream that WhatsApp accepted, to reply to."""
    sent({"type": "text", "message_content": "Your order is on its way"})
    return Message.objects.get()


# -- accepted, and sent in Meta's format


@pytest.mark.parametrize("interactive", [BUTTONS, LIST, CTA_URL], ids=lambda i: i["type"])
def test_it_sends_an_interactive_message_as_meta_takes_it(sent, interactive):
    payload = sent({"type": "interactive", "interactive": interactive})
    assert payload["type"] == "interactive"
    assert payload["interactive"] == interactive


def test_it_sends_a_list_of_one_section_without_a_title(sent):
    action = {"button": "Choose", "sections": [{"rows": [{"id": "a", "title": "A"}]}]}
    interactive = {"type": "list", "body": {"text": "Pick one"}, "action": action}
    assert sent({"type": "interactive", "interactive": interactive})["interactive"] == interactive


def test_it_sends_only_the_fields_meta_knows(sent):
    interactive = copy.deepcopy(CTA_URL)
    interactive["body"]["emphasis"] = "bold"
    interactive["colour"] = "red"
    assert sent({"type": "interactive", "interactive": interactive})["interactive"] == CTA_URL


def test_it_sends_interactive_texts_at_metas_limits(sent):
    interactive = {
        "type": "button",
        "header": {"type": "text", "text": "h" * 60},
        "body": {"text": "b" * 1024},
        "footer": {"text": "f" * 60},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "i" * 256, "title": "t" * 20}},
                {"type": "reply", "reply": {"id": "j", "title": "u"}},
            ]
        },
    }
    assert sent({"type": "interactive", "interactive": interactive})["interactive"] == interactive


def test_it_sends_a_list_with_a_body_of_4096_characters(sent):
    interactive = _with(LIST, ("body", "text"), "b" * 4096)
    assert sent({"type": "interactive", "interactive": interactive})["interactive"] == interactive


def test_it_sends_a_list_of_ten_rows_over_ten_sections(sent):
    sections = [{"title": f"S{n}", "rows": [{"id": f"r{n}", "title": "r" * 24}]} for n in range(10)]
    interactive = {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {"button": "b" * 20, "sections": sections},
    }
    assert sent({"type": "interactive", "interactive": interactive})["interactive"] == interactive


def test_it_sends_a_sticker_by_link(sent):
    payload = sent({"type": "sticker", "media": {"url": "https://example.com/thanks.webp"}})
    assert (payload["type"], payload["sticker"]) == (
        "sticker",
        {"link": "https://example.com/thanks.webp"},
    )


def test_it_sends_a_sticker_without_a_caption(sent):
    media = {"url": "https://example.com/thanks.webp", "caption": "Thanks"}
    assert sent({"type": "sticker", "media": media})["sticker"] == {
        "link": "https://example.com/thanks.webp"
    }


def test_it_sends_contact_cards(sent):
    payload = sent({"type": "contacts", "contacts": CONTACTS})
    assert (payload["type"], payload["contacts"]) == ("contacts", CONTACTS)


REPLIES = [
    {"type": "text", "message_content": "Yes"},
    {"type": "template", "template": {"name": "hello_world", "language": "en_US"}},
    {"type": "image", "media": {"url": "https://example.com/a.jpg"}},
    {"type": "sticker", "media": {"url": "https://example.com/a.webp"}},
    {"type": "location", "location": {"latitude": 52.5, "longitude": 13.4}},
    {"type": "interactive", "interactive": BUTTONS},
    {"type": "contacts", "contacts": CONTACTS},
]


@pytest.mark.parametrize("message", REPLIES, ids=lambda m: m["type"])
def test_it_sends_a_reply_of_any_type_with_the_quoted_wamid_as_context(sent, earlier, message):
    payload = sent({**message, "reply_to": str(earlier.uuid)})
    assert payload["context"] == {"message_id": earlier.wamid}


# -- refused at once, naming the field


def _with(base: dict, path: tuple, value) -> dict:
    """``base`` with the value at ``path`` replaced (``...``: removed)."""
    changed = copy.deepcopy(base)
    *parents, last = path
    node = changed
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return changed


def _buttons(*titles_and_ids) -> list:
    return [{"type": "reply", "reply": {"id": i, "title": t}} for t, i in titles_and_ids]


def _rows(count: int, start: int = 0) -> list:
    return [{"id": f"r{n}", "title": f"Row {n}"} for n in range(start, start + count)]


REFUSED_INTERACTIVE = [
    (
        _with(BUTTONS, ("type",), "carousel"),
        "interactive.type must be one of: button, list, cta_url.",
    ),
    (_with(BUTTONS, ("body",), ...), "interactive.body.text is required."),
    (_with(BUTTONS, ("body", "text"), ""), "interactive.body.text is required."),
    (
        _with(BUTTONS, ("body", "text"), "b" * 1025),
        "interactive.body.text has at most 1024 characters.",
    ),
    (
        _with(LIST, ("body", "text"), "b" * 4097),
        "interactive.body.text has at most 4096 characters.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 0, "reply", "id"), " deliver-yes"),
        "interactive.action.buttons[0].reply.id has no leading or trailing spaces.",
    ),
    (
        _with(BUTTONS, ("footer", "text"), "f" * 61),
        "interactive.footer.text has at most 60 characters.",
    ),
    (
        _with(BUTTONS, ("header",), {"type": "text", "text": "h" * 61}),
        "interactive.header.text has at most 60 characters.",
    ),
    (
        _with(BUTTONS, ("header",), {"type": "sticker"}),
        "interactive.header.type must be one of: text, image, video, document.",
    ),
    (
        _with(BUTTONS, ("header", "image", "link"), "ftp://example.com/a.jpg"),
        "interactive.header.image.link must be an http(s) URL WhatsApp can download.",
    ),
    (_with(BUTTONS, ("action",), ...), "interactive.action is required."),
    (_with(BUTTONS, ("action", "buttons"), []), "interactive.action.buttons has 1 to 3 items."),
    (
        _with(BUTTONS, ("action", "buttons"), _buttons(*[(f"B{n}", f"b{n}") for n in range(4)])),
        "interactive.action.buttons has 1 to 3 items.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 1, "type"), "url"),
        "interactive.action.buttons[1].type must be reply.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 1, "reply", "title"), "t" * 21),
        "interactive.action.buttons[1].reply.title has at most 20 characters.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 2, "reply", "id"), "i" * 257),
        "interactive.action.buttons[2].reply.id has at most 256 characters.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 2, "reply", "id"), "deliver-yes"),
        "interactive.action.buttons[2].reply.id repeats an earlier one: each must be unique.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 1, "reply", "title"), "Yes, deliver"),
        "interactive.action.buttons[1].reply.title repeats an earlier one: each must be unique.",
    ),
    (
        _with(BUTTONS, ("action", "buttons", 0, "reply"), ...),
        "interactive.action.buttons[0].reply is required.",
    ),
    (
        _with(LIST, ("header",), {"type": "image", "image": {"link": "https://e.com/a.jpg"}}),
        "interactive.header.type must be one of: text.",
    ),
    (
        _with(LIST, ("action", "button"), "b" * 21),
        "interactive.action.button has at most 20 characters.",
    ),
    (_with(LIST, ("action", "button"), ...), "interactive.action.button is required."),
    (_with(LIST, ("action", "sections"), []), "interactive.action.sections has 1 to 10 items."),
    (
        _with(
            LIST,
            ("action", "sections"),
            [{"title": f"S{n}", "rows": _rows(1, n)} for n in range(11)],
        ),
        "interactive.action.sections has 1 to 10 items.",
    ),
    (
        _with(LIST, ("action", "sections"), [{"title": "A", "rows": _rows(11)}]),
        "interactive.action.sections[0].rows has 1 to 10 items.",
    ),
    (
        _with(
            LIST,
            ("action", "sections"),
            [{"title": "A", "rows": _rows(6)}, {"title": "B", "rows": _rows(5, 6)}],
        ),
        "interactive.action.sections have at most 10 rows in all.",
    ),
    (
        _with(LIST, ("action", "sections", 1, "title"), ...),
        "interactive.action.sections[1].title is required when there is more than one section.",
    ),
    (
        _with(LIST, ("action", "sections", 0, "title"), "s" * 25),
        "interactive.action.sections[0].title has at most 24 characters.",
    ),
    (
        _with(LIST, ("action", "sections", 0, "rows", 1, "title"), "r" * 25),
        "interactive.action.sections[0].rows[1].title has at most 24 characters.",
    ),
    (
        _with(LIST, ("action", "sections", 0, "rows", 0, "description"), "d" * 73),
        "interactive.action.sections[0].rows[0].description has at most 72 characters.",
    ),
    (
        _with(LIST, ("action", "sections", 0, "rows", 1, "id"), "r" * 201),
        "interactive.action.sections[0].rows[1].id has at most 200 characters.",
    ),
    (
        _with(LIST, ("action", "sections", 1, "rows", 0, "id"), "slot-am"),
        "interactive.action.sections[1].rows[0].id repeats an earlier one: each must be unique.",
    ),
    (_with(CTA_URL, ("action", "name"), "cta_call"), "interactive.action.name must be cta_url."),
    (
        _with(CTA_URL, ("action", "parameters", "display_text"), "d" * 21),
        "interactive.action.parameters.display_text has at most 20 characters.",
    ),
    (
        _with(CTA_URL, ("action", "parameters", "url"), "javascript:alert(1)"),
        "interactive.action.parameters.url must be an http(s) URL.",
    ),
    (
        _with(CTA_URL, ("action", "parameters", "url"), ...),
        "interactive.action.parameters.url is required.",
    ),
]


@pytest.mark.parametrize(("interactive", "says"), REFUSED_INTERACTIVE)
def test_it_refuses_an_interactive_message_meta_would_refuse(api, interactive, says):
    [result] = api({"type": "interactive", "interactive": interactive})
    assert (result["error"], result["detail"]) == ("INVALID_MESSAGE", says)
    assert not Message.objects.exists()


# The same objects sent to WhatsApp as they are: the fake Graph API refuses them too, as Meta
# does. Meta fetches a header's media link only after accepting the message (a link it cannot
# fetch fails the message later), so that one is not among them.
@pytest.mark.parametrize(
    "interactive",
    [case for case, says in REFUSED_INTERACTIVE if "can download" not in says],
)
def test_the_fake_graph_api_refuses_them_as_meta_does(fake_graph, interactive):
    phone_number_id = fake_graph.business.phone_numbers[0]["id"]
    response = requests.post(
        f"{fake_graph.url}/v23.0/{phone_number_id}/messages",
        json={
            "messaging_product": "whatsapp",
            "to": RECIPIENT,
            "type": "interactive",
            "interactive": interactive,
        },
        headers={"Authorization": f"Bearer {fake_graph.business.token}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] in (100, 131009)


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"type": "interactive"}, "interactive is required."),
        ({"type": "interactive", "interactive": "buttons"}, "interactive must be an object."),
        ({"type": "contacts"}, "contacts is required."),
        ({"type": "contacts", "contacts": []}, "contacts has at least 1 item."),
        ({"type": "contacts", "contacts": {"name": "A"}}, "contacts must be an array."),
        ({"type": "contacts", "contacts": ["Anna"]}, "Each of contacts must be an object."),
        ({"type": "contacts", "contacts": [{}]}, "contacts[0].name is required."),
        (
            {"type": "contacts", "contacts": [CONTACTS[0], {"name": {"first_name": "A"}}]},
            "contacts[1].name.formatted_name is required.",
        ),
        (
            {"type": "contacts", "contacts": [_with(CONTACTS[0], ("phones",), "+49151")]},
            "contacts[0].phones must be an array.",
        ),
        (
            {"type": "contacts", "contacts": [_with(CONTACTS[0], ("phones", 0, "phone"), 49151)]},
            "contacts[0].phones[0].phone must be a string.",
        ),
        (
            {"type": "contacts", "contacts": [_with(CONTACTS[0], ("birthday",), "12.05.1990")]},
            "contacts[0].birthday must be a date, YYYY-MM-DD.",
        ),
        ({"type": "sticker"}, "media must be an object."),
        (
            {"type": "sticker", "media": {"url": "ftp://example.com/a.webp"}},
            "media.url must be an http(s) URL WhatsApp can download.",
        ),
        (
            {"type": "location", "location": {"latitude": 1, "longitude": 2}, "reply_to": "x"},
            "reply_to must be a message_uuid.",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_refuses_other_shapes_meta_would_refuse(api, message, says):
    [result] = api(message)
    assert (result["error"], result["detail"]) == ("INVALID_MESSAGE", says)


def test_the_fake_graph_api_refuses_a_contact_card_without_a_formatted_name(fake_graph):
    phone_number_id = fake_graph.business.phone_numbers[0]["id"]
    response = requests.post(
        f"{fake_graph.url}/v23.0/{phone_number_id}/messages",
        json={
            "messaging_product": "whatsapp",
            "to": RECIPIENT,
            "type": "contacts",
            "contacts": [{"name": {"first_name": "Anna"}}],
        },
        headers={"Authorization": f"Bearer {fake_graph.business.token}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "(#100) The parameter contacts[0]['name']['formatted_name'] is required."
    )
