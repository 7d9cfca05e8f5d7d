"""The Content-Security-Policy of pages for people (console, admin, API docs, error pages): only
the site's own scripts, styles and images, no plugins, no framing, forms posted home. Programs'
endpoints (the send API, Meta's callback) answer JSON or text and skip it.

Every page of the console and admin is checked for the header and for inline code by the walk
in ``tests/test_hostile_input.py``; chromium reports no violation in ``tests/browser/``.
"""

import json

import pytest
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import whatsapp_stream
from whatsapp import services as whatsapp_services

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.fixture
def stream(account, whatsapp_access):
    return whatsapp_stream(account=account)


def test_it_sends_the_policy_with_console_pages(owner_client, stream):
    for url in (
        reverse("streams:list"),
        reverse("streams:tab", args=[stream.uid, "webhooks"]),
        reverse("streams:setup", args=[stream.uid, "details"]),
    ):
        response = owner_client.get(url)
        assert _directives(response["Content-Security-Policy"]) == _directives(POLICY), url


def test_it_sends_the_policy_with_pages_before_login_and_error_pages(client):
    for url, status in ((reverse("login"), 200), ("/api/docs", 200), ("/no/such/page/", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert _directives(response["Content-Security-Policy"]) == _directives(POLICY), url


def test_it_sends_the_policy_with_admin_pages(support_client):
    response = support_client.get(reverse("admin:streams_stream_changelist"))
    assert response.status_code == 200
    assert _directives(response["Content-Security-Policy"]) == _directives(POLICY)


def test_it_sends_no_policy_from_the_endpoints_programs_call(client, stream, token):
    api = client.post(
        reverse("api_messages_status"),
        json.dumps({"message_uuids": []}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    callback = client.get(whatsapp_services.callback_path(stream.whatsapp))
    assert (api.status_code, callback.status_code) == (400, 403)
    assert "Content-Security-Policy" not in api
    assert "Content-Security-Policy" not in callback


def test_the_server_error_page_is_styled_by_the_style_sheet(rf):
    page = server_error(rf.get("/")).content.decode()
    assert '<link rel="stylesheet" href="/static/css/app.css">' in page
    assert "style=" not in page
    assert "<style" not in page
