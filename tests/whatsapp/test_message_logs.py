"""One message followed through the logs by its uuid: the API's line, the worker's, and the
delivery of its status to the customer's webhook."""

import json

import pytest

from tests.factories import whatsapp_stream
from webhooks import deliveries
from webhooks import services as webhook_services
from webhooks.models import Delivery
from whatsapp import tasks
from whatsapp.graph.demo import simulate_demo_statuses
from whatsapp.models import Message

pytestmark = pytest.mark.django_db

DEMO_SENDER = "15550100100"


@pytest.fixture
def stream(account, whatsapp_access):
    return whatsapp_stream(account=account, name="Orders")


@pytest.fixture
def webhook(stream, receiver):
    return webhook_services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/hook"), headers=[], send_statuses=True
    )


def _send(client, token) -> tuple[str, str]:
    """The message_uuid of one text the API accepted, and the request's id."""
    message = {
        "sender": DEMO_SENDER,
        "recipient_phone": "4915112345678",
        "type": "text",
        "message_content": "Your order is on its way",
    }
    response = client.post(
        "/api/whatsapp/send/",
        json.dumps({"messages": [message]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    return response.json()["messages"][0]["message_uuid"], response["X-Request-ID"]


@pytest.mark.usefixtures("webhook", "demo_statuses")
def test_a_message_uuid_finds_its_request_its_send_and_its_delivery(
    client, token, stream, publish, json_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message_uuid, request_id = _send(client, token)
    [ids] = publish.ids()
    tasks.send_messages.apply(args=(ids,))
    simulate_demo_statuses.apply(args=(Message.objects.get(uuid=message_uuid).wamid,))
    deliveries.deliveries_send(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))

    accepted, sent, delivered = json_log.about(message_uuid)
    assert accepted["message"] == "Message accepted"
    assert accepted["request_id"] == request_id
    assert accepted["stream_uid"] == str(stream.uid)
    assert sent["message"].startswith("Message sent as wamid.DEMO")
    assert delivered["message"].startswith("Webhook delivery ")
    assert "message.status to webhook" in delivered["message"]
    assert delivered["message"].endswith(": HTTP 200, succeeded")
    assert delivered["stream_uid"] == str(stream.uid)
