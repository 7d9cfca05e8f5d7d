"""The Content-Security-Policy in a real browser: the console's pages, its side panel, the
wizard, the API docs and Django admin, clicked through, carry the policy and break none of it
(chromium reports each breach as a ``securitypolicyviolation`` event and a console error)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, SentMessageFactory, UserFactory, whatsapp_stream
from textpeak.accounts import beta
from webhooks import services as webhook_services

# Playwright adds this before any of the page's own scripts, whatever the policy.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.violations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


class Watched:
    """A page whose policy breaches, console errors and unprotected documents are recorded."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.documents: list[str] = []
        self.unprotected: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on(
            "console", lambda message: message.type == "error" and self.errors.append(message.text)
        )
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("response", self._response)

    def _response(self, response):
        if response.request.resource_type != "document":
            return
        self.documents.append(response.url)
        if "content-security-policy" not in response.headers:
            self.unprotected.append(response.url)

    def check(self, where: str):
        violations = self.page.evaluate("window.violations")
        assert violations == [], where
        assert self.errors == [], where
        assert self.unprotected == [], where


@pytest.fixture
def stream(account, whatsapp_access, receiver):
    stream = whatsapp_stream(account=account, name="Orders")
    webhook_services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/in"), headers=[("X-Key", "k")]
    )
    SentMessageFactory(stream=stream, sender_number="15550100100")
    return stream


def test_the_console_keeps_its_policy(new_page, owner, stream):
    watched = Watched(new_page())
    page = watched.page
    log_in(page, owner.email, PASSWORD)
    expect(page.get_by_role("heading", name="Streams API")).to_be_visible()
    watched.check("the streams page")

    page.get_by_role("link", name="+ Create Stream API").first.click()
    expect(page.get_by_role("heading", name="Create Stream API")).to_be_visible()
    page.keyboard.press("Escape")

    page.get_by_role("link", name="Orders").click()
    drawer = page.locator("#stream-panel")
    for tab, shows in (
        ("Messages", "1 message"),
        ("WhatsApp", "Senders and templates"),
        ("Webhooks", "Request preview"),
        ("Request API", "As a curl command"),
        ("Info", "Stream ID"),
    ):
        drawer.get_by_role("link", name=tab, exact=True).click()
        expect(drawer.get_by_text(shows).first).to_be_visible()
        watched.check(f"the side panel's {tab} tab")

    page.goto(f"/streams/{stream.uid}/webhooks/")
    page.get_by_role("button", name="Test webhook").click()
    expect(page.get_by_text("Your server answered")).to_be_visible()
    page.get_by_label("URL").fill("https://example.com/hook")
    expect(page.locator("#webhook-preview")).to_contain_text("POST /hook HTTP/1.1")
    page.reload()
    page.get_by_text("Attempts and request").click()
    expect(page.get_by_text("The request as sent")).to_be_visible()
    watched.check("the Webhooks tab")

    page.goto("/api/docs")
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    watched.check("the API docs")
    assert len(watched.documents) >= 4


def test_the_wizard_keeps_its_policy(new_page, owner, account, whatsapp_access):
    watched = Watched(new_page())
    page = watched.page
    log_in(page, owner.email, PASSWORD)
    page.goto("/streams/new/whatsapp/")
    page.get_by_label("Stream API name").fill("Alerts")
    page.get_by_label("Enable IP ACL").check()
    page.get_by_label("Add IP").fill("203.0.113.7")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("203.0.113.7")).to_be_visible()
    page.get_by_role("combobox", name="Tags").fill("vip")
    page.get_by_role("option", name="Create tag “vip”").click()
    expect(page.locator("#tags .chip")).to_have_count(1)
    page.get_by_label("Demo Sending").check()
    page.get_by_role("button", name="Save & Next").click()
    expect(page.get_by_text("Demo Sending is on.")).to_be_visible()
    page.get_by_role("button", name="Save & Next").click()
    page.get_by_label("URL").fill("https://example.com/hook")
    expect(page.locator("#webhook-preview")).to_contain_text("POST /hook HTTP/1.1")
    page.get_by_role("button", name="Skip").click()
    page.get_by_role("button", name="Create Stream").click()
    expect(page.get_by_role("heading", name="Stream created")).to_be_visible()
    watched.check("the wizard")


def _admin_log_in(page, user):
    page.goto("/admin/login/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_django_admin_keeps_its_policy(new_page, support, owner, account):
    beta.beta_access_request(account=account, feature=beta.Feature.WHATSAPP_STREAMS, user=owner)
    watched = Watched(new_page())
    page = watched.page
    _admin_log_in(page, support)
    expect(page.get_by_role("heading", name="Accounts, beta access and streams")).to_be_visible()
    page.get_by_role("link", name="Beta access requests").click()
    page.get_by_role("link", name=account.name).first.click()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("button", name="Yes, approve").click()
    expect(page.get_by_text("Approved 1 request")).to_be_visible()
    watched.check("the beta access review")


def test_django_admin_forms_keep_the_policy(new_page, owner, account, whatsapp_access):
    """A superuser's change form, with the admin's own widgets (filters, autocomplete)."""
    stream = whatsapp_stream(account=account, name="Orders")
    admin = UserFactory(is_staff=True, is_superuser=True)
    watched = Watched(new_page())
    page = watched.page
    _admin_log_in(page, admin)
    page.goto(f"/admin/streams/stream/{stream.pk}/change/")
    expect(page.get_by_text("Available tags")).to_be_visible()
    page.locator(".select2-selection").first.click()
    expect(page.locator(".select2-results")).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(f"/admin/accounts/user/{owner.pk}/change/")
    watched.check("the admin's change forms")
