import hashlib
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

import pytest

from whatsapp.graph.client import (
    MEDIA_MAX_REDIRECTS,
    BusinessAccount,
    CloudAPIClient,
    PhoneNumber,
    WebhookConfiguration,
    media_url_allowed,
)
from whatsapp.graph.errors import (
    AuthError,
    GraphError,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    RateLimited,
    TemporaryError,
)
from whatsapp.testing.fake_graph import (
    APP_ID,
    APP_RATE_LIMITED,
    BAD_GATEWAY,
    PAIR_RATE_LIMITED,
    REENGAGEMENT,
    SERVER_UNAVAILABLE,
    SERVICE_UNAVAILABLE,
    SPAM_RATE_LIMITED,
    TEMPLATE_NOT_FOUND,
    TEMPLATE_PARAM_MISMATCH,
    THROUGHPUT_LIMITED,
    UNDELIVERABLE,
    UNKNOWN_ERROR,
    WABA_RATE_LIMITED,
    FakeGraph,
    Subscription,
    message_template,
    phone_number,
)

TEXT = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "4915112345678",
    "type": "text",
    "text": {"body": "Your order #1042 is on its way.", "preview_url": False},
    "context": {"message_id": "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMEQ3"},
}


@pytest.fixture
def business(fake_graph):
    return fake_graph.business


@pytest.fixture
def client(business):
    return CloudAPIClient(business.token)


@pytest.fixture
def phone_number_id(business):
    return business.phone_numbers[0]["id"]


def test_it_reads_the_business_account(client, business):
    assert client.business_account(business.waba_id) == BusinessAccount(
        id=business.waba_id, name="Acme Ltd", currency="USD", timezone_id="1"
    )


def test_it_calls_the_configured_api_version(client, business, fake_graph, settings):
    settings.WHATSAPP_API_VERSION = "v99.0"
    client.business_account(business.waba_id)
    assert fake_graph.requests[-1].path == f"/v99.0/{business.waba_id}"


def test_it_lists_the_phone_numbers(client, business):
    assert client.phone_numbers(business.waba_id) == [
        PhoneNumber(
            id="109000000000001",
            display_phone_number="+1 555-000-1111",
            verified_name="Acme Ltd",
            quality_rating="GREEN",
            throughput="STANDARD",
        )
    ]


def test_it_leaves_quality_and_throughput_empty_when_meta_has_none(client, business):
    business.phone_numbers[:] = [phone_number(id="42", quality_rating=None, throughput=None)]
    [number] = client.phone_numbers(business.waba_id)
    assert (number.quality_rating, number.throughput) == ("", "")


def test_it_lists_the_templates_with_their_components(client, business):
    templates = {template.name: template for template in client.message_templates(business.waba_id)}
    assert sorted(templates) == ["appointment_reminder", "hello_world", "order_update"]
    order_update = templates["order_update"]
    assert (order_update.language, order_update.category, order_update.status) == (
        "en_US",
        "UTILITY",
        "APPROVED",
    )
    assert order_update.components[0]["text"] == "Hi {{1}}, your order {{2}} is on its way."
    assert templates["appointment_reminder"].status == "PENDING"


def test_it_follows_template_pages_to_the_end(fake_graph):
    business = fake_graph.add_business(
        templates=[message_template(f"promo_{n:03}") for n in range(205)]
    )

    templates = CloudAPIClient(business.token).message_templates(business.waba_id)

    assert [t.name for t in templates] == [f"promo_{n:03}" for n in range(205)]
    pages = [r for r in fake_graph.requests if r.path.endswith("/message_templates")]
    assert [len(page.query.get("after", "")) > 0 for page in pages] == [False, True, True]
    assert {page.query["limit"] for page in pages} == {"100"}


def test_it_subscribes_the_app_with_the_callback_and_verify_token(client, business, fake_graph):
    client.subscribe_app(
        business.waba_id, callback_url="https://textpeak.test/hooks/wa/1", verify_token="v-123"
    )

    assert fake_graph.subscriptions == {
        business.waba_id: Subscription("https://textpeak.test/hooks/wa/1", "v-123")
    }
    sent = fake_graph.requests[-1]
    assert (sent.method, sent.path) == ("POST", f"/v23.0/{business.waba_id}/subscribed_apps")
    assert sent.json == {
        "override_callback_uri": "https://textpeak.test/hooks/wa/1",
        "verify_token": "v-123",
    }


# -- what a credentials check reads


def test_it_reads_the_permissions_granted_to_the_token(client, business):
    business.permissions["whatsapp_business_messaging"] = "declined"
    assert client.granted_permissions() == {"whatsapp_business_management"}


def test_it_reads_the_tokens_app(client):
    assert client.app_id() == APP_ID


def test_it_reads_the_apps_subscribed_to_the_business(client, business, fake_graph):
    assert client.subscribed_app_ids(business.waba_id) == set()
    client.subscribe_app(business.waba_id, callback_url="https://t.test/1", verify_token="v")
    assert client.subscribed_app_ids(business.waba_id) == {APP_ID}
    fake_graph.unsubscribe(business)
    assert client.subscribed_app_ids(business.waba_id) == set()


def test_it_reads_the_callback_in_force_for_a_number(client, business, phone_number_id):
    client.subscribe_app(business.waba_id, callback_url="https://t.test/waba", verify_token="v")
    business.number_callbacks[phone_number_id] = "https://elsewhere.test/number"
    config = client.webhook_configuration(phone_number_id)
    assert config == WebhookConfiguration(
        phone_number="https://elsewhere.test/number",
        whatsapp_business_account="https://t.test/waba",
        application="",
    )
    assert config.in_force == "https://elsewhere.test/number"


def test_it_raises_auth_error_when_a_check_meets_a_rejected_token(business):
    with pytest.raises(AuthError):
        CloudAPIClient("EAAG-revoked").granted_permissions()


def test_it_sends_the_token_only_as_a_bearer_header(client, business, fake_graph):
    client.phone_numbers(business.waba_id)
    sent = fake_graph.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {business.token}"
    assert business.token not in sent.path + str(sent.query)


def test_it_raises_auth_error_with_metas_message_for_a_bad_token(business, fake_graph):
    with pytest.raises(AuthError) as caught:
        CloudAPIClient("revoked-token").business_account(business.waba_id)
    error = caught.value
    assert error.message == "Invalid OAuth access token - Cannot parse access token"
    assert (error.code, error.http_status, error.retryable) == (190, 401, False)
    assert error.fbtrace_id


def test_it_raises_invalid_parameter_for_an_unknown_object(client):
    with pytest.raises(InvalidParameter) as caught:
        client.business_account("404404404")
    assert (caught.value.code, caught.value.subcode) == (100, 33)
    assert "Object with ID '404404404' does not exist" in caught.value.message


def test_it_cannot_read_another_business_with_its_token(client, fake_graph):
    other = fake_graph.add_business(name="Other Co")
    with pytest.raises(InvalidParameter, match="does not exist"):
        client.message_templates(other.waba_id)


def test_it_raises_invalid_parameter_for_a_phone_number_id_given_as_waba(client, business):
    with pytest.raises(InvalidParameter) as caught:
        client.business_account(business.phone_numbers[0]["id"])
    assert caught.value.message == (
        "(#100) Tried accessing nonexisting field (currency) "
        "on node type (WhatsAppBusinessPhoneNumber)"
    )


@pytest.mark.parametrize("meta_error", [APP_RATE_LIMITED, WABA_RATE_LIMITED, THROUGHPUT_LIMITED])
def test_it_raises_retryable_rate_limited(client, business, fake_graph, meta_error):
    fake_graph.fail_next(meta_error)
    with pytest.raises(RateLimited) as caught:
        client.phone_numbers(business.waba_id)
    assert caught.value.code == meta_error.code
    assert caught.value.retryable


def test_it_keeps_metas_details(client, business, fake_graph):
    fake_graph.fail_next(THROUGHPUT_LIMITED)
    with pytest.raises(RateLimited) as caught:
        client.phone_numbers(business.waba_id)
    assert caught.value.details == "Cloud API message throughput has been reached."


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (190, 400, AuthError),
        (102, 400, AuthError),
        (463, 400, AuthError),
        (10, 403, PermissionDenied),
        (200, 403, PermissionDenied),
        (3, 500, PermissionDenied),
        (17, 400, RateLimited),
        (613, 400, RateLimited),
        (131056, 400, RateLimited),
        (131048, 400, RateLimited),
        (999999, 429, RateLimited),
        (131000, 500, TemporaryError),
        (131016, 503, TemporaryError),
        (131057, 500, TemporaryError),
        (133004, 503, TemporaryError),
        (999999, 503, TemporaryError),
        (100, 400, InvalidParameter),
        (131008, 400, InvalidParameter),
        (131045, 500, InvalidParameter),  # permanent, though Meta answers it with HTTP 500
        (131049, 400, InvalidParameter),
        (132000, 400, InvalidParameter),
        (132069, 400, InvalidParameter),
        (133010, 400, InvalidParameter),
        (368, 403, InvalidParameter),
        (130472, 400, InvalidParameter),
        (999999, 400, InvalidParameter),
    ],
)
def test_it_maps_metas_error_code_to_an_error_type(
    client, business, fake_graph, code, status, expected
):
    fake_graph.fail_next(status=status, code=code, message=f"(#{code}) Something")
    with pytest.raises(GraphError) as caught:
        client.business_account(business.waba_id)
    assert type(caught.value) is expected


@pytest.mark.parametrize("meta_error", [UNKNOWN_ERROR, SERVICE_UNAVAILABLE])
def test_it_raises_temporary_error_for_metas_server_errors(
    client, business, fake_graph, meta_error
):
    fake_graph.fail_next(meta_error)
    with pytest.raises(TemporaryError) as caught:
        client.message_templates(business.waba_id)
    assert (caught.value.message, caught.value.http_status) == (meta_error.message, 500)
    assert caught.value.retryable


def test_it_raises_temporary_error_for_a_plain_text_bad_gateway(client, business, fake_graph):
    fake_graph.fail_next(BAD_GATEWAY)
    with pytest.raises(TemporaryError, match="HTTP 502"):
        client.business_account(business.waba_id)


def test_it_raises_rate_limited_for_a_plain_text_429(client, business, fake_graph):
    fake_graph.fail_next(status=429, body="Too Many Requests")
    with pytest.raises(RateLimited, match="HTTP 429"):
        client.business_account(business.waba_id)


def test_it_raises_invalid_parameter_for_a_plain_text_client_error(client, business, fake_graph):
    fake_graph.fail_next(status=404, body="Not Found")
    with pytest.raises(InvalidParameter, match="HTTP 404"):
        client.business_account(business.waba_id)


def test_it_raises_graph_error_for_a_success_of_the_wrong_shape(client, business, fake_graph):
    fake_graph.fail_next(status=200, body='{"data": "nope"}', content_type="application/json")
    with pytest.raises(GraphError, match="Unexpected response from WhatsApp") as caught:
        client.phone_numbers(business.waba_id)
    assert not caught.value.retryable


def test_it_raises_temporary_error_when_the_connection_is_refused(settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{unused.getsockname()[1]}"
        with pytest.raises(TemporaryError, match="could not be reached") as caught:
            CloudAPIClient("token").business_account("102000000000001")
    assert caught.value.retryable


def test_it_raises_temporary_error_when_meta_answers_too_late(business, fake_graph):
    fake_graph.latency = 2.0
    with pytest.raises(TemporaryError, match=r"did not answer within 0\.2 seconds"):
        CloudAPIClient(business.token, timeout=0.2).business_account(business.waba_id)


def test_it_never_shows_the_token_in_errors(business, fake_graph):
    # Meta echoes a malformed token in its message.
    fake_graph.fail_next(status=400, code=190, message=f"Malformed access token {business.token}")
    with pytest.raises(AuthError) as caught:
        CloudAPIClient(business.token).business_account(business.waba_id)
    assert caught.value.message == "Malformed access token [token]"
    assert business.token not in str(caught.value) + repr(caught.value)


def test_it_never_shows_the_token_in_network_errors(business, fake_graph):
    fake_graph.latency = 2.0
    with pytest.raises(TemporaryError) as caught:
        CloudAPIClient(business.token, timeout=0.2).business_account(business.waba_id)
    assert business.token not in str(caught.value) + repr(caught.value)


def test_it_reuses_pooled_connections_across_clients(business, fake_graph):
    CloudAPIClient(business.token).business_account(business.waba_id)
    CloudAPIClient(business.token).phone_numbers(business.waba_id)
    first, second = fake_graph.requests
    assert first.client_port == second.client_port


# -- sending messages


def test_it_returns_the_wamid_meta_gave_the_message(client, phone_number_id, fake_graph):
    wamid = client.send_message(phone_number_id, TEXT)
    assert wamid.startswith("wamid.")
    assert wamid == fake_graph.sent[-1].wamid


def test_it_posts_the_message_as_given_with_the_bearer_token(
    client, business, phone_number_id, fake_graph
):
    client.send_message(phone_number_id, TEXT)
    sent = fake_graph.requests[-1]
    assert (sent.method, sent.path) == ("POST", f"/v23.0/{phone_number_id}/messages")
    assert sent.json == TEXT
    assert sent.headers["authorization"] == f"Bearer {business.token}"
    assert sent.headers["content-type"] == "application/json"


def test_it_raises_graph_error_for_a_send_answer_without_a_message_id(
    client, phone_number_id, fake_graph
):
    fake_graph.fail_next(
        status=200,
        body='{"messaging_product": "whatsapp", "contacts": [], "messages": []}',
        content_type="application/json",
        path="/messages",
    )
    with pytest.raises(GraphError, match="Unexpected response from WhatsApp") as caught:
        client.send_message(phone_number_id, TEXT)
    assert type(caught.value) is GraphError
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "meta_error",
    [PAIR_RATE_LIMITED, SPAM_RATE_LIMITED, THROUGHPUT_LIMITED, WABA_RATE_LIMITED, APP_RATE_LIMITED],
    ids=lambda error: str(error.code),
)
def test_it_raises_retryable_rate_limited_for_a_throttled_send(
    client, phone_number_id, fake_graph, meta_error
):
    fake_graph.fail_next(meta_error, path="/messages")
    with pytest.raises(RateLimited) as caught:
        client.send_message(phone_number_id, TEXT)
    assert (caught.value.code, caught.value.retryable) == (meta_error.code, True)


@pytest.mark.parametrize(
    "meta_error",
    [UNDELIVERABLE, REENGAGEMENT, TEMPLATE_PARAM_MISMATCH, TEMPLATE_NOT_FOUND],
    ids=lambda error: str(error.code),
)
def test_it_raises_a_permanent_error_with_metas_code_and_message_for_a_refused_send(
    client, phone_number_id, fake_graph, meta_error
):
    fake_graph.fail_next(meta_error, path="/messages")
    with pytest.raises(InvalidParameter) as caught:
        client.send_message(phone_number_id, TEXT)
    error = caught.value
    assert (error.code, error.message, error.details) == (
        meta_error.code,
        meta_error.message,
        meta_error.details,
    )
    assert not error.retryable


def test_it_raises_a_permanent_error_with_metas_message_for_a_malformed_message(
    client, phone_number_id
):
    with pytest.raises(InvalidParameter) as caught:
        client.send_message(phone_number_id, {**TEXT, "text": {"preview_url": False}})
    error = caught.value
    assert (error.code, error.message) == (100, "(#100) The parameter text['body'] is required.")
    assert not error.retryable


def test_it_raises_auth_error_for_a_send_with_a_bad_token(phone_number_id, fake_graph):
    with pytest.raises(AuthError) as caught:
        CloudAPIClient("revoked-token").send_message(phone_number_id, TEXT)
    assert (caught.value.code, caught.value.retryable) == (190, False)
    assert fake_graph.sent_count == 0


@pytest.mark.parametrize(
    "meta_error", [UNKNOWN_ERROR, SERVER_UNAVAILABLE, BAD_GATEWAY], ids=["1", "133004", "502"]
)
def test_it_raises_temporary_error_for_a_send_meta_failed(
    client, phone_number_id, fake_graph, meta_error
):
    fake_graph.fail_next(meta_error, path="/messages")
    with pytest.raises(TemporaryError) as caught:
        client.send_message(phone_number_id, TEXT)
    assert caught.value.retryable


def test_it_raises_temporary_error_when_a_send_is_answered_too_late(
    business, phone_number_id, fake_graph
):
    fake_graph.send_latency = 2.0
    with pytest.raises(TemporaryError, match=r"did not answer within 0\.2 seconds") as caught:
        CloudAPIClient(business.token, timeout=0.2).send_message(phone_number_id, TEXT)
    assert caught.value.retryable


def test_it_logs_nothing_for_a_message_sent(client, phone_number_id, caplog):
    caplog.set_level(logging.DEBUG, logger="whatsapp")
    client.send_message(phone_number_id, TEXT)
    assert [r for r in caplog.records if r.name.startswith("whatsapp")] == []
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_it_keeps_one_connection_per_thread_for_a_pool_of_sending_threads(
    client, phone_number_id, fake_graph, settings
):
    # Two rounds of sends, all threads at once: in the second, every thread gets a connection
    # from the pool. With a pool too small, connections of the first are dropped and new ones made.
    fake_graph.send_latency = 0.2
    threads = settings.SEND_THREADS
    start = threading.Barrier(threads, timeout=30)

    def send_twice(_):
        for _round in range(2):
            start.wait()
            client.send_message(phone_number_id, TEXT)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send_twice, range(threads)))

    assert fake_graph.sent_count == 2 * threads
    assert len({request.client_port for request in fake_graph.requests}) == threads


def test_it_still_sends_through_a_proxy_named_in_the_environment(
    business, phone_number_id, fake_graph, monkeypatch, settings
):
    # The proxy settings are read from the environment once per host, no longer on every call.
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake_graph.url)  # the fake serves proxied requests too
    settings.WHATSAPP_GRAPH_URL = "http://graph.proxied.invalid"

    for _ in range(2):
        CloudAPIClient(business.token).send_message(phone_number_id, TEXT)

    assert fake_graph.sent_count == 2


def test_it_goes_around_the_proxy_for_a_host_named_in_no_proxy(
    business, phone_number_id, fake_graph, monkeypatch, settings
):
    for name in ("no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound but not listening: a proxy that refuses all
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused.getsockname()[1]}")
        monkeypatch.setenv("NO_PROXY", "localhost")
        settings.WHATSAPP_GRAPH_URL = fake_graph.url.replace("127.0.0.1", "localhost")

        CloudAPIClient(business.token).send_message(phone_number_id, TEXT)

    assert fake_graph.sent_count == 1


# Media: GET /{media_id}, then the file at the URL Meta answers, with the same token.

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 1024  # 256 KiB: several chunks


@pytest.fixture
def media_id(fake_graph, business):
    return fake_graph.add_media(business, IMAGE, "image/png")


def test_it_describes_a_media_file(client, media_id, fake_graph):
    info = client.media_info(media_id)
    assert (info.id, info.mime_type, info.file_size) == (media_id, "image/png", len(IMAGE))
    assert info.sha256 == hashlib.sha256(IMAGE).hexdigest()
    assert info.url.startswith(f"{fake_graph.url}/whatsapp_business/attachments/?mid=")


def test_it_downloads_a_media_file_in_chunks_with_the_bearer_token(
    client, business, media_id, fake_graph
):
    info = client.media_info(media_id)
    with client.download(info.url) as download:
        assert (download.content_type, download.content_length) == ("image/png", len(IMAGE))
        chunks = list(download)
    assert b"".join(chunks) == IMAGE
    assert len(chunks) > 1
    sent = fake_graph.requests[-1]
    assert sent.path == "/whatsapp_business/attachments/"
    assert sent.headers["authorization"] == f"Bearer {business.token}"
    assert sent.headers["accept-encoding"] == "identity"


def test_it_drops_a_download_closed_early(client, media_id):
    download = client.download(client.media_info(media_id).url)
    next(download)
    download.close()
    assert download.closed
    assert list(download) == []


def test_it_raises_not_found_for_an_unknown_media_id(client, fake_graph):
    other = fake_graph.add_business(name="Other Co")
    for media_id in ("1399999999999999", fake_graph.add_media(other, IMAGE)):
        with pytest.raises(NotFound) as caught:
            client.media_info(media_id)
        assert (caught.value.code, caught.value.subcode) == (100, 33)
        assert isinstance(caught.value, InvalidParameter)


def test_it_raises_not_found_for_an_expired_media_url(client, media_id, fake_graph):
    fake_graph.media_url_ttl = 0
    url = client.media_info(media_id).url
    with pytest.raises(NotFound, match=r"The media URL has expired \(HTTP 404\)"):
        client.download(url)


def test_it_raises_auth_error_for_a_download_with_a_bad_token(business, media_id, fake_graph):
    url = CloudAPIClient(business.token).media_info(media_id).url
    with pytest.raises(AuthError) as caught:
        CloudAPIClient("revoked-token").download(url)
    assert caught.value.code == 190


def test_it_raises_temporary_error_for_a_download_meta_failed(client, media_id, fake_graph):
    url = client.media_info(media_id).url
    fake_graph.fail_next(BAD_GATEWAY, path="/whatsapp_business/attachments")
    with pytest.raises(TemporaryError, match="HTTP 502"):
        client.download(url)


def test_it_never_shows_the_token_in_download_errors(business, media_id, fake_graph):
    url = CloudAPIClient(business.token).media_info(media_id).url
    fake_graph.fail_next(status=400, code=190, message=f"Malformed access token {business.token}")
    with pytest.raises(AuthError) as caught:
        CloudAPIClient(business.token).download(url)
    assert business.token not in str(caught.value) + repr(caught.value)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3", True),
        ("https://LOOKASIDE.fbsbx.com/whatsapp_business/attachments/?mid=1", True),
        ("https://lookaside.fbsbx.com:443/x", True),
        ("https://graph.facebook.com/v23.0/x", True),
        ("http://lookaside.fbsbx.com/x", False),
        ("http://graph.facebook.com/x", False),
        ("https://lookaside.fbsbx.com:8443/x", False),
        ("https://lookaside.fbsbx.com.evil.test/x", False),
        ("https://evil-lookaside.fbsbx.com/x", False),
        ("https://user:pw@lookaside.fbsbx.com/x", False),
        ("https://evil.test/?u=https://lookaside.fbsbx.com/", False),
        ("https://lookaside.fbsbx.com:bad/x", False),
        ("ftp://lookaside.fbsbx.com/x", False),
        ("/relative/path", False),
        ("", False),
    ],
)
def test_only_metas_hosts_and_the_graph_url_may_receive_the_token(settings, url, allowed):
    settings.WHATSAPP_GRAPH_URL = "https://graph.facebook.com"
    assert media_url_allowed(url) is allowed


def test_the_fakes_origin_is_allowed_when_it_is_the_graph_url(fake_graph):
    assert media_url_allowed(f"{fake_graph.url}/whatsapp_business/attachments/?mid=1")
    host, port = fake_graph.url.removeprefix("http://").split(":")
    assert not media_url_allowed(f"http://{host}:{int(port) + 1}/x")
    assert not media_url_allowed(f"https://{host}:{port}/x")


def test_it_never_sends_the_token_to_another_host(client, media_id, fake_graph):
    with FakeGraph() as elsewhere:
        url = client.media_info(media_id).url.replace(fake_graph.url, elsewhere.url)
        with pytest.raises(GraphError, match="a media URL on a host it does not use"):
            client.download(url)
        assert elsewhere.requests == []


class _Redirector(BaseHTTPRequestHandler):
    """Answers /go with a redirect to the URL in its query, and /short with a body cut short."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str]] = []

    def do_GET(self):
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/go?to="):
            self.send_response(302)
            self.send_header("Location", unquote(self.path.removeprefix("/go?to=")))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/file":
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"%PDF-")
        else:  # announces 100 bytes, sends 10 and hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector(settings):
    """A server standing in for the Graph API's origin (so downloads may go to it)."""
    _Redirector.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield settings.WHATSAPP_GRAPH_URL
    server.shutdown()
    server.server_close()


def test_it_follows_a_redirect_to_an_allowed_url(redirector):
    with CloudAPIClient("secret-token").download(f"{redirector}/go?to=/file") as download:
        assert b"".join(download) == b"%PDF-"
        assert download.content_type == "application/pdf"
    assert [auth for _, auth in _Redirector.seen] == ["Bearer secret-token"] * 2


def test_it_does_not_follow_a_redirect_to_another_host(redirector):
    with FakeGraph() as elsewhere:
        target = quote(f"{elsewhere.url}/whatsapp_business/attachments/?mid=1", safe="")
        with pytest.raises(GraphError, match="a media URL on a host it does not use"):
            CloudAPIClient("secret-token").download(f"{redirector}/go?to={target}")
        assert elsewhere.requests == []


def test_it_stops_after_a_few_redirects(redirector):
    url = "/file"
    for _ in range(MEDIA_MAX_REDIRECTS + 1):
        url = "/go?to=" + quote(url, safe="")
    with pytest.raises(GraphError, match="too many redirects"):
        CloudAPIClient("secret-token").download(redirector + url)
    assert len(_Redirector.seen) == MEDIA_MAX_REDIRECTS + 1


def test_it_raises_temporary_error_for_a_download_cut_short(redirector):
    download = CloudAPIClient("secret-token").download(f"{redirector}/short")
    assert download.content_length == 100
    with pytest.raises(TemporaryError, match="broke during the download"):
        b"".join(download)


# Uploads


def _png_file(tmp_path, size=300_000):
    path = tmp_path / "parcel.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256))
    return path


def test_it_uploads_a_file_from_its_start_and_returns_metas_media_id(
    client, phone_number_id, fake_graph, tmp_path
):
    path = _png_file(tmp_path)
    with open(path, "rb") as file:
        file.read(100)  # wherever the caller left it
        media_id = client.upload_media(
            phone_number_id,
            file,
            size=path.stat().st_size,
            mime_type="image/png",
            filename='par"cel\r\n.png',
        )

    [upload] = fake_graph.uploads
    assert media_id == upload.id
    assert upload.data == path.read_bytes()
    request = fake_graph.requests[-1]
    assert (request.method, request.path) == ("POST", f"/v23.0/{phone_number_id}/media")
    assert request.form["file"][0] == "par_cel.png"


def test_it_raises_graph_error_for_an_upload_answer_without_an_id(
    client, phone_number_id, fake_graph, tmp_path
):
    fake_graph.fail_next(status=200, body="{}", content_type="application/json", path="/media")
    path = _png_file(tmp_path, 1000)
    with open(path, "rb") as file, pytest.raises(GraphError, match="no media 'id'"):
        client.upload_media(
            phone_number_id,
            file,
            size=path.stat().st_size,
            mime_type="image/png",
            filename="a.png",
        )


def test_an_upload_waits_longer_for_meta_than_a_message_does(
    business, phone_number_id, fake_graph, tmp_path
):
    client = CloudAPIClient(business.token, timeout=0.2)
    fake_graph.latency = 0.5
    path = _png_file(tmp_path, 1000)

    with open(path, "rb") as file:
        media_id = client.upload_media(
            phone_number_id,
            file,
            size=path.stat().st_size,
            mime_type="image/png",
            filename="a.png",
        )

    assert media_id == fake_graph.uploads[0].id


# -- read receipts


def test_it_marks_a_received_message_read(client, business, fake_graph, phone_number_id):
    wamid = fake_graph.add_received(business)
    assert client.mark_read(phone_number_id, wamid) is None
    assert fake_graph.read[-1].payload == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": wamid,
    }


def test_it_shows_the_typing_indicator_with_a_read_receipt(
    client, business, fake_graph, phone_number_id
):
    wamid = fake_graph.add_received(business)
    client.mark_read(phone_number_id, wamid, typing=True)
    assert fake_graph.read[-1].payload["typing_indicator"] == {"type": "text"}


def test_marking_read_a_message_meta_does_not_know_is_an_invalid_parameter(client, phone_number_id):
    with pytest.raises(InvalidParameter) as caught:
        client.mark_read(phone_number_id, "wamid.unknown")
    assert (caught.value.code, caught.value.retryable) == (100, False)
