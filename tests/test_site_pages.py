"""Answers for the whole site: its icon, and the page for an address only a button sends to."""

import pytest
from django.urls import reverse

from tests.factories import whatsapp_stream

pytestmark = pytest.mark.django_db

BETA_REQUEST = reverse("beta_request", args=["whatsapp_streams"])


def test_it_gives_admin_pages_the_products_icon(support_client):
    page = support_client.get(reverse("admin:index")).content.decode()
    assert '<link rel="icon" href="/static/img/logo.svg" type="image/svg+xml">' in page


def test_it_gives_the_admin_login_page_the_products_icon(client):
    page = client.get(reverse("admin:login")).content.decode()
    assert 'rel="icon" href="/static/img/logo.svg"' in page


def test_it_sends_favicon_ico_to_the_logo_without_a_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response.url == "/static/img/logo.svg"


def test_it_explains_an_address_that_only_a_button_opens(owner_client):
    response = owner_client.get(BETA_REQUEST)
    page = response.content.decode()
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "This page opens from a button" in page
    assert 'href="/"' in page


def test_a_405_page_needs_no_account(client, support):
    client.force_login(support)
    response = client.get(reverse("logout"))
    assert response.status_code == 405
    assert "This page opens from a button" in response.content.decode()


@pytest.fixture
def stream(account, whatsapp_access):
    return whatsapp_stream(account=account)


def test_the_api_keeps_its_json_405(client, token):
    response = client.get(reverse("api_send"), headers={"Authorization": token})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
