from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import log_in


def _open_create_dialog(page):
    page.get_by_role("link", name="Create Stream API").first.click()
    dialog = page.get_by_role("dialog", name="Create Stream API")
    expect(dialog).to_be_visible()
    return dialog


def test_a_member_requests_whatsapp_and_support_approves_it(new_page, transactional_db):
    call_command("load_demo")

    admin = new_page()
    log_in(admin, "admin@demo.test", "demo-password")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Streams API").click()
    expect(admin.get_by_role("heading", name="Streams API", exact=True)).to_be_visible()

    _open_create_dialog(admin).get_by_role("button", name="Request Access").click()
    received = admin.get_by_role("dialog", name="Request Received!")
    expect(received).to_be_visible()
    received.get_by_role("link", name="OK").click()
    expect(received).to_be_hidden()

    _open_create_dialog(admin).get_by_role("button", name="Request Access").click()
    expect(admin.get_by_role("dialog", name="Request Already Sent")).to_be_visible()

    support = new_page()
    support.goto("/admin/")
    support.locator("#id_username").fill("support@demo.test")
    support.locator("#id_password").fill("support-password")
    support.get_by_role("button", name="Log in").click()
    support.get_by_role("link", name="Beta access requests").click()
    expect(support.get_by_role("cell", name="Demo Co")).to_be_visible()
    support.locator("input[name=_selected_action]").first.check()
    support.locator("select[name=action]").select_option("approve")
    support.get_by_role("button", name="Go").click()
    support.get_by_role("button", name="Yes, approve").click()
    expect(support.get_by_text("Approved 1 request(s).")).to_be_visible()

    admin.reload()
    dialog = _open_create_dialog(admin)
    expect(dialog.get_by_role("button", name="Request Access")).to_have_count(0)
    dialog.get_by_role("link", name="Create", exact=True).click()
    expect(admin.get_by_role("heading", name="Create New Stream")).to_be_visible()


def test_escape_closes_the_create_stream_pop_up(new_page, owner):
    page = new_page()
    log_in(page, owner.email, "correct-horse-battery")
    dialog = _open_create_dialog(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
