import re

from playwright.sync_api import expect

from streams.models import Stream
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, StreamFactory, TagFactory


def test_filters_narrow_the_table_without_reloading_the_page(new_page, owner, account):
    StreamFactory(account=account, name="Order updates")
    StreamFactory(account=account, name="Marketing", tags=[TagFactory(account=account, name="vip")])
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    expect(page.get_by_text("2 streams")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Name").fill("order")
    expect(page.get_by_text("1 stream", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Order updates")).to_be_visible()
    expect(page.get_by_role("link", name="Marketing")).to_have_count(0)
    assert "name=order" in page.url

    page.get_by_label("Name").fill("")
    page.get_by_label("Tag").select_option("vip")
    expect(page.get_by_role("link", name="Order updates")).to_have_count(0)
    expect(page.get_by_role("link", name="Marketing")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_pages_move_with_the_links_at_the_bottom(new_page, owner, account):
    for number in range(30):
        StreamFactory(account=account, name=f"Stream {number:02d}")
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.locator("table.streams tbody tr")).to_have_count(5)


def test_clear_filters_resets_the_filter_controls_the_table_and_the_url(new_page, owner, account):
    StreamFactory(account=account, name="Order updates")
    StreamFactory(
        account=account,
        name="Demo draft",
        status=Stream.Status.DRAFT,
        tags=[TagFactory(account=account, name="demo")],
    )
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.get_by_label("Status").select_option("draft")
    page.get_by_label("Tag").select_option("demo")
    expect(page).to_have_url(re.compile(r"status=draft&tag=demo"))
    expect(page.get_by_role("link", name="Order updates")).to_have_count(0)

    page.get_by_role("link", name="Clear filters").click()
    expect(page.get_by_text("2 streams")).to_be_visible()
    expect(page.get_by_label("Status")).to_have_value("")
    expect(page.get_by_label("Tag")).to_have_value("")
    expect(page.get_by_label("Name")).to_have_value("")
    assert "?" not in page.url

    # Typing a name now filters by the name alone: the cleared filters do not come back.
    page.get_by_label("Name").fill("order")
    expect(page.get_by_text("1 stream", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Order updates")).to_be_visible()
    expect(page.get_by_text("No streams match these filters")).to_have_count(0)


def test_clear_filters_works_without_javascript(browser, live_server, owner, account):
    StreamFactory(account=account, name="Order updates")
    StreamFactory(account=account, name="Demo draft", status=Stream.Status.DRAFT)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, owner.email, PASSWORD)
        page.get_by_label("Status").select_option("draft")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("1 stream", exact=True)).to_be_visible()

        page.get_by_role("link", name="Clear filters").click()
        expect(page.get_by_text("2 streams")).to_be_visible()
        expect(page.get_by_label("Status")).to_have_value("")
        assert "?" not in page.url
    finally:
        context.close()
