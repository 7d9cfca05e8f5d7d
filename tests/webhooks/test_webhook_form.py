"""The Incoming Messages Webhook form (wizard step 3 and the Webhooks tab) and its preview."""

import html
import json
import re

import pytest
from django.db import connection
from django.urls import reverse

from streams.models import Stream
from tests.factories import StreamFactory
from webhooks import services
from webhooks.builder import MASK, SIGNATURE_HEADER, sign
from webhooks.models import WebhookEndpoint
from whatsapp.inbound.events import sample_message_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(owner_client, whatsapp_access):
    return owner_client


@pytest.fixture
def draft(account):
    """A draft at the webhook step."""
    return StreamFactory(account=account, status=Stream.Status.DRAFT, setup_progress=2)


def _step(stream):
    return reverse("streams:setup", args=[stream.uid, "webhook"])


def _webhook(url="https://example.com/hook", method="POST", headers=(), **fields):
    """The form's data; each header is (name, value) or (name, value, saved header's name)."""
    data = {
        "method": method,
        "url": url,
        "header_name": [name for name, *_ in headers],
        "header_value": [value for _, value, *_ in headers],
        "header_saved": [(saved or [""])[0] for _, _, *saved in headers],
        "action": "next",
    }
    data.update(fields)
    return data


def _refused(member, stream, data):
    """Post the step, check nothing was saved, and return the page."""
    response = member.post(_step(stream), data)
    assert response.status_code == 200
    assert not WebhookEndpoint.objects.filter(stream=stream).exists()
    return response.content.decode()


def _preview_text(response):
    match = re.search(
        r'<pre class="code"><code>(.*?)</code></pre>', response.content.decode(), re.S
    )
    return html.unescape(match[1]) if match else ""


# -- saving


def test_it_saves_the_webhook_and_goes_to_the_summary(member, draft):
    response = member.post(_step(draft), _webhook(headers=[("Authorization", "Bearer abc")]))
    endpoint = WebhookEndpoint.objects.get(stream=draft)
    # A new webhook's signing secret is shown first, once; Continue leads to the summary.
    summary = reverse("streams:setup", args=[draft.uid, "summary"])
    assert f'<a class="btn primary" href="{summary}">Continue</a>' in response.content.decode()
    assert (endpoint.method, endpoint.url) == ("POST", "https://example.com/hook")
    assert endpoint.headers() == [("Authorization", "Bearer abc")]


def test_it_requires_a_url_for_save_and_next(member, draft):
    page = _refused(member, draft, _webhook(url=""))
    assert "Enter the URL your server receives messages on." in page


def test_it_saves_a_draft_without_a_url(member, draft):
    response = member.post(_step(draft), _webhook(url="", action="draft"))
    assert response["Location"] == reverse("streams:list")
    assert not WebhookEndpoint.objects.filter(stream=draft).exists()


# -- the URL


def test_it_refuses_a_private_address_when_private_networks_are_off(member, draft, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    page = _refused(member, draft, _webhook(url="http://10.1.2.3/hook"))
    assert "This IP address is private, local or reserved; use a public address." in page


def test_it_refuses_localhost_when_private_networks_are_off(member, draft, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    page = _refused(member, draft, _webhook(url="http://localhost:8000/hook"))
    assert "This host name only works inside a private network; use a public URL." in page


def test_it_accepts_a_private_address_when_private_networks_are_allowed(member, draft, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    member.post(_step(draft), _webhook(url="http://10.1.2.3/hook"))
    assert WebhookEndpoint.objects.get(stream=draft).url == "http://10.1.2.3/hook"


def test_it_refuses_an_ftp_url(member, draft):
    page = _refused(member, draft, _webhook(url="ftp://example.com/hook"))
    assert "Use an http:// or https:// URL." in page


def test_it_refuses_credentials_in_the_url(member, draft):
    page = _refused(member, draft, _webhook(url="https://user:pass@example.com/hook"))
    assert "Remove the user name and password from the URL" in page


# -- the headers


def test_it_refuses_a_header_name_with_spaces(member, draft):
    page = _refused(member, draft, _webhook(headers=[("X Api Key", "abc")]))
    assert "Header names may contain only letters, digits" in page
    assert "Correct the headers marked below." in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Host", "Host is set automatically from the URL."),
        ("content-length", "Content-Length is set automatically."),
        ("X-TextPeak-Signature", "X-TextPeak-Signature is set by TextPeak."),
    ],
)
def test_it_refuses_a_reserved_header_name(member, draft, name, message):
    page = _refused(member, draft, _webhook(headers=[(name, "value")]))
    assert message in page


def test_it_refuses_content_type_for_post(member, draft):
    page = _refused(member, draft, _webhook(headers=[("Content-Type", "text/plain")]))
    assert "Content-Type is always application/json for POST requests." in page


def test_it_accepts_content_type_for_get(member, draft):
    member.post(_step(draft), _webhook(method="GET", headers=[("Content-Type", "text/plain")]))
    assert WebhookEndpoint.objects.get(stream=draft).headers() == [("Content-Type", "text/plain")]


def test_it_refuses_a_duplicate_header_name(member, draft):
    page = _refused(member, draft, _webhook(headers=[("X-Api-Key", "a"), ("x-api-key", "b")]))
    assert "x-api-key is already set above." in page


def test_it_shows_a_header_error_beside_its_row(member, draft):
    page = _refused(member, draft, _webhook(headers=[("X-Ok", "1"), ("Bad Name", "2")]))
    rows = page.split('<div class="header-row')[1:]
    assert "Header names may contain" not in rows[0]
    assert "Header names may contain" in rows[1]
    assert rows[1].startswith(" has-error")


def test_it_ignores_a_blank_header_row(member, draft):
    member.post(_step(draft), _webhook(headers=[("X-Api-Key", "abc"), ("", "")]))
    assert WebhookEndpoint.objects.get(stream=draft).headers() == [("X-Api-Key", "abc")]


def test_it_stores_header_values_encrypted(member, draft):
    member.post(_step(draft), _webhook(headers=[("Authorization", "Bearer s3cr3t-4711")]))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT headers_encrypted FROM {WebhookEndpoint._meta.db_table}"  # noqa: S608
        )
        (raw,) = cursor.fetchone()
    assert raw
    assert "s3cr3t-4711" not in raw
    assert "Authorization" not in raw


def test_it_shows_the_saved_header_names_back_in_the_form(member, draft):
    member.post(_step(draft), _webhook(headers=[("Authorization", "Bearer s3cr3t-4711")]))
    page = member.get(_step(draft)).content.decode()
    assert 'name="header_name" value="Authorization"' in page
    assert 'name="header_saved" value="Authorization"' in page
    assert 'value="https://example.com/hook"' in page


# -- saved header values are write-only: a blank value keeps the saved one


@pytest.fixture
def saved(account):
    """A Ready stream whose webhook has two saved headers, and its Webhooks tab."""
    stream = StreamFactory(account=account, setup_progress=4)
    services.webhook_save(
        stream=stream,
        method="POST",
        url="https://example.com/hook",
        headers=[("Authorization", "Bearer s3cr3t-4711"), ("X-Shop", "north")],
    )
    return stream, reverse("streams:tab", args=[stream.uid, "webhooks"])


def _saved_headers(stream):
    return WebhookEndpoint.objects.get(stream=stream).headers()


def test_it_keeps_the_saved_value_when_the_field_is_left_blank(member, saved):
    stream, tab = saved
    rows = [("Authorization", "", "Authorization"), ("X-Shop", "south", "X-Shop")]
    response = member.post(tab, _webhook(headers=rows))
    assert response.status_code == 302
    assert _saved_headers(stream) == [("Authorization", "Bearer s3cr3t-4711"), ("X-Shop", "south")]


def test_it_keeps_the_saved_value_with_its_row_when_the_header_is_renamed(member, saved):
    stream, tab = saved
    rows = [("X-Auth", "", "Authorization"), ("X-Shop", "", "X-Shop")]
    member.post(tab, _webhook(headers=rows))
    assert _saved_headers(stream) == [("X-Auth", "Bearer s3cr3t-4711"), ("X-Shop", "north")]


def test_it_drops_the_saved_value_with_its_removed_row(member, saved):
    stream, tab = saved
    rows = [("Authorization", "", "Authorization"), ("X-Shop", "", "X-Shop")]
    page = member.post(tab, _webhook(headers=rows, remove_header="0")).content.decode()
    assert re.findall(r'name="header_saved" value="([^"]*)"', page) == ["X-Shop"]
    member.post(tab, _webhook(headers=[("X-Shop", "", "X-Shop")]))
    assert _saved_headers(stream) == [("X-Shop", "north")]


def test_it_requires_a_value_for_a_new_header(member, saved):
    stream, tab = saved
    rows = [("Authorization", "", "Authorization"), ("X-New", "", "")]
    page = member.post(tab, _webhook(headers=rows)).content.decode()
    assert "Enter a value for this header." in page
    assert _saved_headers(stream) == [("Authorization", "Bearer s3cr3t-4711"), ("X-Shop", "north")]


def test_it_refuses_to_keep_a_value_that_is_not_saved(member, saved):
    # The header was removed in another tab meanwhile, or the reference was made up: there is
    # no saved value to keep, so the row needs one.
    stream, tab = saved
    page = member.post(tab, _webhook(headers=[("X-Api-Key", "", "X-Gone")])).content.decode()
    assert "Enter a value for this header." in page
    assert len(_saved_headers(stream)) == 2


def test_the_preview_masks_a_saved_value_and_shows_a_typed_one(member, saved):
    stream, _ = saved
    rows = [("Authorization", "", "Authorization"), ("X-Shop", "south", "X-Shop")]
    lines = _preview_text(_preview(member, stream, _webhook(headers=rows))).splitlines()
    assert f"Authorization: {MASK}" in lines
    assert "X-Shop: south" in lines
    assert any(line.startswith("X-TextPeak-Signature: t=") and MASK not in line for line in lines)


# -- Add header / remove


def test_it_adds_an_empty_header_row(member, draft):
    response = member.post(_step(draft), _webhook(headers=[("X-One", "1")], add_header="1"))
    page = response.content.decode()
    assert page.count('name="header_name"') == 2
    assert 'name="header_name" value=""' in page
    assert not WebhookEndpoint.objects.filter(stream=draft).exists()


def test_it_removes_the_chosen_header_row(member, draft):
    headers = [("X-One", "1"), ("X-Two", "2"), ("X-Three", "3")]
    response = member.post(_step(draft), _webhook(headers=headers, remove_header="1"))
    page = response.content.decode()
    assert re.findall(r'name="header_name" value="([^"]*)"', page) == ["X-One", "X-Three"]
    assert 'value="https://example.com/hook"' in page


def test_it_answers_htmx_with_the_header_rows_alone(member, draft):
    response = member.post(
        _step(draft), _webhook(headers=[("X-One", "1")], add_header="1"), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<fieldset class="field header-rows" id="webhook-headers">')
    assert "<html" not in page


# -- the preview


def _preview(member, stream, data):
    return member.post(reverse("webhooks:preview", kwargs={"uid": stream.uid}), data)


def test_it_previews_a_post_with_the_users_headers(member, draft):
    response = _preview(
        member,
        draft,
        _webhook(url="https://example.com/hook?v=2", headers=[("Authorization", "Bearer abc")]),
    )
    head, _, body = _preview_text(response).partition("\n\n")
    lines = head.splitlines()
    assert lines[:2] == ["POST /hook?v=2 HTTP/1.1", "Host: example.com"]
    assert "Authorization: Bearer abc" in lines
    assert "Content-Type: application/json" in lines
    assert any(line.startswith("X-TextPeak-Signature: t=") for line in lines)
    assert json.loads(body) == sample_message_event(stream_uid=str(draft.uid))


def test_it_signs_the_preview_with_the_saved_endpoints_secret(member, draft):
    member.post(_step(draft), _webhook(action="draft"))
    secret = WebhookEndpoint.objects.get(stream=draft).signing_secret()
    text = _preview_text(_preview(member, draft, _webhook()))
    signature = next(line for line in text.splitlines() if line.startswith(SIGNATURE_HEADER))
    timestamp = int(re.search(r"t=(\d+),", signature)[1])
    body = json.dumps(
        sample_message_event(stream_uid=str(draft.uid)), separators=(",", ":"), sort_keys=True
    ).encode()
    assert signature == f"{SIGNATURE_HEADER}: " + sign(
        secret=secret, timestamp=timestamp, payload=body
    )


def test_it_previews_a_get_with_the_event_in_the_query_string(member, draft):
    response = _preview(
        member,
        draft,
        _webhook(method="GET", url="https://example.com/hook?v=2", headers=[("X-Api-Key", "k")]),
    )
    text = _preview_text(response)
    first_line = text.splitlines()[0]
    assert first_line.startswith("GET /hook?v=2&contact_name=Anna+Schmidt&")
    assert "&event=message.received&" in first_line
    assert f"stream_id={draft.uid}" in first_line
    assert "text=Hi%21+Is+my+order+on+its+way%3F" in first_line
    assert "X-Api-Key: k" in text.splitlines()
    assert "\n\n" not in text


def test_it_shows_the_url_error_instead_of_a_preview(member, draft):
    response = _preview(member, draft, _webhook(url="ftp://example.com/hook"))
    page = response.content.decode()
    assert "<pre" not in page
    assert "Use an http:// or https:// URL." in page


def test_it_asks_for_a_url_before_previewing(member, draft):
    response = _preview(member, draft, _webhook(url=""))
    assert "Enter a URL to see the request your server will receive." in response.content.decode()
