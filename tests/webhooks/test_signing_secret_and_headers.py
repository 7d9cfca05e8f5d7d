"""Secrets never in HTML (DESIGN §7): the webhook's signing secret is shown in full only in the
response that created or rotated it, and its header values are masked outside its own form."""

import html
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import StreamFactory, whatsapp_stream
from textpeak.lib import crypto
from webhooks import services
from webhooks.builder import MASK
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

HEADER_VALUE = "Bearer s3cr3t-header-value"
DRAWER = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "stream-panel"}


def _tab(stream):
    return reverse("streams:tab", args=[stream.uid, "webhooks"])


def _step(stream, step="webhook"):
    return reverse("streams:setup", args=[stream.uid, step])


def _text(response):
    return html.unescape(response.content.decode())


def _form(url="https://example.com/hook", action="next"):
    return {
        "method": "POST",
        "url": url,
        "header_name": ["Authorization"],
        "header_value": [HEADER_VALUE],
        "action": action,
    }


def _secret(stream):
    return WebhookEndpoint.objects.get(stream=stream).signing_secret()


@pytest.fixture
def endpoint(stream):
    return services.webhook_save(
        stream=stream,
        method="POST",
        url="https://example.com/hook",
        headers=[("Authorization", HEADER_VALUE)],
    )


# -- the signing secret


def test_it_shows_a_new_webhooks_secret_once_on_the_webhooks_tab(owner_client, stream):
    response = owner_client.post(_tab(stream), _form())
    secret = _secret(stream)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = _text(response)
    assert "Webhook saved." in page
    assert f'value="{secret}"' in page
    assert "it will not be shown again" in page

    page = _text(owner_client.get(_tab(stream)))
    assert secret not in page
    assert f"whsec_••••{secret[-4:]}" in page


def test_it_shows_a_new_webhooks_secret_once_in_the_side_panel(owner_client, stream):
    response = owner_client.post(_tab(stream), _form(), **DRAWER)
    page = _text(response)
    assert f'value="{_secret(stream)}"' in page
    assert 'class="drawer-head"' in page
    assert "<html" not in page
    assert _secret(stream) not in _text(owner_client.get(_tab(stream), **DRAWER))


def test_it_does_not_show_the_secret_again_when_the_webhook_is_edited(
    owner_client, stream, endpoint
):
    response = owner_client.post(_tab(stream), _form(url="https://example.com/other"))
    assert response.status_code == 302
    assert _secret(stream) not in _text(owner_client.get(response["Location"]))


def test_it_shows_a_new_webhooks_secret_once_in_the_wizard(owner_client, account, whatsapp_access):
    draft = StreamFactory(account=account, status="draft", setup_progress=2)
    response = owner_client.post(_step(draft), _form())
    secret = _secret(draft)
    page = _text(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert f'value="{secret}"' in page
    assert f'data-copy="{secret}"' in page
    assert f'href="{_step(draft, "summary")}">Continue</a>' in page
    assert draft.__class__.objects.get(pk=draft.pk).setup_progress == 3

    for url in (_step(draft), _step(draft, "summary")):
        assert secret not in _text(owner_client.get(url))


def test_a_draft_saved_with_a_new_webhook_shows_its_secret_before_the_list(
    owner_client, account, whatsapp_access
):
    draft = StreamFactory(account=account, status="draft", setup_progress=2)
    page = _text(owner_client.post(_step(draft), _form(action="draft")))
    assert f'value="{_secret(draft)}"' in page
    assert f'href="{reverse("streams:list")}">Continue</a>' in page


def test_rotate_shows_the_new_secret_once(owner_client, stream, endpoint):
    old = endpoint.signing_secret()
    response = owner_client.post(reverse("webhooks:rotate_secret", args=[stream.uid]))
    new = _secret(stream)
    page = _text(response)
    assert new != old
    assert "no-store" in response["Cache-Control"]
    assert f'value="{new}"' in page
    assert old not in page
    assert "New signing secret: deliveries are signed with it from now on" in page
    assert new not in _text(owner_client.get(_tab(stream)))


def test_rotate_says_until_when_the_old_secret_still_signs(
    owner_client, stream, endpoint, monkeypatch
):
    rotated_at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: rotated_at)
    old = endpoint.signing_secret()

    page = _text(owner_client.post(reverse("webhooks:rotate_secret", args=[stream.uid])))

    assert "and with the old one too until 3 Mar 2026, 09:15 UTC." in page
    assert (
        f"The previous secret (<code>whsec_••••{old[-4:]}</code>) signs deliveries beside this "
        "one until 3 Mar 2026, 09:15 UTC"
    ) in page
    assert old not in page


def test_the_tab_no_longer_shows_the_old_secret_after_the_overlap(
    owner_client, stream, endpoint, monkeypatch
):
    services.webhook_rotate_secret(endpoint=endpoint)
    later = timezone.now() + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    page = _text(owner_client.get(_tab(stream)))

    assert "The previous secret" not in page


def test_the_rotate_confirmation_says_the_old_secret_signs_for_24_hours(
    owner_client, stream, endpoint
):
    page = _text(owner_client.get(reverse("webhooks:rotate_secret_confirm", args=[stream.uid])))

    assert "For 24 hours the current one" in page
    assert "stops signing now" not in page


def test_a_second_rotation_asks_first_to_stop_the_secret_the_first_replaced(
    owner_client, stream, endpoint
):
    replaced = endpoint.signing_secret()
    services.webhook_rotate_secret(endpoint=endpoint)

    page = _text(owner_client.get(reverse("webhooks:rotate_secret_confirm", args=[stream.uid])))

    assert (
        f"The secret the last rotation replaced (<code>whsec_••••{replaced[-4:]}</code>) "
        "stops signing now."
    ) in page


def test_an_older_secret_is_shown_with_the_advice_to_rotate(owner_client, stream, endpoint):
    endpoint.signing_secret_encrypted = crypto.encrypt("whsec_" + "Ab-_" * 10 + "xyz")
    endpoint.save()

    page = _text(owner_client.get(_tab(stream)))

    assert "This secret was made before Standard Webhooks" in page


# -- header values


def test_the_summary_masks_the_webhooks_header_values(owner_client, account, whatsapp_access):
    stream = whatsapp_stream(account=account)
    services.webhook_save(
        stream=stream,
        method="POST",
        url="https://example.com/hook",
        headers=[("Authorization", HEADER_VALUE), ("X-Shop", "north")],
    )
    page = _text(owner_client.get(_step(stream, "summary")))
    assert "Webhook request" in page
    assert f"Authorization: {MASK}" in page
    assert f"X-Shop: {MASK}" in page
    assert "s3cr3t" not in page
    assert "north" not in page


def test_the_request_api_tab_masks_the_webhooks_header_values(
    owner_client, account, whatsapp_access
):
    stream = whatsapp_stream(account=account)
    services.webhook_save(
        stream=stream,
        method="POST",
        url="https://example.com/hook",
        headers=[("Authorization", HEADER_VALUE)],
    )
    api = reverse("streams:tab", args=[stream.uid, "api"])
    for response in (owner_client.get(api), owner_client.get(api, **DRAWER)):
        page = _text(response)
        assert f"Authorization: {MASK}" in page
        assert "s3cr3t" not in page
        assert "X-TextPeak-Signature: t=" in page


def _saved_rows(**fields):
    """The form as the browser sends it back: the saved header's value left blank."""
    return {
        "method": "POST",
        "url": "https://example.com/hook",
        "header_name": ["Authorization"],
        "header_value": [""],
        "header_saved": ["Authorization"],
        **fields,
    }


def _form_responses(client, stream):
    """Every response that draws the webhook form (or a part of it) for a saved webhook."""
    tab, step = _tab(stream), _step(stream)
    preview = reverse("webhooks:preview", args=[stream.uid])
    return {
        "wizard step": client.get(step),
        "wizard step, refused": client.post(step, _saved_rows(url="ftp://example.com/hook")),
        "wizard step, header added": client.post(step, _saved_rows(add_header="1")),
        "tab": client.get(tab),
        "tab in the side panel": client.get(tab, **DRAWER),
        "tab, refused": client.post(tab, _saved_rows(url="ftp://example.com/hook")),
        "tab, header added (htmx)": client.post(
            tab, _saved_rows(add_header="1"), HTTP_HX_REQUEST="true"
        ),
        "tab, header removed": client.post(
            tab,
            _saved_rows(
                header_name=["Authorization", "X-New"],
                header_value=["", "1"],
                header_saved=["Authorization", ""],
                remove_header="1",
            ),
        ),
        "tab saved in the side panel": client.post(tab, _saved_rows(), **DRAWER),
        "preview": client.post(preview, _saved_rows()),
        "tab after Enable in the side panel": client.post(
            reverse("webhooks:enable", args=[stream.uid]), **DRAWER
        ),
    }


def test_it_never_renders_a_saved_header_value(owner_client, stream, endpoint, whatsapp_access):
    for what, response in _form_responses(owner_client, stream).items():
        assert response.status_code == 200, what
        assert "s3cr3t" not in _text(response), what
    page = _text(owner_client.get(_tab(stream)))
    assert 'name="header_name" value="Authorization"' in page
    assert f"Authorization: {MASK}" in page
    assert WebhookEndpoint.objects.get(stream=stream).headers() == [("Authorization", HEADER_VALUE)]


def test_it_sends_no_store_with_the_webhook_form(owner_client, stream, endpoint, whatsapp_access):
    for what, response in _form_responses(owner_client, stream).items():
        assert "no-store" in response.get("Cache-Control", ""), what
