"""The stream API's gate (``streams.api_auth``): token, IP ACL, status, beta access, rate."""

import json
import time

import pytest
from django.test import Client

from streams import services
from streams.models import Stream
from streams.networks import normalize
from tests.factories import AccountFactory, StreamFactory
from textpeak.accounts import beta

pytestmark = pytest.mark.django_db

STATUS_URL = "/api/messages_status/"
UNKNOWN_UUID = "3f1c1a52-9d7e-4c1b-8a43-5a1f0d2b6c7e"
NOT_AUTHENTICATED = {"detail": "Not authenticated"}


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


def _post(client, authorization=None, **extra):
    """The cheapest authenticated call: the status of one unknown message."""
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    return client.post(
        STATUS_URL,
        json.dumps({"message_uuids": [UNKNOWN_UUID]}),
        content_type="application/json",
        **extra,
    )


def _acl(stream, *networks):
    stream.ip_acl_enabled = True
    stream.allowed_networks = [normalize(network) for network in networks]
    stream.save()


# -- the token


def test_it_answers_a_raw_token(client, token):
    response = _post(client, token)
    assert response.status_code == 200
    assert response.json()["messages"][0]["status"] == "not_found"


def test_it_answers_a_bearer_token(client, token):
    assert _post(client, f"Bearer {token}").status_code == 200


def test_it_answers_a_bearer_token_whatever_the_scheme_case(client, token):
    assert _post(client, f"bearer {token}").status_code == 200


def test_it_refuses_a_request_without_a_token(client, token):
    response = _post(client)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


def test_it_refuses_an_unknown_token(client, token):
    response = _post(client, "tp_" + "x" * 43)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(
    "authorization",
    ["garbage", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "tp_", "tp_" + "a" * 500],
)
def test_it_refuses_a_malformed_token(client, token, authorization):
    response = _post(client, authorization)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


def test_it_refuses_a_token_cut_short(client, token):
    response = _post(client, token[:-1])
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


def test_it_refuses_the_token_of_a_deleted_stream(client, stream, token):
    services.stream_delete(stream=stream)
    response = _post(client, token)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


def test_it_refuses_the_old_token_after_regenerating(client, stream, token):
    new_token = services.stream_token_regenerate(stream=stream)
    response = _post(client, token)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED
    assert _post(client, new_token).status_code == 200


def test_it_tells_streams_apart_by_token(client, account, stream, token):
    other = StreamFactory(account=account, name="Other")
    other_token = services.stream_token_regenerate(stream=other)
    # Each token identifies its own stream: the other stream's disabled state is not ours.
    services.stream_disable(stream=other)
    assert _post(client, token).status_code == 200
    assert _post(client, other_token).json() == {"detail": "Stream is disabled"}


def test_it_finds_a_token_it_has_just_seen_without_asking_the_database(
    client, settings, token, django_assert_num_queries
):
    settings.API_CACHE_SECONDS = 5
    assert _post(client, token).status_code == 200
    # The status API's own lookup of the message is the one query left.
    with django_assert_num_queries(1):
        assert _post(client, token).status_code == 200


def test_it_refuses_a_disabled_stream_once_the_cached_stream_expires(
    client, settings, stream, token, monkeypatch
):
    settings.API_CACHE_SECONDS = 5
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    assert _post(client, token).status_code == 200
    services.stream_disable(stream=stream)
    monkeypatch.setattr(time, "monotonic", lambda: now + 6)
    assert _post(client, token).json() == {"detail": "Stream is disabled"}


# -- the stream's status and the account's access


def test_it_refuses_a_disabled_stream(client, stream, token):
    services.stream_disable(stream=stream)
    response = _post(client, token)
    assert response.status_code == 403
    assert response.json() == {"detail": "Stream is disabled"}


def test_it_answers_again_once_the_stream_is_enabled(client, stream, token):
    services.stream_disable(stream=stream)
    services.stream_enable(stream=stream)
    assert _post(client, token).status_code == 200


def test_it_refuses_a_draft_stream(client, stream, token):
    stream.status = Stream.Status.DRAFT
    stream.save()
    response = _post(client, token)
    assert response.status_code == 403
    assert "not ready" in response.json()["detail"]


def test_it_refuses_an_account_without_whatsapp_access(client):
    stream = StreamFactory(account=AccountFactory(name="No Beta Ltd"), setup_progress=4)
    token = services.stream_token_regenerate(stream=stream)
    response = _post(client, token)
    assert response.status_code == 403
    assert response.json() == {"detail": "This account does not have access to this stream type"}


def test_it_refuses_an_account_whose_access_was_revoked(client, token, whatsapp_access, support):
    beta.beta_access_revoke(request_ids=[whatsapp_access.id], reviewer=support, note="Spam")
    response = _post(client, token)
    assert response.status_code == 403
    assert response.json() == {"detail": "This account does not have access to this stream type"}


# -- the IP ACL


def test_it_answers_an_allowed_address(client, stream, token):
    _acl(stream, "203.0.113.7")
    assert _post(client, token, REMOTE_ADDR="203.0.113.7").status_code == 200


def test_it_refuses_an_address_not_in_the_acl(client, stream, token):
    _acl(stream, "203.0.113.7")
    response = _post(client, token, REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 403
    assert response.json() == {"detail": "IP address not allowed"}


def test_it_ignores_the_allowed_list_while_the_acl_is_off(client, stream, token):
    stream.allowed_networks = [normalize("203.0.113.7")]
    stream.save()
    assert _post(client, token, REMOTE_ADDR="198.51.100.1").status_code == 200


def test_it_answers_an_address_inside_an_allowed_range(client, stream, token):
    _acl(stream, "198.51.100.0/24")
    assert _post(client, token, REMOTE_ADDR="198.51.100.200").status_code == 200


def test_it_refuses_an_address_just_outside_an_allowed_range(client, stream, token):
    _acl(stream, "198.51.100.0/24")
    response = _post(client, token, REMOTE_ADDR="198.51.101.1")
    assert response.status_code == 403
    assert response.json() == {"detail": "IP address not allowed"}


def test_it_answers_an_allowed_ipv6_address(client, stream, token):
    _acl(stream, "2001:db8::1")
    assert _post(client, token, REMOTE_ADDR="2001:db8::1").status_code == 200


def test_it_answers_an_address_inside_an_allowed_ipv6_range(client, stream, token):
    _acl(stream, "2001:db8:abcd::/48")
    assert _post(client, token, REMOTE_ADDR="2001:db8:abcd:12::7").status_code == 200


def test_it_refuses_an_ipv6_address_outside_the_acl(client, stream, token):
    _acl(stream, "2001:db8:abcd::/48", "203.0.113.7")
    response = _post(client, token, REMOTE_ADDR="2001:db8:abce::1")
    assert response.status_code == 403
    assert response.json() == {"detail": "IP address not allowed"}


def test_it_matches_an_ipv4_mapped_peer_address_as_the_ipv4_address(client, stream, token):
    _acl(stream, "203.0.113.7")
    assert _post(client, token, REMOTE_ADDR="::ffff:203.0.113.7").status_code == 200
    assert _post(client, token, REMOTE_ADDR="::ffff:203.0.113.8").status_code == 403


def test_it_refuses_rather_than_fails_for_an_entry_saved_with_host_bits(client, stream, token):
    stream.ip_acl_enabled = True
    stream.allowed_networks = ["10.1.2.3/8", "not a network"]  # typed by hand, e.g. in admin
    stream.save()
    response = _post(client, token, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 403
    assert response.json() == {"detail": "IP address not allowed"}


def test_it_ignores_a_forwarded_for_header_from_an_untrusted_peer(client, settings, stream, token):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    _acl(stream, "203.0.113.7")
    response = _post(client, token, REMOTE_ADDR="198.51.100.66", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 403
    assert response.json() == {"detail": "IP address not allowed"}


def test_it_believes_the_forwarded_for_header_of_a_trusted_proxy(client, settings, stream, token):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    _acl(stream, "203.0.113.7")
    response = _post(client, token, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 200


def test_it_ignores_an_address_a_client_prepends_through_a_trusted_proxy(
    client, settings, stream, token
):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    _acl(stream, "203.0.113.7")
    # The client sent "X-Forwarded-For: 203.0.113.7"; our proxy appended the real address.
    response = _post(
        client,
        token,
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.66",
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "IP address not allowed"}


def test_it_checks_the_token_before_the_acl(client, stream, token):
    _acl(stream, "203.0.113.7")
    response = _post(client, "tp_" + "x" * 43, REMOTE_ADDR="198.51.100.66")
    assert response.json() == NOT_AUTHENTICATED


# -- the request rate


def test_it_answers_429_with_retry_after_over_the_stream_rate(client, settings, token):
    settings.STREAM_API_REQUESTS_PER_SECOND = 2
    assert [_post(client, token).status_code for _ in range(2)] == [200, 200]
    response = _post(client, token)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many requests" in response.json()["detail"]


def test_it_answers_429_over_a_limit_high_enough_for_its_slots_to_be_taken_several_at_once(
    client, settings, token
):
    settings.STREAM_API_REQUESTS_PER_SECOND = 4
    settings.RATE_LEASE_SECONDS = 0.5  # two slots at a time
    assert [_post(client, token).status_code for _ in range(4)] == [200, 200, 200, 200]
    assert _post(client, token).status_code == 429


def test_it_counts_the_rate_per_stream(client, settings, account, token):
    settings.STREAM_API_REQUESTS_PER_SECOND = 1
    other_token = services.stream_token_regenerate(
        stream=StreamFactory(account=account, name="Other")
    )
    assert _post(client, token).status_code == 200
    assert _post(client, other_token).status_code == 200
    assert _post(client, token).status_code == 429


def test_it_does_not_count_refused_tokens_against_the_stream(client, settings, token):
    settings.STREAM_API_REQUESTS_PER_SECOND = 1
    for _ in range(3):
        assert _post(client, "tp_" + "x" * 43).status_code == 403
    assert _post(client, token).status_code == 200


# -- no session, no CSRF


def test_it_needs_no_csrf_token_nor_session(token):
    strict = Client(enforce_csrf_checks=True)
    response = _post(strict, token)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies


def test_it_does_not_let_a_logged_in_session_stand_in_for_a_token(owner_client, token):
    response = _post(owner_client)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


def test_it_leaves_the_openapi_document_public(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert "openapi" in response.json()
