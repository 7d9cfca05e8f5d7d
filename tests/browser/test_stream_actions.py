"""The streams table's Actions menu and the side panel, in a real browser."""

import re

from playwright.sync_api import expect

from streams import services
from streams.models import Stream
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, StreamFactory


def _row(page, name):
    return page.locator("table.streams tbody tr", has_text=name)


def _action(page, name, action):
    row = _row(page, name)
    row.get_by_text("Actions").click()
    return row.get_by_role("button", name=action).or_(row.get_by_role("link", name=action))


def test_a_stream_is_disabled_enabled_given_a_new_token_and_deleted(new_page, owner, account):
    stream = StreamFactory(account=account, name="Orders")
    old_token = services.stream_token_regenerate(stream=stream)
    page = new_page()
    log_in(page, owner.email, PASSWORD)

    _action(page, "Orders", "Disable").click()
    expect(page.get_by_text("“Orders” is disabled")).to_be_visible()
    expect(_row(page, "Orders")).to_contain_text("Disabled")
    _action(page, "Orders", "Enable").click()
    expect(_row(page, "Orders")).to_contain_text("Ready")

    _action(page, "Orders", "Regenerate token").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("stops working at once")
    dialog.get_by_role("button", name="Regenerate token").click()
    expect(dialog.get_by_text("New token issued")).to_be_visible()
    new_token = dialog.get_by_label("Authorization token").input_value()
    assert re.fullmatch(r"tp_[\w-]{43}", new_token)
    assert new_token != old_token
    dialog.get_by_role("link", name="Done").click()

    _action(page, "Orders", "Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Its message history is kept")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("“Orders” was deleted")).to_be_visible()
    expect(_row(page, "Orders")).to_have_count(0)
    assert Stream.objects.get(pk=stream.pk).token_hash is None


def test_the_side_panel_opens_from_the_name_and_saves_details_in_place(
    new_page, owner, account, whatsapp_access
):
    StreamFactory(account=account, name="Orders")
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.evaluate("window.notReloaded = true")

    page.get_by_role("link", name="Orders").click()
    panel = page.locator("#stream-panel")
    expect(panel.get_by_role("heading", name="Orders")).to_be_visible()
    panel.get_by_label("Stream API description").fill("Order updates for the shop")
    panel.get_by_role("button", name="Save changes").click()
    expect(panel.get_by_text("Details saved.")).to_be_visible()

    panel.get_by_role("link", name="Request API").click()
    expect(panel.get_by_role("heading", name="Initial conversation request")).to_be_visible()
    panel.get_by_role("link", name="Webhooks").click()
    expect(panel.get_by_text("No webhook yet")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_cancelling_a_delete_leaves_the_actions_menu_closed(new_page, owner, account):
    StreamFactory(account=account, name="Orders")
    page = new_page()
    log_in(page, owner.email, PASSWORD)

    _action(page, "Orders", "Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete “Orders”?")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(_row(page, "Orders").get_by_role("link", name="Delete")).to_be_hidden()
    expect(_row(page, "Orders").locator("details.row-menu")).not_to_have_attribute("open", "")
    # Keyboard users are back on the menu's button, not lost at the top of the page.
    expect(_row(page, "Orders").locator("summary")).to_be_focused()
    assert Stream.objects.filter(name="Orders").exists()
