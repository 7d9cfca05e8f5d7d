"""Requests from programs go straight to their view (``textpeak.lib.machine``); pages for
people keep the browser's middleware."""

import json

import pytest

from tests.factories import StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


def _post(client, path, token, **extra):
    return client.post(
        path,
        json.dumps({"message_uuids": ["3f1c1a52-9d7e-4c1b-8a43-5a1f0d2b6c7e"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
        **extra,
    )


def test_an_api_call_is_answered_with_the_security_headers(client, token):
    response = _post(client, "/api/messages_status/", token)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_an_api_answer_carries_its_length(client, token):
    response = _post(client, "/api/messages_status/", token)
    assert response["Content-Length"] == str(len(response.content))


def test_an_api_call_to_a_host_not_allowed_is_a_400(client, token):
    response = _post(client, "/api/messages_status/", token, HTTP_HOST="attacker.example")
    assert response.status_code == 400


def test_an_unknown_api_path_is_a_404_that_says_where_the_endpoints_are(client, token):
    response = _post(client, "/api/whatsapp/send", token)
    assert response.status_code == 404
    assert response.json() == {
        "detail": "No endpoint at /api/whatsapp/send. The API's endpoints are listed at "
        "/api/docs; every path ends with a slash."
    }


def test_the_api_documentation_keeps_the_pages_clickjacking_protection(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
