import socket

import pytest

from whatsapp.client import (
    AuthError,
    BusinessAccount,
    CloudAPIClient,
    GraphError,
    InvalidParameter,
    PermissionDenied,
    PhoneNumber,
    RateLimited,
    TemporaryError,
)
from whatsapp.fake_graph import (
    APP_RATE_LIMITED,
    BAD_GATEWAY,
    SERVICE_UNAVAILABLE,
    THROUGHPUT_LIMITED,
    UNKNOWN_ERROR,
    WABA_RATE_LIMITED,
    Subscription,
    message_template,
    phone_number,
)


@pytest.fixture
def business(fake_graph):
    return fake_graph.business


@pytest.fixture
def client(business):
    return CloudAPIClient(business.token)


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
        (131000, 500, TemporaryError),
        (131016, 503, TemporaryError),
        (999999, 503, TemporaryError),
        (100, 400, InvalidParameter),
        (131008, 400, InvalidParameter),
        (132000, 400, InvalidParameter),
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
