"""Roles in a real browser: an admin invites a member from Account > Members; the member sets
a password from the e-mailed link and looks at a stream without a single control that would
change it."""

import re

from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, MemberFactory, whatsapp_stream
from textpeak.accounts.models import Member, User
from textpeak.accounts.tasks import send_member_invitation
from webhooks import services

CHANGES = re.compile(r"Save|Remove|Rotate|Test webhook|Redeliver|Enable|Disable|Refresh|Update")


def _invitation_link(email, owner):
    """The link of the invitation e-mail, sent by the task's body as a worker would."""
    send_member_invitation(User.objects.get(email=email).member.id, owner.id)
    return re.search(r"http\S+/account/invitation/\S+/", mail.outbox[-1].body)[0]


def _changes_nothing(panel):
    expect(panel.locator("form[method=post]")).to_have_count(0)
    expect(panel.get_by_role("button", name=CHANGES)).to_have_count(0)
    # A field of a GET form (the Info tab's export period) asks for a download, not a change.
    fields = panel.get_by_role("textbox").and_(panel.locator(":not(form[method=get] *)"))
    expect(fields).to_have_count(0)


def test_an_invited_member_sees_a_stream_without_any_action(
    new_page, live_server, settings, owner, account, whatsapp_access
):
    stream = whatsapp_stream(account=account, name="Orders", description="Shipping notices")
    services.webhook_save(
        stream=stream,
        method="POST",
        url="https://hooks.example.com/in",
        headers=[("Authorization", "Bearer header-secret-value")],
    )
    settings.SITE_URL = live_server.url

    admin = new_page()
    log_in(admin, owner.email, PASSWORD)
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    invite = admin.get_by_role("region", name="Invite someone")
    invite.get_by_label("E-mail").fill("nia@acme.test")
    invite.get_by_label("Name").fill("Nia Member")
    invite.get_by_label("Role").select_option("member")
    invite.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_text("Invitation sent to nia@acme.test.")).to_be_visible()
    expect(admin.get_by_role("row", name=re.compile("nia@acme.test"))).to_contain_text(
        "Invitation pending"
    )

    member = new_page()
    member.goto(_invitation_link("nia@acme.test", owner))
    expect(member.get_by_role("heading", name="Set your password")).to_be_visible()
    member.get_by_label(re.compile(r"^New password(?! confirmation)")).fill("a-long-new-pass")
    member.get_by_label("New password confirmation").fill("a-long-new-pass")
    member.get_by_role("button", name="Set password and log in").click()
    expect(member.get_by_text("Welcome to Acme Ltd.")).to_be_visible()
    expect(member.get_by_role("link", name="Create Stream API")).to_have_count(0)
    expect(member.get_by_text("Actions")).to_have_count(0)

    member.get_by_role("link", name="Orders").click()
    panel = member.locator("#stream-panel")
    expect(panel.get_by_text("Shipping notices")).to_be_visible()
    _changes_nothing(panel)
    panel.get_by_role("link", name="Messages").click()
    expect(panel.get_by_role("heading", name="No messages yet")).to_be_visible()
    _changes_nothing(panel)
    panel.get_by_role("link", name="Webhooks").click()
    expect(panel.get_by_text("https://hooks.example.com/in").first).to_be_visible()
    expect(panel.get_by_text("Authorization: ********")).to_be_visible()
    expect(panel).not_to_contain_text("header-secret-value")
    _changes_nothing(panel)


def test_an_admin_makes_a_member_admin_and_removes_another(new_page, owner, account):
    MemberFactory(account=account, user__email="ravi@acme.test")
    MemberFactory(account=account, user__email="leaving@acme.test")
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.goto("/account/members/")

    page.get_by_label("Role of ravi@acme.test").select_option("admin")
    page.get_by_role("row", name=re.compile("ravi@acme.test")).get_by_role(
        "button", name="Change role"
    ).click()
    expect(page.get_by_text("ravi@acme.test is now an admin.")).to_be_visible()

    page.get_by_role("row", name=re.compile("leaving@acme.test")).get_by_role(
        "link", name="Remove"
    ).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Remove leaving@acme.test?")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("leaving@acme.test was removed from Acme Ltd.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("leaving@acme.test"))).to_have_count(0)
    assert Member.objects.get(user__email="ravi@acme.test").role == "admin"
