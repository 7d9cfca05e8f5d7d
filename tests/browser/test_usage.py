"""The Info tab's usage in a real browser: a demo stream that sent messages shows its chart
of the last 30 days, and its messages download as CSV with WhatsApp's pricing."""

import csv
import io
from unittest import mock

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, whatsapp_stream
from whatsapp import tasks
from whatsapp.models import Message
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.send import messages_send

DEMO_SENDER = "15550100100"  # whatsapp.graph.demo.DEMO_SENDERS


@pytest.fixture
def demo_stream(account, whatsapp_access, monkeypatch):
    """A demo stream that sent a template and a text, both read (their statuses simulated
    as the demo's worker would, through Meta's webhook shape)."""
    monkeypatch.setattr(tasks.simulate_demo_statuses, "apply_async", mock.Mock())
    stream = whatsapp_stream(account=account, name="Demo")
    items = [
        {
            "type": "template",
            "template": {"name": "hello_world", "language": "en_US", "variables": []},
        },
        {"type": "text", "message_content": "Hi"},
    ]
    _, results = messages_accept(
        stream=stream,
        items=[{"sender": DEMO_SENDER, "recipient_phone": "4915112345678", **i} for i in items],
    )
    messages = [Message.objects.get(uuid=result.message_uuid) for result in results]
    messages_send(message_ids=[m.pk for m in messages])
    for message in messages:
        message.refresh_from_db()
        for step in range(2):
            tasks.simulate_demo_statuses(message.wamid, step)
    return stream


def test_the_info_tab_charts_a_demo_streams_messages_and_exports_them(new_page, owner, demo_stream):
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.get_by_role("link", name="Demo").click()
    panel = page.locator("#stream-panel")

    status_chart = panel.get_by_role("img", name="Messages per day by status, last 30 days")
    expect(status_chart).to_be_visible()
    expect(status_chart.locator("rect.tone-3")).to_have_count(1)  # today's bar of Read
    expect(panel.locator("#chart-status .chart-legend")).to_have_text("Read: 2")
    category_legend = panel.locator("#chart-category .chart-legend")
    expect(category_legend).to_contain_text("Marketing: 1")
    expect(category_legend).to_contain_text("Service: 1")

    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    panel.get_by_label("From").fill(today)
    panel.get_by_label("To").fill(today)
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert sorted(
        (row["type"], row["status"], row["category"], row["billable"]) for row in rows
    ) == [
        ("template", "read", "marketing", "true"),
        ("text", "read", "service", "false"),
    ]
