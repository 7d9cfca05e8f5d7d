"""The Create New Stream wizard, clicked through in a real browser."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, TagFactory


def _start_wizard(page):
    page.goto("/streams/")
    page.get_by_role("link", name="+ Create Stream API").first.click()
    page.locator("#type-whatsapp").get_by_role("link", name="Create").click()
    expect(page.get_by_role("heading", name="Stream API Details")).to_be_visible()


def _add_ip(page, address):
    page.get_by_label("Add IP").fill(address)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_label("Allowed IPs")).to_contain_text(address)


def test_a_demo_stream_is_created_with_acl_tags_and_webhook(
    new_page, owner, account, whatsapp_access
):
    TagFactory(account=account, name="orders")
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    _start_wizard(page)

    page.get_by_label("Stream API name").fill("Shop notifications")
    page.get_by_label("Enable IP ACL").check()
    _add_ip(page, "203.0.113.7")
    _add_ip(page, "2001:db8::1")
    _add_ip(page, "198.51.100.0/24")
    page.get_by_label("Add IP").fill("300.1.1.1")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("“300.1.1.1” is not an IPv4 or IPv6 address")).to_be_visible()

    # Typed key by key, as a person does, so the drop-down follows the text.
    page.get_by_role("combobox", name="Tags").press_sequentially("ord", delay=50)
    page.get_by_role("option", name="orders").click()
    expect(page.get_by_label("Chosen tags")).to_contain_text("orders")
    page.get_by_role("combobox", name="Tags").press_sequentially("vip", delay=50)
    page.get_by_role("option", name="Create tag “vip”").click()
    expect(page.get_by_label("Chosen tags")).to_contain_text("vip")
    page.get_by_label("Demo Sending").check()
    page.get_by_role("button", name="Save & Next").click()

    expect(page.get_by_text("Demo Sending is on.")).to_be_visible()
    page.get_by_role("button", name="Save & Next").click()

    expect(page.get_by_role("heading", name="Incoming Messages Webhook")).to_be_visible()
    page.get_by_label("POST").check()
    page.get_by_label("URL").fill("https://hooks.example.com/whatsapp")
    for count, (name, value) in enumerate(
        [("Authorization", "Bearer s3cr3t"), ("X-Shop", "north")]
    ):
        page.get_by_role("button", name="+ Add header").click()
        expect(page.get_by_label("Header name")).to_have_count(count + 1)
        page.get_by_label("Header name").last.fill(name)
        page.get_by_label("Header value").last.fill(value)
    preview = page.locator("#webhook-preview")
    expect(preview).to_contain_text("POST /whatsapp HTTP/1.1")
    expect(preview).to_contain_text("Authorization: Bearer s3cr3t")
    expect(preview).to_contain_text("X-Shop: north")
    page.get_by_role("button", name="Save & Next").click()
    # The new webhook's signing secret is shown this once, before the summary.
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_value(re.compile("^whsec_"))
    page.get_by_role("link", name="Continue").click()

    expect(page.get_by_text("TextPeak Demo", exact=True)).to_be_visible()
    expect(page.get_by_text("order_update")).to_be_visible()
    expect(page.get_by_text("POST https://hooks.example.com/whatsapp")).to_be_visible()
    page.get_by_role("button", name="Create Stream").click()

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Stream created")).to_be_visible()
    token = dialog.get_by_label("Authorization token").input_value()
    assert re.fullmatch(r"tp_[\w-]{43}", token)
    dialog.get_by_role("button", name="Copy").click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    dialog.get_by_role("link", name="Done").click()

    first_row = page.locator("table.streams tbody tr").first
    expect(first_row).to_contain_text("Shop notifications")
    expect(first_row).to_contain_text("Ready")
    expect(first_row).to_contain_text("Demo")
    expect(first_row).to_contain_text("203.0.113.7")
    expect(first_row).to_contain_text("2001:db8::1")
    expect(first_row).to_contain_text("198.51.100.0/24")


def test_a_real_stream_is_checked_with_whatsapp_until_the_token_is_right(
    new_page,
    owner,
    whatsapp_access,
    fake_graph,
):
    business = fake_graph.business
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    _start_wizard(page)
    page.get_by_label("Stream API name").fill("Orders")
    page.get_by_role("button", name="Save & Next").click()

    page.get_by_label("WhatsApp Business ID").fill(business.waba_id)
    page.get_by_label("Permanent authentication token").fill("EAAG-wrong-token-1234")
    page.get_by_label("App secret").fill("0f4c2e9b7d1a4c8e9b7f2a4d6e8c0b1f")
    page.get_by_role("button", name="Save & Next").click()
    expect(page.get_by_role("alert").first).to_contain_text("Meta refused the token")
    expect(page.get_by_role("alert").first).to_contain_text("Invalid OAuth access token")
    expect(page.get_by_label("WhatsApp Business ID")).to_have_value(business.waba_id)
    expect(page.get_by_text("Saved: •••• 1234")).to_be_visible()

    page.get_by_label("Permanent authentication token").fill(business.token)
    page.get_by_role("button", name="Save & Next").click()
    expect(page.get_by_role("heading", name="Incoming Messages Webhook")).to_be_visible()
    page.get_by_role("button", name="Skip").click()

    senders = page.locator("#catalogue")
    for number in business.phone_numbers:
        expect(senders).to_contain_text(number["display_phone_number"])
    for template in business.templates:
        expect(senders).to_contain_text(template["name"])
    page.get_by_role("button", name="Create Stream").click()
    page.get_by_role("dialog").get_by_role("link", name="Done").click()
    expect(page.locator("table.streams tbody tr").first).to_contain_text("Orders")


def test_a_draft_saved_at_step_two_is_continued_later(new_page, owner, whatsapp_access):
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    _start_wizard(page)
    page.get_by_label("Stream API name").fill("Later")
    page.get_by_role("button", name="Save & Next").click()
    page.get_by_label("WhatsApp Business ID").fill("1234567890")
    page.get_by_role("button", name="Save as draft").click()

    row = page.locator("table.streams tbody tr", has_text="Later")
    expect(row).to_contain_text("Draft")
    row.get_by_text("Actions").click()
    expect(row.get_by_role("link", name="Edit")).to_have_count(0)
    row.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="WhatsApp Settings")).to_be_visible()
    expect(page.get_by_label("WhatsApp Business ID")).to_have_value("1234567890")
    page.get_by_role("button", name=re.compile("Back")).click()
    expect(page.get_by_label("Stream API name")).to_have_value("Later")
