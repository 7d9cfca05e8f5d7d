"""Remove webhook and Rotate (the signing secret) ask first, as Delete stream does; in the side
panel they, and Redeliver, redraw the panel in place; without JavaScript they still work."""

import html
import re

import pytest
from django.urls import reverse

from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

DRAWER = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "stream-panel"}


@pytest.fixture
def endpoint(stream):
    return services.webhook_save(
        stream=stream, method="POST", url="https://example.com/hook", headers=[]
    )


def _tab(stream):
    return reverse("streams:tab", args=[stream.uid, "webhooks"])


def _dialogs(page):
    return re.findall(r"<dialog\b.*?</dialog>", page, re.S)


@pytest.mark.parametrize(
    ("confirm", "action"),
    [("remove_confirm", "remove"), ("rotate_secret_confirm", "rotate_secret")],
)
def test_the_tab_asks_before_it_acts(owner_client, stream, endpoint, confirm, action):
    page = owner_client.get(_tab(stream)).content.decode()
    # The button opens a pop-up (a page without JavaScript); only the pop-up's form acts.
    assert f'href="{reverse(f"webhooks:{confirm}", args=[stream.uid])}" data-dialog-open=' in page
    form = f'<form method="post" action="{reverse(f"webhooks:{action}", args=[stream.uid])}"'
    assert page.count(form) == 1
    assert any(form in dialog for dialog in _dialogs(page))


def test_the_remove_confirmation_page_changes_nothing(owner_client, stream, endpoint):
    response = owner_client.get(reverse("webhooks:remove_confirm", args=[stream.uid]))
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Remove the webhook?" in page
    assert f'action="{reverse("webhooks:remove", args=[stream.uid])}"' in page
    assert WebhookEndpoint.objects.filter(stream=stream).exists()


def test_the_rotate_confirmation_page_changes_nothing(owner_client, stream, endpoint):
    secret = endpoint.signing_secret()
    response = owner_client.get(reverse("webhooks:rotate_secret_confirm", args=[stream.uid]))
    page = html.unescape(response.content.decode())
    assert "Rotate the signing secret?" in page
    assert f"whsec_••••{secret[-4:]}" in page
    assert secret not in page
    assert WebhookEndpoint.objects.get(stream=stream).signing_secret() == secret


@pytest.mark.parametrize("name", ["remove_confirm", "rotate_secret_confirm"])
def test_another_account_gets_404_for_a_confirmation(client, outsider, stream, endpoint, name):
    client.force_login(outsider)
    assert client.get(reverse(f"webhooks:{name}", args=[stream.uid])).status_code == 404


def test_in_the_side_panel_the_confirmations_redraw_the_panel(owner_client, stream, endpoint):
    page = owner_client.get(_tab(stream), **DRAWER).content.decode()
    for action in ("remove", "rotate_secret"):
        url = reverse(f"webhooks:{action}", args=[stream.uid])
        assert f'hx-post="{url}" hx-target="#stream-panel"' in page


def test_remove_in_the_side_panel_stays_in_the_panel(owner_client, stream, endpoint):
    response = owner_client.post(reverse("webhooks:remove", args=[stream.uid]), **DRAWER)
    page = response.content.decode()
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert 'class="drawer-head"' in page
    assert "<html" not in page
    assert "Webhook removed: incoming messages are no longer forwarded." in page
    assert "No webhook yet" in page
    assert not WebhookEndpoint.objects.filter(stream=stream).exists()


def test_rotate_in_the_side_panel_stays_in_the_panel(owner_client, stream, endpoint):
    old = endpoint.signing_secret()
    response = owner_client.post(reverse("webhooks:rotate_secret", args=[stream.uid]), **DRAWER)
    page = response.content.decode()
    new = WebhookEndpoint.objects.get(stream=stream).signing_secret()
    assert new != old
    assert "HX-Redirect" not in response
    assert 'class="drawer-head"' in page
    assert f'value="{new}"' in page


def test_redeliver_in_the_side_panel_stays_in_the_panel(owner_client, stream, endpoint):
    original = Delivery.objects.create(endpoint=endpoint, event="message.received", payload={})
    page = owner_client.get(_tab(stream), **DRAWER).content.decode()
    url = reverse("webhooks:redeliver", args=[stream.uid, original.uid])
    assert f'hx-post="{url}" hx-target="#stream-panel"' in page

    response = owner_client.post(url, **DRAWER)
    page = response.content.decode()
    assert "HX-Redirect" not in response
    assert 'class="drawer-head"' in page
    assert "Sent again as a new delivery" in page
    assert endpoint.deliveries.count() == 2


def test_without_javascript_the_actions_lead_back_to_the_tab(owner_client, stream, endpoint):
    response = owner_client.post(reverse("webhooks:remove", args=[stream.uid]))
    assert response["Location"] == _tab(stream)
    assert "Webhook removed" in owner_client.get(_tab(stream)).content.decode()
