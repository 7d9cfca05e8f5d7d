"""POST /api/whatsapp/send/: per-message validation, batches, idempotency and the outbox."""

import json
import uuid
from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from streams import services as stream_services
from tests.factories import StreamFactory, contact_wrote, whatsapp_stream
from whatsapp import services, tasks
from whatsapp.models import Message

pytestmark = pytest.mark.django_db

URL = "/api/whatsapp/send/"
SENDER = "15550001111"  # the fake business's number, "+1 555-000-1111"
RECIPIENT = "4915112345678"


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    """A Ready stream on the fake's business: sender 15550001111, templates order_update
    (2 variables), hello_world (none) and appointment_reminder (pending). The recipient
    wrote a moment ago: any type of message may be sent to them."""
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    contact_wrote(stream, RECIPIENT)
    return stream


@pytest.fixture
def api(client, token):
    """POST a body (JSON-encoded unless it is already bytes/str) with the stream's token."""

    def post(body, **extra):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return client.post(
            URL, data, content_type="application/json", HTTP_AUTHORIZATION=token, **extra
        )

    return post


def _message(type="text", **fields):
    message = {"sender": SENDER, "recipient_phone": RECIPIENT, "type": type}
    if type == "text":
        message["message_content"] = "Thanks, see you soon"
    message.update(fields)
    return message


def _template(internal_id=None, **template):
    template.setdefault("name", "order_update")
    template.setdefault("language", "en_US")
    template.setdefault("variables", ["Anna", "#1001"])
    message = _message("template", template=template)
    if internal_id is not None:
        message["internal_id"] = internal_id
    return message


def _sent(stream, **fields):
    """A message of ``stream`` that WhatsApp accepted (it has a wamid)."""
    fields.setdefault("wamid", f"wamid.{uuid.uuid4().hex}")
    fields.setdefault("status", Message.Status.SENT)
    return Message.objects.create(
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number=SENDER,
        contact_number=RECIPIENT,
        type="text",
        payload={"body": "Earlier", "preview_url": False},
        **fields,
    )


def _one(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] is True
    [result] = body["messages"]
    return result


def _accepted(response) -> Message:
    result = _one(response)
    assert result["error"] is None, result
    return Message.objects.get(uuid=result["message_uuid"])


def _refused(response) -> dict:
    result = _one(response)
    assert result["message_uuid"] is None
    assert not Message.objects.filter(status=Message.Status.QUEUED).exists()
    return result


# -- accepted, by type


def test_it_accepts_a_text_message(api):
    result = _one(api({"messages": [_message(internal_id="ord-1003")]}))
    assert result["internal_id"] == "ord-1003"
    assert result["error"] is None
    assert Message.objects.get(uuid=result["message_uuid"]).payload == {
        "body": "Thanks, see you soon",
        "preview_url": False,
    }


def test_it_answers_a_task_id_for_the_request(api):
    response = api({"messages": [_message()]})
    message = _accepted(response)
    assert str(message.batch_id) == response.json()["task_id"]


def test_it_accepts_a_sender_written_with_a_plus(api):
    message = _accepted(api({"messages": [_message(sender="+" + SENDER)]}))
    assert message.sender_number == SENDER


def test_it_accepts_a_reply_to_a_sent_message(api, stream):
    earlier = _sent(stream)
    message = _accepted(api({"messages": [_message(reply_to=str(earlier.uuid))]}))
    assert message.reply_to == earlier


def test_it_accepts_a_template_with_variables(api):
    message = _accepted(api({"messages": [_template()]}))
    assert message.type == "template"
    assert message.payload == {
        "name": "order_update",
        "language": "en_US",
        "variables": ["Anna", "#1001"],
    }


def test_it_accepts_a_template_without_variables(api):
    message = _accepted(api({"messages": [_template(name="hello_world", variables=[])]}))
    assert message.payload["variables"] == []


def test_it_accepts_numbers_as_template_variables(api):
    message = _accepted(api({"messages": [_template(variables=["Anna", 1001])]}))
    assert message.payload["variables"] == ["Anna", "1001"]


def test_it_accepts_a_template_with_a_header_and_buttons(api):
    template = _template(
        header={"type": "image", "url": "https://example.com/parcel.jpg"},
        buttons=[
            {"index": 0, "sub_type": "url", "parameter": "track/1001"},
            {"index": 1, "sub_type": "quick_reply", "parameter": "STOP"},
        ],
    )
    message = _accepted(api({"messages": [template]}))
    assert message.payload["header"] == {"type": "image", "url": "https://example.com/parcel.jpg"}
    assert message.payload["buttons"] == [
        {"index": 0, "sub_type": "url", "parameter": "track/1001"},
        {"index": 1, "sub_type": "quick_reply", "parameter": "STOP"},
    ]


def test_it_accepts_a_template_with_a_text_header(api):
    message = _accepted(api({"messages": [_template(header={"type": "text", "text": "Anna"})]}))
    assert message.payload["header"] == {"type": "text", "text": "Anna"}


@pytest.mark.parametrize("kind", ["image", "video"])
def test_it_accepts_captioned_media(api, kind):
    media = {"url": f"https://example.com/a.{kind}", "caption": "Your parcel"}
    message = _accepted(api({"messages": [_message(kind, media=media)]}))
    assert message.type == kind
    assert message.payload == media


def test_it_accepts_audio(api):
    message = _accepted(
        api({"messages": [_message("audio", media={"url": "https://e.com/a.ogg"})]})
    )
    assert message.payload == {"url": "https://e.com/a.ogg"}


def test_it_accepts_a_document_with_caption_and_filename(api):
    media = {"url": "https://example.com/i.pdf", "caption": "Invoice", "filename": "invoice.pdf"}
    message = _accepted(api({"messages": [_message("document", media=media)]}))
    assert message.payload == media


@pytest.mark.parametrize("kind", ["image", "video", "audio", "document"])
def test_it_accepts_media_by_an_uploaded_media_id(api, kind):
    message = _accepted(api({"messages": [_message(kind, media={"id": "1300000000000001"})]}))
    assert message.payload == {"id": "1300000000000001"}


def test_it_accepts_media_by_url_that_textpeak_fetches(api):
    media = {"url": "https://example.com/i.pdf", "fetch": True, "filename": "invoice.pdf"}
    message = _accepted(api({"messages": [_message("document", media=media)]}))
    assert message.payload == media


@pytest.mark.parametrize(
    "media",
    [
        {"url": "https://example.com/a.jpg", "id": "1300000000000001"},
        {"caption": "Neither url nor id"},
        {"id": "1300000000000001", "fetch": True},
        {"url": "https://example.com/a.jpg", "fetch": "yes"},
        {"id": 1300000000000001},
        {"id": "1" * 101},
    ],
)
def test_it_refuses_media_without_exactly_one_of_url_and_id(api, media):
    result = _refused(api({"messages": [_message("image", media=media)]}))
    assert result["error"] == "INVALID_MESSAGE"
    assert "media" in result["detail"] or result["detail"].startswith("id ")


def test_it_accepts_a_location(api):
    location = {"latitude": 52.52, "longitude": 13.405, "name": "Shop", "address": "Berlin"}
    message = _accepted(api({"messages": [_message("location", location=location)]}))
    assert message.payload == location


def test_it_accepts_a_reaction_to_a_sent_message(api, stream):
    earlier = _sent(stream)
    reaction = {"message_uuid": str(earlier.uuid), "emoji": "👍"}
    message = _accepted(api({"messages": [_message("reaction", reaction=reaction)]}))
    assert message.reply_to == earlier
    assert message.payload == {"emoji": "👍"}


# -- refused, with a code


def _error(response) -> str:
    result = _refused(response)
    assert result["detail"]
    return result["error"]


@pytest.mark.parametrize(
    "recipient",
    ["49151abc45678", "123456", "1234567890123456", "", None, "0049151123456", 4915112345678],
    ids=["letters", "too-short", "too-long", "empty", "missing", "leading-zero", "number"],
)
def test_it_refuses_a_bad_recipient(api, recipient):
    assert _error(api({"messages": [_message(recipient_phone=recipient)]})) == "INVALID_RECIPIENT"


def test_it_refuses_a_sender_that_is_not_the_streams(api):
    assert _error(api({"messages": [_message(sender="15559999999")]})) == "UNKNOWN_SENDER"


def test_it_refuses_a_missing_sender(api):
    message = _message()
    del message["sender"]
    assert _error(api({"messages": [message]})) == "UNKNOWN_SENDER"


def test_it_refuses_a_sender_of_another_stream(api, account, fake_graph):
    other_business = fake_graph.add_business(
        phone_numbers=[{"display_phone_number": "+1 555-777-2222", "verified_name": "Other"}]
    )
    other = StreamFactory(account=account, name="Other")
    account_ = services.whatsapp_settings_save(
        stream=other, business_id=other_business.waba_id, access_token=other_business.token
    )
    services.whatsapp_account_refresh(account=account_)
    assert _error(api({"messages": [_message(sender="15557772222")]})) == "UNKNOWN_SENDER"


def test_it_refuses_an_unknown_template(api):
    response = api({"messages": [_template(name="no_such_template")]})
    assert _error(response) == "UNKNOWN_TEMPLATE"


def test_it_refuses_a_template_in_another_language(api):
    assert _error(api({"messages": [_template(language="de")]})) == "UNKNOWN_TEMPLATE"


def test_it_refuses_a_template_not_approved(api):
    template = _template(name="appointment_reminder", variables=["3 June"])
    assert _error(api({"messages": [template]})) == "UNKNOWN_TEMPLATE"


@pytest.mark.parametrize("variables", [["Anna"], ["Anna", "#1001", "extra"], []])
def test_it_refuses_a_template_with_the_wrong_number_of_variables(api, variables):
    response = api({"messages": [_template(variables=variables)]})
    assert _error(response) == "INVALID_MESSAGE"


def test_it_refuses_an_empty_template_variable(api):
    assert _error(api({"messages": [_template(variables=["Anna", ""])]})) == "INVALID_MESSAGE"


def test_it_refuses_a_text_without_a_body(api):
    message = _message()
    del message["message_content"]
    assert _error(api({"messages": [message]})) == "INVALID_MESSAGE"


def test_it_accepts_a_text_of_4096_characters(api):
    _accepted(api({"messages": [_message(message_content="x" * 4096)]}))


def test_it_refuses_a_text_longer_than_4096_characters(api):
    assert _error(api({"messages": [_message(message_content="x" * 4097)]})) == "INVALID_MESSAGE"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "not a url", "https://", "javascript:alert(1)", ""]
)
def test_it_refuses_a_bad_media_url(api, url):
    response = api({"messages": [_message("image", media={"url": url})]})
    assert _error(response) == "INVALID_MESSAGE"


def test_it_refuses_media_without_a_media_object(api):
    assert _error(api({"messages": [_message("image")]})) == "INVALID_MESSAGE"


@pytest.mark.parametrize(
    "location",
    [
        {"latitude": 91, "longitude": 13.4},
        {"latitude": -90.5, "longitude": 13.4},
        {"latitude": 52.5, "longitude": 180.1},
        {"latitude": "52.5", "longitude": 13.4},
        {"latitude": True, "longitude": 13.4},
        {"longitude": 13.4},
    ],
    ids=["lat-91", "lat-minus-90.5", "lon-180.1", "string", "bool", "missing"],
)
def test_it_refuses_a_location_out_of_range(api, location):
    response = api({"messages": [_message("location", location=location)]})
    assert _error(response) == "INVALID_MESSAGE"


def test_it_accepts_a_reply_to_a_uuid_written_in_upper_case(api, stream):
    earlier = _sent(stream)
    message = _accepted(api({"messages": [_message(reply_to=str(earlier.uuid).upper())]}))
    assert message.reply_to == earlier


def test_it_refuses_a_reply_to_an_unknown_message(api):
    response = api({"messages": [_message(reply_to=str(uuid.uuid4()))]})
    assert _error(response) == "INVALID_MESSAGE"


def test_it_refuses_a_reply_to_something_not_a_uuid(api):
    assert _error(api({"messages": [_message(reply_to="ord-1001")]})) == "INVALID_MESSAGE"


def test_it_refuses_a_reply_to_a_message_of_another_stream(api, account):
    foreign = _sent(StreamFactory(account=account, name="Other"))
    response = api({"messages": [_message(reply_to=str(foreign.uuid))]})
    assert _error(response) == "INVALID_MESSAGE"


def test_it_refuses_a_reply_to_a_message_whatsapp_has_not_accepted(api, stream):
    queued = _sent(stream, wamid=None, status=Message.Status.QUEUED)
    response = api({"messages": [_message(reply_to=str(queued.uuid))]})
    result = _one(response)
    assert result["error"] == "INVALID_MESSAGE"
    assert result["message_uuid"] is None


def test_it_refuses_a_reaction_to_an_unknown_message(api):
    reaction = {"message_uuid": str(uuid.uuid4()), "emoji": "👍"}
    assert _error(api({"messages": [_message("reaction", reaction=reaction)]})) == "INVALID_MESSAGE"


@pytest.mark.parametrize("kind", ["fax", "button", "", None])
def test_it_refuses_an_unknown_type(api, kind):
    assert _error(api({"messages": [_message(kind)]})) == "INVALID_MESSAGE"


@pytest.mark.parametrize("item", ["hello", 42, None, ["text"]])
def test_it_refuses_a_message_that_is_not_an_object(api, item):
    assert _error(api({"messages": [item]})) == "INVALID_MESSAGE"


def test_it_stores_nothing_for_a_refused_message(api):
    api({"messages": [_message(recipient_phone="abc"), _message(sender="15559999999")]})
    assert not Message.objects.exists()


def test_it_echoes_the_internal_id_of_a_message_refused_for_its_shape(api):
    result = _one(api({"messages": [_message(internal_id="ord-7", recipient_phone="abc")]}))
    assert result == {
        "internal_id": "ord-7",
        "message_uuid": None,
        "error": "INVALID_RECIPIENT",
        "detail": result["detail"],
    }


def test_it_echoes_the_internal_id_of_a_message_refused_by_the_stream(api):
    result = _one(api({"messages": [_message(internal_id="ord-8", sender="15559999999")]}))
    assert result["internal_id"] == "ord-8"
    assert result["error"] == "UNKNOWN_SENDER"


# -- batches


def test_it_accepts_the_valid_messages_of_a_batch_and_refuses_the_others(api):
    response = api(
        {
            "messages": [
                _message(internal_id="a"),
                _message(internal_id="b", recipient_phone="123"),
                _template(internal_id="c"),
                _message(internal_id="d", sender="15559999999"),
                _template(internal_id="e", name="nope"),
            ]
        }
    )
    assert response.status_code == 200
    results = response.json()["messages"]
    assert [r["error"] for r in results] == [
        None,
        "INVALID_RECIPIENT",
        None,
        "UNKNOWN_SENDER",
        "UNKNOWN_TEMPLATE",
    ]
    accepted = [r["message_uuid"] for r in results if r["error"] is None]
    assert all(r["message_uuid"] is None for r in results if r["error"])
    assert sorted(accepted) == sorted(
        str(u) for u in Message.objects.values_list("uuid", flat=True)
    )
    assert Message.objects.get(uuid=results[2]["message_uuid"]).internal_id == "c"


def test_it_answers_the_messages_in_the_order_sent(api):
    ids = [f"ord-{n}" for n in range(20)]
    response = api({"messages": [_message(internal_id=i) for i in ids]})
    assert [r["internal_id"] for r in response.json()["messages"]] == ids


def test_it_accepts_1000_messages(api):
    response = api({"messages": [_message() for _ in range(1000)]})
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 1000
    assert Message.objects.count() == 1000


# -- idempotency


def test_it_answers_the_same_uuid_for_an_internal_id_sent_again(api):
    first = _one(api({"messages": [_message(internal_id="ord-1")]}))
    again = _one(api({"messages": [_message(internal_id="ord-1", message_content="Other")]}))
    assert again["message_uuid"] == first["message_uuid"]
    assert again["error"] is None
    assert Message.objects.count() == 1
    assert Message.objects.get().payload["body"] == "Thanks, see you soon"


def test_it_enqueues_nothing_for_an_internal_id_sent_again(
    api, publish, django_capture_on_commit_callbacks
):
    api({"messages": [_message(internal_id="ord-1")]})
    with django_capture_on_commit_callbacks(execute=True):
        response = api({"messages": [_message(internal_id="ord-1")]})
    assert response.status_code == 200
    publish.assert_not_called()


def test_it_answers_one_uuid_for_an_internal_id_twice_in_one_request(api):
    response = api({"messages": [_message(internal_id="ord-1"), _message(internal_id="ord-1")]})
    first, second = response.json()["messages"]
    assert first["message_uuid"] == second["message_uuid"] is not None
    assert Message.objects.count() == 1


def test_it_keeps_internal_ids_apart_between_streams(api, client, account, fake_graph):
    first = _one(api({"messages": [_message(internal_id="ord-1")]}))
    other = whatsapp_stream(account=account, fake_graph=fake_graph, name="Other")
    contact_wrote(other, RECIPIENT)
    other_token = stream_services.stream_token_regenerate(stream=other)
    response = client.post(
        URL,
        json.dumps({"messages": [_message(internal_id="ord-1")]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=other_token,
    )
    assert _one(response)["message_uuid"] != first["message_uuid"]
    assert Message.objects.count() == 2


def test_it_validates_again_an_internal_id_that_was_refused(api):
    api({"messages": [_message(internal_id="ord-1", sender="15559999999")]})
    result = _one(api({"messages": [_message(internal_id="ord-1")]}))
    assert result["error"] is None
    assert result["message_uuid"]


# -- the request's shape


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"messages": [', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        ("", "not valid JSON"),
        ("[]", "JSON object"),
        ('"messages"', "JSON object"),
        ("{}", "“messages” array"),
        ('{"messages": {"sender": "1"}}', "“messages” array"),
        ('{"messages": "hello"}', "“messages” array"),
        ('{"messages": null}', "“messages” array"),
        ('{"messages": []}', "holds 0 messages"),
    ],
    ids=[
        "malformed",
        "not-utf8",
        "empty",
        "list",
        "string",
        "no-messages",
        "messages-object",
        "messages-string",
        "messages-null",
        "empty-list",
    ],
)
def test_it_answers_400_for_a_body_of_the_wrong_shape(api, body, says):
    response = api(body)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_it_answers_400_for_more_than_1000_messages(api):
    response = api({"messages": [_message() for _ in range(1001)]})
    assert response.status_code == 400
    assert "holds 1001 messages; send 1 to 1000" in response.json()["detail"]
    assert not Message.objects.exists()


def test_it_answers_413_for_a_body_over_the_limit(api, settings):
    settings.API_MAX_BODY_BYTES = 500
    response = api({"messages": [_message(message_content="x" * 600)]})
    assert response.status_code == 413
    assert "larger than 500 bytes" in response.json()["detail"]
    assert not Message.objects.exists()


def test_it_answers_a_body_at_the_limit(api, settings):
    body = json.dumps({"messages": [_message()]})
    settings.API_MAX_BODY_BYTES = len(body)
    assert api(body).status_code == 200


def test_it_answers_405_to_a_get(client, token):
    response = client.get(URL, HTTP_AUTHORIZATION=token)
    assert response.status_code == 405


# -- the outbox


def test_it_stores_accepted_messages_queued_for_the_senders_phone_number_id(api, fake_graph):
    message = _accepted(api({"messages": [_template(internal_id="ord-1001")]}))
    assert message.status == Message.Status.QUEUED
    assert message.direction == Message.Direction.OUTBOUND
    assert message.phone_number_id == fake_graph.business.phone_numbers[0]["id"]
    assert message.sender_number == SENDER
    assert message.contact_number == RECIPIENT
    assert message.internal_id == "ord-1001"
    assert message.attempts == 0
    assert message.wamid is None


def test_it_shows_the_stream_as_sending_while_messages_are_queued(api, stream):
    _accepted(api({"messages": [_message()]}))
    assert stream.display_status == "sending"


def test_it_enqueues_only_once_the_transaction_commits(
    api, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = _accepted(api({"messages": [_message()]}))
        publish.assert_not_called()
    assert len(callbacks) == 1
    callbacks[0]()
    publish.assert_called_once()
    assert publish.call_args.kwargs["args"] == ([message.pk],)


def test_it_enqueues_a_large_batch_in_chunks_of_100(
    api, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api({"messages": [_message() for _ in range(250)]})
    assert response.status_code == 200
    chunks = [call.kwargs["args"][0] for call in publish.call_args_list]
    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    enqueued = [pk for chunk in chunks for pk in chunk]
    assert sorted(enqueued) == sorted(Message.objects.values_list("pk", flat=True))


def test_it_enqueues_only_the_accepted_messages(api, publish, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api({"messages": [_message(recipient_phone="1"), _message(), _message()]})
    assert response.status_code == 200
    [call] = publish.call_args_list
    assert sorted(call.kwargs["args"][0]) == sorted(Message.objects.values_list("pk", flat=True))


def test_it_enqueues_nothing_when_every_message_is_refused(
    api, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api({"messages": [_message(recipient_phone="1")]})
    publish.assert_not_called()


@pytest.mark.django_db(transaction=True)
def test_it_answers_200_and_keeps_the_messages_queued_when_the_broker_is_down(api, monkeypatch):
    down = mock.Mock(side_effect=OperationalError("Connection refused"))
    monkeypatch.setattr(tasks.send_messages, "apply_async", down)
    response = api({"messages": [_message(), _template()]})
    assert response.status_code == 200
    assert [r["error"] for r in response.json()["messages"]] == [None, None]
    down.assert_called_once()  # on commit, within the request
    assert list(Message.objects.values_list("status", flat=True)) == ["queued", "queued"]


# -- input that must be refused or cleaned, never a 500


@pytest.mark.parametrize(
    "raw", ['{"messages": [' + "1" * 5000 + "]}", "[" * 100_000], ids=["long-number", "deep"]
)
def test_it_answers_unreadable_json_with_400(api, raw):
    response = api(raw)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")


def test_it_stores_text_with_a_nul_character_without_it(api):
    message = _accepted(
        api({"messages": [_message(message_content="a\u0000b", internal_id="n\u0000")]})
    )
    assert message.payload["body"] == "ab"
    assert message.internal_id == "n"


NON_FINITE = [
    ("NaN", "NaN is not a number JSON allows"),
    ("Infinity", "Infinity is not a number JSON allows"),
    ("-Infinity", "-Infinity is not a number JSON allows"),
    ("1e400", "1e400 is too large a number"),
    ("-1E+999", "-1E+999 is too large a number"),
]


@pytest.mark.parametrize(("number", "says"), NON_FINITE)
def test_it_refuses_a_number_json_cannot_round_trip_with_400(api, number, says):
    """Python reads these (NaN, ±Infinity, and numbers too large for a float, as infinity);
    taken as a template variable they would reach the recipient as "nan" or "inf"."""
    body = json.dumps({"messages": [_template(variables=["Anna", 0])]})
    body = body.replace("0]", f"{number}]")
    response = api(body)
    assert response.status_code == 400
    assert response.json()["detail"] == f"The body is not valid JSON: {says}."
    assert not Message.objects.exists()


def test_it_accepts_a_large_whole_number_digit_for_digit(api):
    """Whole numbers are read exactly, whatever their size (within the digit limit above):
    a template variable keeps every digit."""
    body = json.dumps({"messages": [_template(variables=["Anna", 0])]})
    body = body.replace("0]", "123456789012345678901234567890]")
    message = _accepted(api(body))
    assert message.payload["variables"] == ["Anna", "123456789012345678901234567890"]
