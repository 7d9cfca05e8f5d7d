"""The fake Graph API's ``POST /{phone_number_id}/messages`` and its media, spoken to over plain
HTTP."""

import hashlib
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from whatsapp.testing.fake_graph import BAD_GATEWAY, PAIR_RATE_LIMITED, UNDELIVERABLE, FakeGraph

# Stands for a media id the fake issued (one it keeps for the business).
ISSUED = object()

TEXT = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "4915112345678",
    "type": "text",
    "text": {"body": "hi", "preview_url": False},
}


@pytest.fixture
def business(fake_graph):
    return fake_graph.business


@pytest.fixture
def phone_number_id(business):
    return business.phone_numbers[0]["id"]


@pytest.fixture
def send(fake_graph, business, phone_number_id):
    """POST a payload to the fake, from the seeded business's phone number and with its token."""

    def send(payload, *, token=business.token, sender=phone_number_id):
        return requests.post(
            f"{fake_graph.url}/v23.0/{sender}/messages",
            json=payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )

    return send


def _error(response) -> tuple[int, int, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_it_answers_an_accepted_message_as_meta_does(send):
    response = send(TEXT)

    assert response.status_code == 200
    answer = response.json()
    wamid = answer["messages"][0]["id"]
    assert re.fullmatch(r"wamid\.[A-Za-z0-9+/]+=*", wamid)
    assert answer == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "4915112345678", "wa_id": "4915112345678"}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }


def test_it_gives_every_message_its_own_wamid(send):
    wamids = {send(TEXT).json()["messages"][0]["id"] for _ in range(20)}
    assert len(wamids) == 20


@pytest.mark.parametrize(
    "content",
    [
        {"type": "text", "text": {"body": "hi"}},
        {"text": {"body": "no type: text, as on Meta"}},
        {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
        {"type": "image", "image": {"link": "https://acme.test/a.png", "caption": "A"}},
        {"type": "image", "image": {"id": ISSUED}},
        {"type": "video", "video": {"id": ISSUED}},
        {"type": "audio", "audio": {"link": "https://acme.test/a.ogg"}},
        {"type": "document", "document": {"link": "https://acme.test/a.pdf", "filename": "a"}},
        {"type": "sticker", "sticker": {"id": ISSUED}},
        {"type": "location", "location": {"latitude": 0, "longitude": -122.4}},
        {"type": "reaction", "reaction": {"message_id": "wamid.HBgL", "emoji": "\U0001f44d"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.HBgL", "emoji": ""}},
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Confirm?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a slot"},
                "action": {
                    "button": "Slots",
                    "sections": [{"rows": [{"id": "am", "title": "Morning"}]}],
                },
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "Track your parcel"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Track", "url": "https://acme.test/t"},
                },
            },
        },
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Pablo Morales"}}]},
    ],
    ids=lambda content: content.get("type", "untyped"),
)
def test_it_accepts_each_message_type_with_its_required_fields(send, fake_graph, content):
    kind = content.get("type")
    if isinstance(content.get(kind), dict) and content[kind].get("id") is ISSUED:
        media_id = fake_graph.add_media(fake_graph.business, b"\x89PNG\r\n\x1a\n", "image/png")
        content = {**content, kind: {"id": media_id}}
    response = send({"messaging_product": "whatsapp", "to": "+4915112345678", **content})
    assert response.status_code == 200, response.text


def test_it_refuses_a_media_id_it_did_not_issue(send):
    response = send(
        {
            "messaging_product": "whatsapp",
            "to": "4915112345678",
            "type": "image",
            "image": {"id": "1037543291543636"},
        }
    )
    assert _error(response) == (400, 100, "(#100) Param image['id'] is not a valid media id.")


def test_it_refuses_a_media_id_of_another_business(send, fake_graph):
    other = fake_graph.add_business()
    media_id = fake_graph.add_media(other, b"\x89PNG\r\n\x1a\n", "image/png")
    response = send(
        {
            "messaging_product": "whatsapp",
            "to": "4915112345678",
            "type": "image",
            "image": {"id": media_id},
        }
    )
    assert _error(response)[:2] == (400, 100)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({**TEXT, "messaging_product": None}, "The parameter messaging_product is required."),
        (
            {**TEXT, "messaging_product": "sms"},
            'Param messaging_product must be one of {WHATSAPP} - got "sms".',
        ),
        ({**TEXT, "to": ""}, "The parameter to is required."),
        (
            {**TEXT, "to": "call me"},
            'Param to must be a phone number or WhatsApp ID - got "call me".',
        ),
        (
            {**TEXT, "type": "fax"},
            "Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, "
            'REACTION, STICKER, TEMPLATE, TEXT, VIDEO} - got "fax".',
        ),
        ({**TEXT, "type": "image"}, "The parameter image is required."),
        ({**TEXT, "text": {"preview_url": True}}, "The parameter text['body'] is required."),
        (
            {**TEXT, "text": {"body": "x" * 4097}},
            "Param text['body'] must be a string of at most 4096 chars.",
        ),
        (
            {**TEXT, "type": "template", "template": {"language": {"code": "en_US"}}},
            "The parameter template['name'] is required.",
        ),
        (
            {**TEXT, "type": "template", "template": {"name": "hello_world", "language": {}}},
            "The parameter template['language'] is required.",
        ),
        (
            {**TEXT, "type": "template", "template": {"name": "hi", "language": {"policy": "x"}}},
            "The parameter template['language']['code'] is required.",
        ),
        (
            {**TEXT, "type": "document", "document": {"filename": "a.pdf"}},
            "The parameter document['link'] or document['id'] is required.",
        ),
        (
            {**TEXT, "type": "location", "location": {"latitude": 52.5}},
            "The parameter location['longitude'] is required.",
        ),
        (
            {**TEXT, "type": "location", "location": {"latitude": "north", "longitude": 1}},
            "Param location['latitude'] must be a number.",
        ),
        (
            {**TEXT, "type": "reaction", "reaction": {"emoji": "\U0001f44d"}},
            "The parameter reaction['message_id'] is required.",
        ),
        (
            {**TEXT, "type": "reaction", "reaction": {"message_id": "wamid.HBgL"}},
            "The parameter reaction['emoji'] is required.",
        ),
        (
            {**TEXT, "type": "interactive", "interactive": {"type": "button"}},
            "The parameter interactive['body'] is required.",
        ),
        (
            {
                **TEXT,
                "type": "interactive",
                "interactive": {"type": "button", "body": {"text": "Hi"}},
            },
            "The parameter interactive['action'] is required.",
        ),
        (
            {**TEXT, "type": "contacts", "contacts": [{"phones": []}]},
            "The parameter contacts[0]['name'] is required.",
        ),
        ({**TEXT, "context": {}}, "The parameter context['message_id'] is required."),
        (None, "The parameter messaging_product is required."),
    ],
)
def test_it_rejects_a_malformed_message_with_metas_code_100(send, fake_graph, payload, message):
    response = send(payload)
    assert _error(response) == (400, 100, f"(#100) {message}")
    assert fake_graph.sent_count == 0


def _interactive(**fields):
    interactive = {"type": "button", "body": {"text": "Confirm?"}, **fields}
    interactive.setdefault(
        "action", {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]}
    )
    return {**TEXT, "type": "interactive", "interactive": interactive}


def _reply(button_id, title):
    return {"type": "reply", "reply": {"id": button_id, "title": title}}


def _list(*sections):
    return {"button": "Choose", "sections": list(sections)}


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        (
            _interactive(body={"text": "b" * 1025}),
            "Body text length invalid. Min length: 1, Max length: 1024",
        ),
        (
            _interactive(action={"buttons": [_reply(str(n), str(n)) for n in range(4)]}),
            "Number of buttons invalid. Min: 1, Max: 3",
        ),
        (
            _interactive(action={"buttons": [_reply("y", "t" * 21)]}),
            "Button title length invalid. Min length: 1, Max length: 20",
        ),
        (
            _interactive(action={"buttons": [_reply("y", "Yes"), _reply("y", "No")]}),
            "Button id must be unique within the message",
        ),
        (
            _interactive(
                type="list",
                action=_list(
                    {"title": "A", "rows": [{"id": str(n), "title": "r"} for n in range(11)]}
                ),
            ),
            "Number of rows invalid. Min: 1, Max: 10",
        ),
        (
            _interactive(
                type="list",
                action=_list(
                    {"title": "A", "rows": [{"id": str(n), "title": "r"} for n in range(6)]},
                    {"title": "B", "rows": [{"id": str(n), "title": "r"} for n in range(6, 11)]},
                ),
            ),
            "Total row count exceed max allowed count: 10",
        ),
        (
            _interactive(
                type="list",
                action=_list(
                    {"rows": [{"id": "a", "title": "A"}]}, {"rows": [{"id": "b", "title": "B"}]}
                ),
            ),
            "Section title is required when there are multiple sections",
        ),
        (
            _interactive(
                type="list",
                header={"type": "image", "image": {"link": "https://acme.test/a.png"}},
                action=_list({"rows": [{"id": "a", "title": "A"}]}),
            ),
            "Header type must be text for an interactive list message",
        ),
        (
            _interactive(
                type="cta_url",
                action={
                    "name": "cta_url",
                    "parameters": {"display_text": "Go", "url": "mailto:a@b"},
                },
            ),
            "Invalid URL in interactive['action']['parameters']['url']",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_interactive_value_meta_does_not_take_with_131009(
    send, fake_graph, payload, details
):
    response = send(payload)
    assert _error(response) == (400, 131009, "(#131009) Parameter value is not valid")
    assert response.json()["error"]["error_data"]["details"] == details
    assert fake_graph.sent_count == 0


def test_it_rejects_an_unknown_phone_number_id(send):
    response = send(TEXT, sender="109999999999999")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert error["message"].startswith(
        "Unsupported post request. Object with ID '109999999999999' does not exist"
    )


def test_it_rejects_a_wrong_token(send, fake_graph):
    response = send(TEXT, token="revoked-token")
    assert _error(response) == (401, 190, "Invalid OAuth access token - Cannot parse access token")
    assert fake_graph.sent_count == 0


def test_it_rejects_the_token_of_another_business(send, fake_graph):
    other = fake_graph.add_business(name="Other Co")
    response = send(TEXT, token=other.token)
    assert (response.status_code, response.json()["error"]["error_subcode"]) == (400, 33)


def test_it_records_accepted_sends_with_the_time_they_were_accepted(
    send, fake_graph, phone_number_id
):
    before = time.time()
    wamids = [send({**TEXT, "to": to}).json()["messages"][0]["id"] for to in ("491511", "491522")]
    after = time.time()

    first, second = fake_graph.sent
    assert (first.phone_number_id, first.to, first.type, first.payload, first.wamid) == (
        phone_number_id,
        "491511",
        "text",
        {**TEXT, "to": "491511"},
        wamids[0],
    )
    assert (second.to, second.wamid) == ("491522", wamids[1])
    assert before <= first.at <= second.at <= after
    assert fake_graph.sent_count == 2


def test_it_reads_out_the_sends_after_the_ones_already_read(send, fake_graph):
    for body in ("first", "second", "third"):
        send({**TEXT, "text": {"body": body}})

    def read_out(**params):
        answer = requests.get(f"{fake_graph.url}/_fake/sent", params=params, timeout=5)
        return [sent["text"] for sent in answer.json()["sent"]]

    assert read_out() == ["first", "second", "third"]
    assert read_out(after=2) == ["third"]
    assert read_out(after=3) == []


def test_it_fails_exactly_the_next_sends_asked_for(send, fake_graph):
    fake_graph.fail_next(PAIR_RATE_LIMITED, path="/messages", times=2)

    responses = [send(TEXT) for _ in range(4)]

    assert [r.status_code for r in responses] == [400, 400, 200, 200]
    assert [r.json()["error"]["code"] for r in responses[:2]] == [131056, 131056]
    assert fake_graph.sent_count == 2


def test_it_fails_the_fraction_of_sends_asked_for_spread_evenly(send, fake_graph):
    fake_graph.fail_fraction(0.25, UNDELIVERABLE, path="/messages")

    statuses = [send(TEXT).status_code for _ in range(12)]

    assert statuses == [200, 200, 200, 400] * 3
    assert fake_graph.sent_count == 9


def test_it_stops_failing_sends_once_the_failures_are_cleared(send, fake_graph):
    fake_graph.fail_fraction(1.0, UNDELIVERABLE, path="/messages")
    fake_graph.fail_next(PAIR_RATE_LIMITED, path="/messages", times=5)
    fake_graph.clear_failures()
    assert send(TEXT).status_code == 200


def test_it_delays_only_the_answers_to_sends_by_the_send_latency(send, fake_graph, business):
    fake_graph.send_latency = 0.3

    started = time.monotonic()
    requests.get(
        f"{fake_graph.url}/v23.0/{business.waba_id}",
        headers={"Authorization": f"Bearer {business.token}"},
        timeout=5,
    )
    read = time.monotonic() - started
    send(TEXT)
    sent = time.monotonic() - started - read

    assert read < 0.3 <= sent


def test_it_keeps_no_requests_when_recording_them_is_off():
    with FakeGraph(record_requests=False) as fake:
        business = fake.add_business()
        requests.post(
            f"{fake.url}/v23.0/{business.phone_numbers[0]['id']}/messages",
            json=TEXT,
            headers={"Authorization": f"Bearer {business.token}"},
            timeout=5,
        )
        assert (fake.requests, fake.sent_count) == ([], 1)


def test_it_serves_sends_from_the_command_line_with_the_send_latency():
    fake = subprocess.Popen(
        [
            *(sys.executable, "-m", "whatsapp.testing.fake_graph"),
            *("--port", "0", "--send-latency", "0.2"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = ""
        for line in fake.stdout:  # up to the banner's last line (or the end, should it fail)
            banner += line
            if line.startswith("  Latency:"):
                break
        assert "Latency:      0 s, sends 0.2 s" in banner
        url = re.search(r"WHATSAPP_GRAPH_URL=(\S+)", banner)[1]
        token = re.search(r"Access token: (\S+)", banner)[1]
        phone_number_id = re.search(r"Phone number id: (\d+)", banner)[1]

        started = time.monotonic()
        response = requests.post(
            f"{url}/v23.0/{phone_number_id}/messages",
            json=TEXT,
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert (response.status_code, time.monotonic() - started >= 0.2) == (200, True)
    finally:
        fake.send_signal(signal.SIGTERM)
        output = fake.communicate(timeout=10)[0]
    assert "Messages accepted: 1 in " in output


# Media a customer sent: GET /{media_id}, then the URL it answers.

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _get(url, token, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, params=params, headers=headers, timeout=5)


def test_it_describes_media_as_meta_does_with_a_url_back_at_the_fake(fake_graph, business):
    media_id = fake_graph.add_media(business, IMAGE, "image/png")

    response = _get(f"{fake_graph.url}/v23.0/{media_id}", business.token)

    assert response.status_code == 200
    info = response.json()
    url = info.pop("url")
    assert info == {
        "messaging_product": "whatsapp",
        "id": media_id,
        "mime_type": "image/png",
        "sha256": hashlib.sha256(IMAGE).hexdigest(),
        "file_size": len(IMAGE),
    }
    assert url.startswith(f"{fake_graph.url}/whatsapp_business/attachments/?mid={media_id}&")


def test_it_serves_the_media_url_with_the_businesss_token_only(fake_graph, business):
    other = fake_graph.add_business(name="Other Co")
    media_id = fake_graph.add_media(business, IMAGE, "image/png")
    url = _get(f"{fake_graph.url}/v23.0/{media_id}", business.token).json()["url"]

    download = _get(url, business.token)
    assert (download.status_code, download.headers["Content-Type"]) == (200, "image/png")
    assert download.content == IMAGE
    for token in (None, "wrong", other.token):
        refused = _get(url, token)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, 190)


def test_it_answers_a_new_url_each_time_and_404_once_one_expired(fake_graph, business):
    media_id = fake_graph.add_media(business, IMAGE)
    first = _get(f"{fake_graph.url}/v23.0/{media_id}", business.token).json()["url"]
    fake_graph.media_url_ttl = 0
    expired = _get(f"{fake_graph.url}/v23.0/{media_id}", business.token).json()["url"]

    assert first != expired
    assert _get(first, business.token).status_code == 200
    assert _get(expired, business.token).status_code == 404
    tampered = first.replace(f"mid={media_id}", "mid=1")
    assert _get(tampered, business.token).status_code == 404


def test_it_answers_unknown_media_and_another_businesss_media_with_code_100(fake_graph, business):
    other = fake_graph.add_business(name="Other Co")
    theirs = fake_graph.add_media(other, IMAGE)
    for media_id in ("1399999999999999", theirs):
        response = _get(f"{fake_graph.url}/v23.0/{media_id}", business.token)
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)


def test_it_fails_media_downloads_when_asked_to(fake_graph, business):
    media_id = fake_graph.add_media(business, IMAGE)
    url = _get(f"{fake_graph.url}/v23.0/{media_id}", business.token).json()["url"]
    fake_graph.fail_next(BAD_GATEWAY, path="/whatsapp_business/attachments")

    assert _get(url, business.token).status_code == 502
    assert _get(url, business.token).content == IMAGE


# Uploads: POST /{phone_number_id}/media, multipart


@pytest.fixture
def upload(fake_graph, business, phone_number_id):
    """POST a multipart upload to the fake, as Meta documents it."""

    def upload(data, mime_type, *, token=business.token, **fields):
        form = {"messaging_product": "whatsapp", "type": mime_type, **fields}
        return requests.post(
            f"{fake_graph.url}/v23.0/{phone_number_id}/media",
            data={k: v for k, v in form.items() if v is not None},
            files={"file": ("file", data, mime_type)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )

    return upload


def test_it_takes_an_upload_and_answers_its_media_id(upload, send, fake_graph):
    response = upload(b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png")

    assert response.status_code == 200, response.text
    media_id = response.json()["id"]
    assert [(u.id, u.mime_type) for u in fake_graph.uploads] == [(media_id, "image/png")]
    image = {"type": "image", "image": {"id": media_id}}
    assert send({"messaging_product": "whatsapp", "to": "4915112345678", **image}).ok


def test_it_refuses_an_upload_of_a_type_meta_does_not_take(upload, fake_graph):
    response = upload(b"<svg/>", "image/svg+xml")

    status, code, message = _error(response)
    assert (status, code) == (400, 100)
    assert message.startswith("(#100) Param file must be a file with one of the following types")
    assert fake_graph.uploads == []


def test_it_refuses_an_upload_larger_than_its_type_takes(upload, fake_graph):
    response = upload(b"\xff\xd8\xff" + bytes(5 * 1024 * 1024), "image/jpeg")

    assert _error(response) == (400, 131053, "(#131053) Media upload error")
    assert fake_graph.uploads == []


def test_it_refuses_an_upload_without_messaging_product(upload):
    response = upload(b"%PDF-1.7", "application/pdf", messaging_product=None)

    assert _error(response) == (400, 100, "(#100) The parameter messaging_product is required.")


def test_it_refuses_an_upload_with_another_businesss_token(upload, fake_graph):
    other = fake_graph.add_business()

    response = upload(b"%PDF-1.7", "application/pdf", token=other.token)

    assert _error(response)[:2] == (400, 100)
    assert fake_graph.uploads == []


# -- read receipts: the same edge, with "status": "read"


def _read(wamid, **fields):
    return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid, **fields}


def test_it_marks_a_received_message_read_as_meta_does(fake_graph, business, send):
    wamid = fake_graph.add_received(business)
    response = send(_read(wamid))
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert [mark.payload for mark in fake_graph.read] == [_read(wamid)]
    assert fake_graph.sent == []


def test_it_takes_the_typing_indicator_with_a_read_receipt(fake_graph, business, send):
    wamid = fake_graph.add_received(business)
    body = _read(wamid, typing_indicator={"type": "text"})
    assert send(body).json() == {"success": True}
    assert fake_graph.read[-1].payload == body


def test_it_refuses_to_mark_read_a_message_the_number_did_not_receive(fake_graph, send):
    response = send(_read("wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFjNFQjA0"))
    assert _error(response) == (400, 100, "(#100) Invalid parameter")
    assert "message_id" in response.json()["error"]["error_data"]["details"]
    assert fake_graph.read == []


def test_it_refuses_to_mark_read_from_another_number_than_the_one_that_received_it(
    fake_graph, business, send, phone_number_id
):
    other = fake_graph.add_business(phone_numbers=[{"display_phone_number": "+1 555-000-2222"}])
    wamid = fake_graph.add_received(other)
    assert _error(send(_read(wamid))) == (400, 100, "(#100) Invalid parameter")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"message_id": ""}, "(#100) The parameter message_id is required."),
        ({"status": "delivered"}, '(#100) Param status must be one of {READ} - got "delivered".'),
        (
            {"typing_indicator": {"type": "audio"}},
            "(#100) Param typing_indicator['type'] must be one of {TEXT} - got \"audio\".",
        ),
    ],
    ids=["no-message-id", "other-status", "other-typing"],
)
def test_it_checks_a_read_receipt_as_meta_does(fake_graph, business, send, fields, message):
    wamid = fake_graph.add_received(business)
    assert _error(send({**_read(wamid), **fields})) == (400, 100, message)
