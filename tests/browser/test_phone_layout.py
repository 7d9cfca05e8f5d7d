"""On a phone (390 px wide) every page fits the screen and every button can be reached."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, whatsapp_stream

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(new_page, owner, whatsapp_access):
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, owner.email, PASSWORD)
    return page


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _assert_on_screen(locator):
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]


@pytest.mark.parametrize("tab", ["", "messages/", "whatsapp/", "webhooks/", "api/"])
def test_a_stream_tab_does_not_scroll_sideways_on_a_phone(phone, account, tab):
    stream = whatsapp_stream(account=account, name="Order updates for every customer")
    phone.goto(f"/streams/{stream.uid}/{tab}")
    assert _page_width(phone) <= PHONE["width"]


def test_every_wizard_button_is_on_the_screen_of_a_phone(phone, account):
    stream = whatsapp_stream(account=account)
    phone.goto(f"/streams/{stream.uid}/setup/webhook/")
    buttons = phone.locator(".form-actions").last.locator("a, button")
    assert buttons.count() >= 3
    for index in range(buttons.count()):
        _assert_on_screen(buttons.nth(index))
    assert _page_width(phone) <= PHONE["width"]


def test_a_stream_rows_menu_opens_in_full_on_a_phone(phone, account):
    whatsapp_stream(account=account)
    phone.goto("/streams/")
    assert _page_width(phone) <= PHONE["width"]
    phone.get_by_text("Actions ▾").click()
    delete = phone.get_by_role("link", name="Delete")
    expect(delete).to_be_visible()
    _assert_on_screen(delete)
    delete.click()
    expect(phone.get_by_role("dialog")).to_be_visible()
