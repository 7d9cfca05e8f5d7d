"""A stream's Meta token and app secret never leave the server in clear: not in the database,
not in any page of the stream, not in the logs."""

import logging
import secrets

import pytest
from django.db import connection
from django.urls import reverse

from streams.models import Stream
from whatsapp.models import WhatsAppAccount
from whatsapp.testing.fake_graph import UNKNOWN_ERROR

pytestmark = pytest.mark.django_db

CREATE = reverse("streams:create", args=["whatsapp"])
LIST = reverse("streams:list")


@pytest.fixture
def every_log_record(caplog):
    """Capture every logger at DEBUG, including any that does not propagate to the root."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    caplog.set_level(logging.DEBUG)
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    isolated = [logger for logger in loggers if not logger.propagate]
    for logger in isolated:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in isolated:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def credentials(fake_graph):
    business = fake_graph.add_business(token="EAAG" + secrets.token_urlsafe(32))
    return {
        "business_id": business.waba_id,
        "access_token": business.token,
        "app_secret": "appsecret" + secrets.token_hex(16),
    }


@pytest.fixture
def flow(owner_client, whatsapp_access, fake_graph, credentials, every_log_record):
    """Create a stream through the whole wizard, Meta failing and refusing the token first, then
    use every tab. Returns the stream and every response on the way."""
    client = owner_client
    token = credentials["access_token"]
    responses = [client.post(CREATE, {"name": "Orders", "action": "next"})]
    stream = Stream.objects.get(name="Orders")

    def step(slug):
        return reverse("streams:setup", args=[stream.uid, slug])

    def tab(slug):
        return reverse("streams:tab", args=[stream.uid, slug])

    # Meta echoes a malformed token in its error message; then it is down for a moment.
    fake_graph.fail_next(status=400, code=190, message=f"Malformed access token {token}")
    fake_graph.fail_next(UNKNOWN_ERROR)
    for _ in range(3):
        responses.append(client.post(step("whatsapp"), {**credentials, "action": "next"}))
    responses.append(
        client.post(
            step("webhook"),
            {
                "method": "POST",
                "url": "https://example.com/hook",
                "header_name": ["X-Api-Key"],
                "header_value": ["k-1"],
                "action": "next",
            },
        )
    )
    responses.append(client.post(step("summary"), {"action": "create"}))
    responses.append(client.post(tab("whatsapp"), {"refresh": "1"}))
    responses.append(client.post(tab("whatsapp"), {"register_callback": "1"}))
    responses.append(client.post(tab("whatsapp"), {"update_token": "1", "access_token": token}))
    pages = [step(slug) for slug in ("details", "whatsapp", "webhook", "summary")]
    pages += [reverse("streams:detail", args=[stream.uid])]
    pages += [tab(slug) for slug in ("whatsapp", "webhooks", "api")]
    pages += [LIST]
    for url in pages:
        responses.append(client.get(url))
        responses.append(client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="stream-panel"))
    stream.refresh_from_db()
    return stream, responses


def _secrets(credentials):
    return [credentials["access_token"], credentials["app_secret"]]


def test_it_saves_the_credentials(flow, credentials):
    stream, _ = flow
    account = WhatsAppAccount.objects.get(stream=stream)
    assert stream.status == Stream.Status.READY
    assert account.access_token() == credentials["access_token"]
    assert account.app_secret() == credentials["app_secret"]


def test_it_quotes_metas_error_with_the_token_echoed_in_it_redacted(flow):
    _, responses = flow
    page = responses[1].content.decode()
    assert "Meta refused the token: “Malformed access token [token]”" in page


def test_it_keeps_the_credentials_out_of_every_database_column(flow, credentials):
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = connection.introspection.get_table_description(cursor, table)
            names = [connection.ops.quote_name(column.name) for column in columns]
            cursor.execute(f"SELECT {', '.join(names)} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    text = (
                        value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    )
                    found += [
                        (table, column.name) for secret in _secrets(credentials) if secret in text
                    ]
    assert found == []


def test_it_keeps_the_credentials_out_of_every_page(flow, credentials):
    _, responses = flow
    assert len(responses) > 20
    for response in responses:
        page = response.content.decode()
        for secret in _secrets(credentials):
            assert secret not in page, response.request["PATH_INFO"]
        for header, value in response.items():
            for secret in _secrets(credentials):
                assert secret not in value, header


def test_it_keeps_the_credentials_out_of_the_logs(flow, credentials, every_log_record):
    # The flow runs while the test is set up.
    records = every_log_record.get_records("setup")
    assert any(record.levelno == logging.DEBUG for record in records)
    assert any(record.name == "whatsapp.graph.client" for record in records)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        text = formatter.format(record) + repr(record.args) + repr(record.__dict__)
        for secret in _secrets(credentials):
            assert secret not in text, record.name
