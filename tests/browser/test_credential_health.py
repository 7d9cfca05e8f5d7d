"""Credential health in a real browser: a stream whose token Meta starts rejecting shows Needs
attention, in its side panel and on the Streams API page, once Check now has asked."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, whatsapp_stream
from whatsapp import services
from whatsapp.models import WhatsAppAccount


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    stream = whatsapp_stream(account=account, fake_graph=fake_graph, name="Orders")
    services.whatsapp_account_register_callback(account=WhatsAppAccount.objects.get(stream=stream))
    return stream


def test_a_stream_whose_token_meta_rejects_needs_attention_after_check_now(
    new_page, owner, stream, fake_graph
):
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    row = page.get_by_role("row").filter(has_text="Orders")
    expect(row.get_by_text("Ready")).to_be_visible()
    expect(row.get_by_text("Needs attention")).to_have_count(0)

    fake_graph.business.token = "EAAG-revoked-in-business-settings"
    page.get_by_role("link", name="Orders").click()
    panel = page.locator("#stream-panel")
    panel.get_by_role("link", name="WhatsApp").click()
    panel.get_by_role("button", name="Check now").click()
    expect(panel.get_by_text("Checked with Meta: 1 problem.")).to_be_visible()
    expect(panel.get_by_text("Needs attention: 1 problem with this stream")).to_be_visible()
    expect(
        panel.get_by_text("The access token was rejected by Meta (it expired or was revoked).")
    ).to_be_visible()

    page.reload()
    expect(row.get_by_text("Needs attention")).to_be_visible()
