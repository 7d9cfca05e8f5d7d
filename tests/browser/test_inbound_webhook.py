"""A customer's reply reaches their webhook: a demo stream, a real worker, a local server."""

import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from streams import services as streams
from tests.browser.conftest import log_in
from tests.factories import PASSWORD
from whatsapp import services as whatsapp
from whatsapp.graph.demo import DEMO_BUSINESS_ID

pytestmark = pytest.mark.django_db(transaction=True)


def _demo_stream(account):
    stream = streams.stream_save_details(
        account=account, type="whatsapp", name="Shop", is_demo=True
    )
    whatsapp.whatsapp_account_refresh(
        account=whatsapp.whatsapp_settings_save(stream=stream, business_id=DEMO_BUSINESS_ID)
    )
    return stream, streams.stream_activate(stream=stream, steps_done=4)


def _send(base_url, token, text):
    body = {
        "messages": [
            {
                "sender": "15550100100",
                "recipient_phone": "4915112345678",
                "type": "text",
                "message_content": text,
            }
        ]
    }
    request = urllib.request.Request(  # noqa: S310 (the live test server)
        f"{base_url}/api/whatsapp/send/",
        data=json.dumps(body).encode(),
        headers={"Authorization": token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (live server)
        assert response.status == 200


def _wait_for(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_a_simulated_reply_reaches_the_webhook_and_its_delivery_is_logged(
    new_page, live_server, owner, account, whatsapp_access, receiver, worker
):
    stream, token = _demo_stream(account)
    page = new_page()
    log_in(page, owner.email, PASSWORD)

    page.goto(f"/streams/{stream.uid}/webhooks/")
    page.get_by_label("URL").fill(receiver.url("/incoming"))
    page.get_by_role("button", name="+ Add header").click()
    page.get_by_label("Header name").fill("X-Shop")
    page.get_by_label("Header value").fill("north")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("Webhook saved.")).to_be_visible()

    page.get_by_role("link", name="WhatsApp").click()
    page.get_by_role("button", name="Simulate replies").click()
    expect(page.get_by_role("button", name="Stop simulating replies")).to_be_visible()

    _send(live_server.url, token, "Your order has shipped")
    assert _wait_for(lambda: receiver.requests), "no delivery reached the webhook"
    delivery = receiver.requests[0]
    assert delivery.path == "/incoming"
    assert delivery.headers["X-Shop"] == "north"
    event = json.loads(delivery.body)
    assert event["event"] == "message.received"
    assert event["source_number"] == "4915112345678"
    assert "Your order has shipped" in event["text"]

    page.get_by_role("link", name="Webhooks").click()
    log = page.locator("table.deliveries")
    expect(log).to_contain_text("message.received")
    expect(log).to_contain_text("Delivered")
    log.get_by_text("Attempts and request").first.click()
    expect(log).to_contain_text("HTTP 200")
    expect(log).to_contain_text("X-Shop: ********")
