"""Whatever a user, Meta or a customer's server typed comes back as text, never as markup.

One account is filled, through the console's own forms and Meta's inbound path, with a payload
in every field that someone outside TextPeak's code can fill; each payload carries a marker
naming its field (``<i>stream_name</i>``). Then every console page, side-panel tab (as a page
and as the drawer), wizard step and confirmation, the pages that echo what was just typed, and
the Django admin pages that support uses are fetched: no marker may come back as markup, and
each field's marker must come back escaped somewhere, so a field that is never shown (or never
stored) cannot pass unnoticed.
"""

import json
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils.html import escape

from tests.factories import MemberFactory, SentMessageFactory
from tests.whatsapp.fixtures import OUT_WAMID, PHONE_NUMBER_ID, WABA_ID, fixture
from textpeak.accounts import beta, members
from textpeak.accounts.models import Account, BetaAccessRequest, Member
from webhooks import deliveries
from webhooks.models import Delivery, WebhookEndpoint
from whatsapp.inbound.parse import parse
from whatsapp.inbound.payloads import payload_keep
from whatsapp.inbound.store import store
from whatsapp.models import InboundPayload, Message, Template, WhatsAppAccount
from whatsapp.testing.fake_graph import message_template, phone_number

pytestmark = pytest.mark.django_db

# On no page, ever, whatever the field.
NEVER_RAW = ("<script>alert(1)", "<img src=x onerror")


def hostile(label: str) -> str:
    """Breaks out of text, of an attribute in either quote, and runs script if not escaped."""
    return f"<script>alert(1)</script>\"'><i>{label}</i><img src=x onerror=alert(1)>"


def medium(label: str) -> str:
    """The same for fields of up to 50 characters (tags)."""
    return f"\"'><i>{label}</i><img src=x onerror=alert(1)>"


def short(label: str) -> str:
    """The same for fields of up to 20 characters (Meta's ratings, categories, statuses)."""
    return f"\"'><i>{label}</i>"


def marker(label: str) -> str:
    return f"<i>{label}</i>"


# Each field someone outside the code fills, by the label its payload carries.
SHOWN = {
    "account_name": "the account's name (topbar)",
    "stream_name": "a stream's name",
    "stream_description": "a stream's description",
    "stream_tag": "a stream's tag",
    "demo_name": "the Demo Sending stream's name",
    "demo_description": "the Demo Sending stream's description",
    "member_name": "an invited member's name (Members, Remove, the invitation)",
    "invite_name": "a refused invitation's typed name",
    "demo_tag": "the Demo Sending stream's tag",
    "business_name": "the business name Meta answers",
    "verified_name": "a sender's verified name from Meta",
    "quality": "a sender's quality rating from Meta",
    "thruput": "a sender's throughput from Meta",
    "template_name": "a template name from Meta",
    "category": "a template category from Meta",
    "tstatus": "a template status in Meta's template event",
    "callback_error": "Meta's error text when the callback is registered",
    "contact_name": "an inbound contact name",
    "text": "an inbound text",
    "caption": "an inbound caption",
    "filename": "an inbound document's file name",
    "meta_error": "Meta's error text in a failed status",
    "pricing": "Meta's pricing category in a status (the Info tab's chart)",
    "kept_body": "a Meta body not stored yet (admin)",
    "response": "the customer's server's answer to a delivery",
    "test_response": "the customer's server's answer to Test webhook",
    "name_filter": "the streams page's name filter, echoed",
    "tag_query": "the typed tag query, echoed in its suggestions",
    "number_filter": "the Messages tab's number filter, echoed",
    "new_ip": "a refused IP ACL entry, echoed",
    "header_name": "a refused webhook header name, echoed",
    "business_id": "a refused WhatsApp Business ID, echoed",
    "typed_url": "a refused webhook URL, echoed",
    "review_note": "support's rejection note, shown to the account",
    "login_email": "the e-mail typed at a failed login",
    "user_agent": "the browser's name sent with a failed login (admin)",
}
# Kept but shown masked or not at all: only never as markup.
UNSHOWN = {
    "header_value": "a webhook header value (a credential)",
    "template_body": "a template's text from Meta",
}

TOKEN = "EAAG" + hostile("access_token") + "<hr>"  # shown by its last 4: "<hr>"
APP_SECRET = "app-" + hostile("app_secret") + "'<b>"  # shown by its last 4: "'<b>"
# Fields whose payload is shown only in part, or changed on its way in: (raw, escaped) as shown.
PARTS = {
    "access_token": ("•••• <hr>", "•••• &lt;hr&gt;"),
    "app_secret": ("•••• '<b>", "•••• &#x27;&lt;b&gt;"),
}

# Console URLs left out of the walk: POST-only actions that answer with a redirect to a page
# walked here, or with the tab walked here redrawn; machine endpoints answer JSON or text; the
# messages export answers CSV (its cells are checked in tests/whatsapp/test_usage.py).
NOT_PAGES = {
    "streams:disable",
    "streams:enable",
    "webhooks:remove",
    "webhooks:rotate_secret",
    "webhooks:enable",
    "webhooks:redeliver",
    "whatsapp_callback_key_rotate",
    "whatsapp_credentials_check",
    "member_role",
    "member_resend",
    "logout",
    "beta_request",
    "home",
    "favicon",
    "healthz",
    "metrics",
    "api_openapi",
    "api_send",
    "api_messages_status",
    "api_contacts",
    "api_read",
    "api_media",
    "api_media_upload",
    "whatsapp:callback",
    "whatsapp_messages_export",
}


def _meta_body(name: str, edit) -> bytes:
    data = json.loads(fixture(name))
    value = data["entry"][0]["changes"][0]["value"]
    edit(value)
    return json.dumps(data).encode()


def _inbound(stream, name: str, edit) -> None:
    """A Meta body stored the way the callback's worker stores it."""
    store(stream=stream, events=parse(_meta_body(name, edit)))


def _contact_and(key: str, field: str, label: str):
    def edit(value):
        value["contacts"][0]["profile"]["name"] = hostile("contact_name")
        value["messages"][0][key][field] = hostile(label)

    return edit


def _create_stream(client, data: dict) -> str:
    response = client.post(reverse("streams:create", args=["whatsapp"]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return resolve(response.url).kwargs["uid"]


def _step(client, uid, step: str, data: dict, expect: int = 302):
    response = client.post(reverse("streams:setup", args=[uid, step]), data)
    assert response.status_code == expect, response.content.decode()[:3000]
    return response


@pytest.fixture
def filled(client, owner, support, account, whatsapp_access, fake_graph, receiver):
    """The account, a real stream and a Demo Sending stream, filled through the console."""
    Account.objects.filter(pk=account.pk).update(name=hostile("account_name"))
    client.force_login(owner)
    business = fake_graph.add_business(
        waba_id=WABA_ID,
        token=TOKEN,
        name=hostile("business_name"),
        phone_numbers=[
            phone_number(
                id=PHONE_NUMBER_ID,
                display_phone_number="+1 555-000-1111",
                verified_name=hostile("verified_name"),
                quality_rating=short("quality"),
                throughput=short("thruput"),
            )
        ],
        templates=[
            message_template(
                hostile("template_name"), category=short("category"), body=hostile("template_body")
            ),
            message_template("order_update", id="700", status="PENDING"),
        ],
    )

    uid = _create_stream(
        client,
        {
            "name": hostile("stream_name"),
            "description": hostile("stream_description") + "\nSecond line",
            "tag_names": [medium("stream_tag")],
            "action": "next",
        },
    )
    _step(
        client,
        uid,
        "whatsapp",
        {
            "business_id": business.waba_id,
            "access_token": TOKEN,
            "app_secret": APP_SECRET,
            "action": "next",
        },
    )
    webhook_url = receiver.url("/in") + "?q='x'"
    _step(
        client,
        uid,
        "webhook",
        {
            "method": "POST",
            "url": webhook_url,
            "header_name": ["X-Api-Key"],
            "header_value": [hostile("header_value")],
            "send_statuses": "on",
            "action": "next",
        },
        expect=200,
    )
    fake_graph.fail_next(
        path="subscribed_apps", status=401, code=190, message=hostile("callback_error")
    )
    _step(client, uid, "summary", {"action": "create"}, expect=200)

    demo_uid = _create_stream(
        client,
        {
            "name": hostile("demo_name"),
            "description": hostile("demo_description"),
            "tag_names": [medium("demo_tag")],
            "is_demo": "on",
            "action": "next",
        },
    )
    _step(client, demo_uid, "whatsapp", {"action": "next"})
    _step(client, demo_uid, "webhook", {"action": "skip"})
    _step(client, demo_uid, "summary", {"action": "create"}, expect=200)

    stream = WhatsAppAccount.objects.get(business_id=WABA_ID).stream
    # What customers and Meta send to the real stream, through the inbound path.
    _inbound(stream, "text", _contact_and("text", "body", "text"))
    _inbound(stream, "image", _contact_and("image", "caption", "caption"))
    _inbound(stream, "document", _contact_and("document", "filename", "filename"))
    SentMessageFactory(stream=stream, phone_number_id=PHONE_NUMBER_ID, wamid=OUT_WAMID)

    def failed(value):
        error = value["statuses"][0]["errors"][0]
        error["title"] = error["message"] = hostile("meta_error")
        error["error_data"]["details"] = hostile("meta_error")
        value["statuses"][0]["pricing"]["category"] = short("pricing")

    _inbound(stream, "status_failed", failed)

    def template_event(value):
        value["message_template_id"] = "700"
        value["event"] = short("tstatus")

    _inbound(stream, "template_status_update", template_event)
    payload_keep(
        stream=stream,
        body=_meta_body(
            "text", lambda value: value["messages"][0]["text"].update(body=hostile("kept_body"))
        ),
    )
    # The customer's server answers the deliveries, and Test webhook (here and in the walk),
    # with markup.
    receiver.answer(500, body=hostile("response").encode(), times=4)
    pending = Delivery.objects.filter(endpoint__stream=stream)
    assert pending.count() == 4  # three messages and the failed status
    deliveries.deliveries_send(delivery_ids=list(pending.values_list("pk", flat=True)))
    receiver.answer(200, body=hostile("test_response").encode())
    client.post(reverse("webhooks:test", args=[stream.uid]))
    receiver.answer(200, body=hostile("test_response").encode())

    # Support's note on another account's rejected request, shown on its streams page.
    other = MemberFactory(account__name="Other Co", role=Member.Role.ADMIN)
    request, _ = beta.beta_access_request(
        account=other.account, feature=beta.Feature.WHATSAPP_STREAMS, user=other.user
    )
    beta.beta_access_review(
        request_ids=[request.pk], reviewer=support, approve=False, note=hostile("review_note")
    )

    # A teammate invited by the admin, under a name the admin typed.
    invited = members.member_invite(
        account=account,
        email="invited@acme.test",
        role=Member.Role.MEMBER,
        name=hostile("member_name"),
        invited_by=owner,
    )

    assert Template.objects.filter(status=short("tstatus")).exists()
    assert Message.objects.filter(contact_name=hostile("contact_name")).count() == 3
    return {
        "stream": stream,
        "demo": WhatsAppAccount.objects.exclude(business_id=WABA_ID).get().stream,
        "webhook_url": WebhookEndpoint.objects.get(stream=stream).url,
        "other": other.user,
        "invited": invited,
    }


class InlineCode(HTMLParser):
    """What a script-src 'self' / style-src 'self' policy would block in a page's markup:
    inline scripts and styles, event handler and style attributes, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append("an inline <script>")
        if tag == "style":
            self.found.append("a <style> element")
        for name, value in attrs.items():
            if name.startswith(("on", "hx-on")) or name == "style":
                self.found.append(f"a {name}= attribute on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (
                (value or "").strip().lower().startswith("javascript:")
            ):
                self.found.append(f"a javascript: URL in {name}= on <{tag}>")


class Walk:
    """Fetches pages and records which markers each one shows, and how; and what of each page
    its Content-Security-Policy would block, or whether it has none."""

    def __init__(self, parts: dict[str, tuple[str, str]]):
        self.parts = parts
        self.problems: list[str] = []
        self.seen: set[str] = set()
        self.view_names: set[str] = set()
        self.policy_problems: list[str] = []

    def check(self, where: str, response, *, url: str = ""):
        if url:
            self.view_names.add(resolve(url.split("?")[0]).view_name)
        assert response.status_code in (200, 422), f"{where}: HTTP {response.status_code}"
        assert response["Content-Type"].startswith("text/html"), where
        if "Content-Security-Policy" not in response:
            self.policy_problems.append(f"{where}: no Content-Security-Policy")
        inline = InlineCode()
        inline.feed(response.content.decode())
        self.policy_problems += [f"{where}: {found}" for found in dict.fromkeys(inline.found)]
        page = response.content.decode().lower()
        for raw in NEVER_RAW:
            if raw in page:
                self.problems.append(f"{where}: {raw!r} came back as markup")
        for label, what in {**SHOWN, **UNSHOWN}.items():
            if marker(label) in page:
                self.problems.append(f"{where}: {what} came back as markup")
            if escape(marker(label)).lower() in page:
                self.seen.add(label)
        for label, (raw, escaped) in self.parts.items():
            if raw.lower() in page:
                self.problems.append(f"{where}: {label} came back as markup")
            if escaped.lower() in page:
                self.seen.add(label)

    def get(self, client, url: str, where: str = "", **headers):
        self.check(where or url, client.get(url, **headers), url=url)

    def post(self, client, url: str, data: dict, where: str = "", **headers):
        self.check(where or f"POST {url}", client.post(url, data, **headers), url=url)


DRAWER = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "stream-panel"}
HTMX = {"HTTP_HX_REQUEST": "true"}


def _console_url_names() -> set[str]:
    """Every named URL of the project, admin aside."""

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield namespace + pattern.name

    return set(walk(get_resolver().url_patterns))


def _walk_every_page(client, filled, support) -> Walk:
    stream, demo = filled["stream"], filled["demo"]
    # The URL as stored (requests quotes < > " in it): the quote typed in its query is left.
    url = filled["webhook_url"]
    assert url.endswith("?q='x'")
    walk = Walk({**PARTS, "webhook_url": (url, escape(url))})
    walk.get(client, reverse("streams:list"))
    walk.get(client, reverse("streams:list") + "?" + urlencode({"name": hostile("name_filter")}))
    walk.get(client, reverse("streams:list") + "?" + urlencode({"tag": medium("stream_tag")}))
    walk.get(client, reverse("streams:list") + "?new=1", **HTMX)
    walk.get(client, reverse("streams:create", args=["whatsapp"]))
    walk.get(
        client,
        reverse("streams:tag_suggestions")
        + "?"
        + urlencode(
            {
                "tag_query": hostile("tag_query"),
                "form_action": reverse("streams:detail", args=[stream.uid]),
            }
        ),
    )
    walk.get(client, reverse("password_change"))
    walk.get(client, reverse("password_change_done"))
    walk.get(client, reverse("api_docs"))
    walk.get(Client(), reverse("login"))
    # A failed login: the page shows the typed e-mail back, admin the attempt's e-mail and agent.
    walk.post(
        Client(),
        reverse("login"),
        {"username": hostile("login_email"), "password": "wrong"},
        HTTP_USER_AGENT=hostile("user_agent"),
    )
    for each in (stream, demo):
        uid = each.uid
        walk.get(client, reverse("streams:detail", args=[uid]))
        walk.get(client, reverse("streams:detail", args=[uid]), "drawer of Info", **DRAWER)
        for tab in ("messages", "whatsapp", "webhooks", "api"):
            url = reverse("streams:tab", args=[uid, tab])
            walk.get(client, url)
            walk.get(client, url, f"drawer of {url}", **DRAWER)
        for step in ("details", "whatsapp", "webhook", "summary"):
            walk.get(client, reverse("streams:setup", args=[uid, step]))
        for name in ("streams:regenerate_token", "streams:delete"):
            walk.get(client, reverse(name, args=[uid]))
            walk.get(client, reverse(name, args=[uid]), f"pop-up of {name}", **HTMX)
    uid = stream.uid
    messages_tab = reverse("streams:tab", args=[uid, "messages"])
    walk.get(client, messages_tab + "?" + urlencode({"number": hostile("number_filter")}))
    walk.get(client, reverse("webhooks:remove_confirm", args=[uid]))
    walk.get(client, reverse("webhooks:rotate_secret_confirm", args=[uid]))
    walk.get(client, reverse("whatsapp_callback_key_rotate_confirm", args=[uid]))
    walk.get(Client(), reverse("whatsapp_credentials_help"))
    invited = filled["invited"]
    walk.get(client, reverse("members"))
    walk.get(client, reverse("member_remove", args=[invited.pk]))
    # The link stores its token in the session and redirects to the form that sets a password.
    invitee = Client()
    link = members.invitation_url(invited.user).removeprefix(settings.SITE_URL)
    walk.get(invitee, invitee.get(link).url, "the invitation's set-password page")
    walk.post(
        client,
        reverse("member_invite"),
        {"email": "not an address", "name": hostile("invite_name"), "role": "member"},
        "Invite refused, showing what was typed",
    )
    walk.post(
        client, reverse("webhooks:test", args=[uid]), {}, "Test webhook's inline result", **HTMX
    )
    # What was typed, refused and shown back in its form.
    details = reverse("streams:setup", args=[uid, "details"])
    walk.post(client, details, {"name": "Orders", "add_ip": "1", "new_ip": hostile("new_ip")})
    walk.post(
        client,
        details,
        {"name": "Orders", "add_ip": "1", "new_ip": hostile("new_ip")},
        "the IP ACL partial",
        **HTMX,
    )
    walk.post(
        client,
        reverse("streams:setup", args=[uid, "whatsapp"]),
        {"business_id": hostile("business_id"), "action": "next"},
    )
    webhook_form = {
        "method": "POST",
        "url": filled["webhook_url"],
        "header_name": [hostile("header_name")],
        "header_value": ["x"],
    }
    walk.post(client, reverse("streams:tab", args=[uid, "webhooks"]), webhook_form)
    walk.post(client, reverse("webhooks:preview", args=[uid]), webhook_form, **HTMX)
    refused_url = {**webhook_form, "url": "javascript:" + hostile("typed_url")}
    walk.post(client, reverse("streams:tab", args=[uid, "webhooks"]), refused_url)
    walk.post(client, reverse("webhooks:preview", args=[uid]), refused_url, **HTMX)
    other = Client()
    other.force_login(filled["other"])
    walk.get(other, reverse("streams:list"), "the streams page of an account refused access")

    support_client = Client()
    support_client.force_login(support)
    for model, objects in (
        (Account, Account.objects.all()),
        (Member, Member.objects.all()),
        (BetaAccessRequest, BetaAccessRequest.objects.all()),
        (stream.tags.model, stream.tags.model.objects.all()),
        (type(stream), [stream, demo]),
        (WhatsAppAccount, WhatsAppAccount.objects.all()),
        (Message, Message.objects.filter(stream=stream)),
        (InboundPayload, InboundPayload.objects.all()),
        (WebhookEndpoint, WebhookEndpoint.objects.all()),
        (AccessAttempt, AccessAttempt.objects.all()),
    ):
        opts = model._meta
        walk.get(support_client, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        for obj in objects:
            walk.get(
                support_client,
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
            )

    return walk


def test_it_shows_what_users_meta_and_customers_typed_as_text_everywhere(client, filled, support):
    walk = _walk_every_page(client, filled, support)
    assert walk.problems == [], "\n".join(walk.problems)
    missing = {
        label: what for label, what in {**SHOWN, **walk.parts}.items() if label not in walk.seen
    }
    assert missing == {}, "never shown (escaped) on any page walked"
    unwalked = (
        _console_url_names()
        - NOT_PAGES
        - {name for name in walk.view_names if not name.startswith("admin:")}
    )
    assert unwalked == set(), "console pages this walk does not fetch"


def test_every_page_carries_the_policy_and_no_code_it_would_block(client, filled, support):
    walk = _walk_every_page(client, filled, support)
    assert walk.policy_problems == [], "\n".join(walk.policy_problems)
