"""The WhatsApp tab's New callback URL, clicked through in a real browser: it asks first, and
in the side panel it stays there."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, whatsapp_stream
from whatsapp import services
from whatsapp.models import WhatsAppAccount


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    return whatsapp_stream(account=account, fake_graph=fake_graph, name="Orders")


def _callback_url(stream) -> str:
    return services.callback_url(WhatsAppAccount.objects.get(stream=stream))


def test_new_callback_url_asks_first_and_stays_in_the_side_panel(
    new_page, owner, stream, fake_graph
):
    old = _callback_url(stream)
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Orders").click()
    panel = page.locator("#stream-panel")
    panel.get_by_role("link", name="WhatsApp").click()
    expect(panel.get_by_text(old)).to_be_visible()

    panel.get_by_role("link", name="New URL").click()
    confirm = panel.get_by_role("dialog", name="New callback URL?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("link", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert _callback_url(stream) == old

    panel.get_by_role("link", name="New URL").click()
    confirm.get_by_role("button", name="New callback URL").click()
    expect(panel.get_by_text("New callback URL: Meta's webhooks reach")).to_be_visible()
    new = _callback_url(stream)
    assert new != old
    expect(panel.get_by_text(new)).to_be_visible()
    assert fake_graph.subscriptions[fake_graph.business.waba_id].override_callback_uri == new
    assert page.evaluate("window.notReloaded") is True


def test_new_callback_url_asks_first_without_javascript(
    browser, live_server, owner, stream, fake_graph
):
    old = _callback_url(stream)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, owner.email, PASSWORD)
        page.goto(f"/streams/{stream.uid}/whatsapp/")
        page.get_by_role("link", name="New URL").click()
        expect(page.get_by_role("heading", name="New callback URL?")).to_be_visible()
        page.get_by_role("button", name="New callback URL").click()
        new = _callback_url(stream)
        assert new != old
        expect(page.get_by_text(new)).to_be_visible()
    finally:
        context.close()
