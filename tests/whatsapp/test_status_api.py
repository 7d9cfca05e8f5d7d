"""POST /api/messages_status/: the current status of the stream's own messages."""

import json
import uuid
from datetime import datetime

import pytest

from tests.factories import StreamFactory
from tests.whatsapp.fixtures import OUT_WAMID, fixture
from whatsapp.inbound.parse import parse
from whatsapp.inbound.store import store
from whatsapp.models import Message

pytestmark = pytest.mark.django_db

URL = "/api/messages_status/"


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


@pytest.fixture
def api(client, token):
    def post(body):
        data = body if isinstance(body, str) else json.dumps(body)
        return client.post(URL, data, content_type="application/json", HTTP_AUTHORIZATION=token)

    return post


def _message(stream, status=Message.Status.QUEUED, **fields):
    return Message.objects.create(
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number="15550001111",
        contact_number="4915112345678",
        type="text",
        payload={"body": "Hi", "preview_url": False},
        status=status,
        **fields,
    )


def _statuses(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] is True
    return body["messages"]


def test_it_answers_the_status_of_the_streams_messages(api, stream):
    queued = _message(stream)
    read = _message(stream, Message.Status.READ, wamid="wamid.1")
    answers = _statuses(api({"message_uuids": [str(queued.uuid), str(read.uuid)]}))
    assert [(a["message_uuid"], a["status"], a["error"]) for a in answers] == [
        (str(queued.uuid), "queued", None),
        (str(read.uuid), "read", None),
    ]


def test_it_answers_when_each_message_was_last_updated(api, stream):
    message = _message(stream, Message.Status.DELIVERED, wamid="wamid.1")
    [answer] = _statuses(api({"message_uuids": [str(message.uuid)]}))
    assert datetime.fromisoformat(answer["updated_at"]) == message.updated_at


def test_it_answers_not_found_for_a_message_of_another_stream(api, account, stream):
    foreign = _message(StreamFactory(account=account, name="Other"), Message.Status.SENT)
    [answer] = _statuses(api({"message_uuids": [str(foreign.uuid)]}))
    assert answer == {
        "message_uuid": str(foreign.uuid),
        "status": "not_found",
        "error": None,
        "updated_at": None,
        "pricing": None,
    }


def test_it_answers_not_found_for_a_message_of_another_account(api, stream):
    foreign = _message(StreamFactory(name="Someone else's"), Message.Status.SENT)
    [answer] = _statuses(api({"message_uuids": [str(foreign.uuid)]}))
    assert answer["status"] == "not_found"


def test_it_answers_not_found_for_an_unknown_uuid(api, stream):
    unknown = str(uuid.uuid4())
    [answer] = _statuses(api({"message_uuids": [unknown]}))
    assert answer == {
        "message_uuid": unknown,
        "status": "not_found",
        "error": None,
        "updated_at": None,
        "pricing": None,
    }


@pytest.mark.parametrize("value", ["ord-1001", "", "123", "' OR 1=1 --", "x" * 300])
def test_it_answers_not_found_for_a_malformed_uuid(api, stream, value):
    [answer] = _statuses(api({"message_uuids": [value]}))
    assert answer["message_uuid"] == value
    assert answer["status"] == "not_found"


def test_it_shows_metas_error_for_a_failed_message(api, stream):
    failed = _message(
        stream,
        Message.Status.SENT_FAILED,
        error_code="131026",
        error_message="(#131026) Message Undeliverable",
    )
    [answer] = _statuses(api({"message_uuids": [str(failed.uuid)]}))
    assert answer["status"] == "sent_failed"
    assert answer["error"] == {"code": "131026", "message": "(#131026) Message Undeliverable"}


def test_it_keeps_the_order_asked_for(api, stream):
    messages = [_message(stream) for _ in range(5)]
    asked = [str(m.uuid) for m in reversed(messages)]
    asked.insert(2, str(uuid.uuid4()))
    answers = _statuses(api({"message_uuids": asked}))
    assert [a["message_uuid"] for a in answers] == asked
    assert [a["status"] for a in answers] == [
        "queued",
        "queued",
        "not_found",
        "queued",
        "queued",
        "queued",
    ]


def test_it_answers_1000_uuids(api, stream):
    answers = _statuses(api({"message_uuids": [str(uuid.uuid4()) for _ in range(1000)]}))
    assert len(answers) == 1000


def test_it_answers_400_for_more_than_1000_uuids(api, stream):
    response = api({"message_uuids": [str(uuid.uuid4()) for _ in range(1001)]})
    assert response.status_code == 400
    assert "1001" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ("{}", "“message_uuids” array"),
        ('{"message_uuids": "abc"}', "“message_uuids” array"),
        ('{"message_uuids": []}', "holds 0"),
        ('{"message_uuids": [1, 2]}', "must be strings"),
    ],
    ids=["malformed", "list", "missing", "string", "empty", "numbers"],
)
def test_it_answers_400_for_a_body_of_the_wrong_shape(api, stream, body, says):
    response = api(body)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_it_answers_403_without_a_token(client, stream):
    response = client.post(URL, json.dumps({"message_uuids": []}), content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Not authenticated"}


def test_it_answers_the_status_of_a_uuid_written_in_upper_case(api, stream):
    message = _message(stream, Message.Status.SENT, wamid="wamid.1")
    [answer] = _statuses(api({"message_uuids": [str(message.uuid).upper()]}))
    assert answer["status"] == "sent"


def test_it_answers_metas_pricing_of_a_message(api, stream):
    message = _message(
        stream,
        Message.Status.DELIVERED,
        wamid="wamid.1",
        pricing_billable=True,
        pricing_category="utility",
        pricing_model="PMP",
        pricing_type="regular",
    )
    [answer] = _statuses(api({"message_uuids": [str(message.uuid)]}))
    assert answer["pricing"] == {"billable": True, "category": "utility", "model": "PMP"}


def test_it_answers_null_pricing_until_meta_gives_one(api, stream):
    message = _message(stream, Message.Status.SENT, wamid="wamid.1")
    [answer] = _statuses(api({"message_uuids": [str(message.uuid)]}))
    assert answer["pricing"] is None


def test_it_answers_the_pricing_kept_from_metas_status_webhook(api, stream):
    """From Meta's webhook body to the status API: what a client polling for it sees."""
    message = _message(stream, Message.Status.SENT, wamid=OUT_WAMID)
    store(stream=stream, events=parse(fixture("status_delivered")))
    [answer] = _statuses(api({"message_uuids": [str(message.uuid)]}))
    assert answer["status"] == "delivered"
    assert answer["pricing"] == {"billable": True, "category": "utility", "model": "PMP"}
