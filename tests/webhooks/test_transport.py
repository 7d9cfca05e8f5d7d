"""The one outbound HTTP helper of customer webhooks, against a real local server: requests as
built, statuses, no redirects, bounded bodies and time, the SSRF guard after DNS, TLS to the
checked address with the URL's host name, and no secrets in logs."""

import datetime
import logging
import re
import socket
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.webhooks.receiver import Receiver
from webhooks import transport
from webhooks.builder import build_request
from webhooks.transport import MAX_RESPONSE_BYTES, DeliveryError, send

SECRET = "whsec_dHJhbnNwb3J0LXRlc3Qtc2VjcmV0"
EVENT = {"event": "message.received", "text": "Hi", "media": {"id": "m1"}}
PUBLIC_NAME = "hooks.example.test"  # resolved by the `dns` fixture, never by real DNS


def _request(url, *, method="POST", headers=(("Authorization", "Bearer s3cret"),)):
    return build_request(
        method=method,
        url=url,
        headers=list(headers),
        signing_secret=SECRET,
        event=EVENT,
        delivery_id="d-1",
        timestamp=int(time.time()),
    )


@pytest.fixture
def dns(monkeypatch):
    """A resolver with test names: ``dns.names[name] = [addresses]``; other names resolve
    normally. ``dns.lookups`` counts the lookups of test names."""
    real = socket.getaddrinfo

    class FakeDNS:
        names: dict = {}
        lookups: list = []

        @staticmethod
        def getaddrinfo(host, port, *args, **kwargs):
            if host in FakeDNS.names:
                FakeDNS.lookups.append(host)
                return [
                    (
                        socket.AF_INET6 if ":" in address else socket.AF_INET,
                        socket.SOCK_STREAM,
                        6,
                        "",
                        (address, port),
                    )
                    for address in FakeDNS.names[host]
                ]
            if host.endswith(".test"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real(host, port, *args, **kwargs)

    FakeDNS.names, FakeDNS.lookups = {}, []
    monkeypatch.setattr(socket, "getaddrinfo", FakeDNS.getaddrinfo)
    return FakeDNS


@pytest.fixture
def private_networks_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False


# Requests as built


def test_it_sends_the_post_exactly_as_built(receiver):
    request = _request(receiver.url("/hook?src=tp"))

    response = send(request)

    assert response.status_code == 200
    assert response.body_excerpt == "ok"
    [received] = receiver.requests
    assert received.method == "POST"
    assert (received.path, received.query) == ("/hook", "src=tp")
    assert received.body == request.body
    for name, value in request.headers:
        assert received.headers.get_all(name) == [value]
    assert received.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_it_sends_the_get_query_exactly_as_built(receiver):
    request = _request(receiver.url("/hook?src=tp"), method="GET")

    send(request)

    [received] = receiver.requests
    assert received.method == "GET"
    assert received.body == b""
    assert f"{received.path}?{received.query}" == request.url.split(str(receiver.port), 1)[1]
    assert received.query == "src=tp&event=message.received&media.id=m1&text=Hi"


def test_it_keeps_the_connection_alive_between_requests(receiver):
    send(_request(receiver.url()))
    send(_request(receiver.url()))

    first, second = receiver.requests
    assert first.client == second.client


def test_it_answers_an_error_status_as_a_response(receiver):
    receiver.answer(503, body=b"maintenance")

    response = send(_request(receiver.url()))

    assert (response.status_code, response.body_excerpt) == (503, "maintenance")
    assert response.duration_ms >= 0


def test_it_does_not_follow_a_redirect(receiver):
    receiver.redirect(receiver.url("/elsewhere"))

    response = send(_request(receiver.url("/hook")))

    assert response.status_code == 302
    assert receiver.paths() == ["/hook"]


# Bounded bodies and time


def test_it_reads_at_most_64_kib_of_a_body_that_never_ends(receiver):
    receiver.endless()
    started = time.monotonic()

    response = send(_request(receiver.url()), timeout=5)

    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.truncated
    assert len(response.body_excerpt) == transport.EXCERPT_CHARS


def test_it_keeps_an_excerpt_of_a_long_body(receiver):
    receiver.answer(500, body=b"e" * (MAX_RESPONSE_BYTES * 3))

    response = send(_request(receiver.url()))

    assert response.truncated
    assert response.body_excerpt == "e" * transport.EXCERPT_CHARS


def test_it_decodes_the_body_with_replacement_and_without_nul(receiver):
    receiver.answer(200, body="Grüße ".encode() + b"\xff\x00!")

    response = send(_request(receiver.url()))

    assert response.body_excerpt == "Grüße \ufffd\ufffd!"


def test_it_gives_up_on_a_slow_answer_at_the_timeout(receiver):
    receiver.answer(200, delay=2)
    started = time.monotonic()

    with pytest.raises(
        DeliveryError, match=re.escape("Timed out waiting for 127.0.0.1 after 0.3 s")
    ):
        send(_request(receiver.url()), timeout=0.3)

    assert time.monotonic() - started < 1.5


def test_it_reports_a_refused_connection(receiver):
    url = receiver.url()
    receiver.down()

    with pytest.raises(
        DeliveryError, match=re.escape("Could not connect to 127.0.0.1: Connection refused")
    ):
        send(_request(url))


def test_it_reports_a_connection_dropped_without_an_answer(receiver):
    send(_request(receiver.url()))
    receiver.down()

    with pytest.raises(DeliveryError):
        send(_request(receiver.url()))


def test_it_reports_a_host_that_does_not_resolve(dns):
    with pytest.raises(
        DeliveryError, match=re.escape("Could not resolve the host name nowhere.test")
    ):
        send(_request("https://nowhere.test/hook"))


# The SSRF guard after DNS


def test_it_refuses_a_host_name_resolving_to_loopback(receiver, private_networks_refused):
    with pytest.raises(DeliveryError, match=r"localhost resolves to .*private, loopback"):
        send(_request(receiver.url(host="localhost")))

    assert receiver.requests == []


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["::1"], ["93.184.215.14", "192.168.1.9"]],
)
def test_it_refuses_a_name_resolving_to_any_non_public_address(
    receiver, dns, private_networks_refused, addresses
):
    dns.names[PUBLIC_NAME] = addresses

    with pytest.raises(DeliveryError, match="webhooks are only sent to public addresses"):
        send(_request(receiver.url(host=PUBLIC_NAME)))

    assert receiver.requests == []


def test_it_refuses_a_private_ip_literal(receiver, private_networks_refused):
    with pytest.raises(DeliveryError, match=re.escape("127.0.0.1 resolves to 127.0.0.1")):
        send(_request(receiver.url()))


def test_it_connects_to_the_address_it_checked_with_the_urls_host(receiver, dns):
    dns.names[PUBLIC_NAME] = ["127.0.0.1"]

    send(_request(receiver.url(host=PUBLIC_NAME)))

    # Resolved once: the connection goes to the checked address, not to a second lookup.
    assert dns.lookups == [PUBLIC_NAME]
    [received] = receiver.requests
    assert received.headers["Host"] == f"{PUBLIC_NAME}:{receiver.port}"


def test_it_tries_the_next_address_when_one_refuses(receiver, dns):
    # The receiver listens on 127.0.0.1 only: 127.0.0.2 refuses its port.
    dns.names[PUBLIC_NAME] = ["127.0.0.2", "127.0.0.1"]

    response = send(_request(receiver.url(host=PUBLIC_NAME)))

    assert response.status_code == 200
    assert len(receiver.requests) == 1


# TLS: the checked address, the URL's host name for SNI and the certificate


def _certificate(name, *, issuer=None, issuer_key=None):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
    return builder.sign(issuer_key or key, hashes.SHA256()), key


@pytest.fixture
def tls_receiver(tmp_path, settings, monkeypatch):
    """An HTTPS receiver on 127.0.0.1 with a certificate for hooks.example.test from a test CA
    that the transport trusts."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    ca, ca_key = _certificate("Test CA")
    leaf, leaf_key = _certificate(PUBLIC_NAME, issuer=ca, issuer_key=ca_key)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setattr(transport.certifi, "where", lambda: str(tmp_path / "ca.pem"))
    with Receiver(tls=(str(tmp_path / "leaf.pem"), str(tmp_path / "leaf.key"))) as running:
        yield running


def test_it_verifies_tls_for_the_host_name_while_connecting_to_the_checked_address(
    tls_receiver, dns
):
    dns.names[PUBLIC_NAME] = ["127.0.0.1"]

    response = send(_request(tls_receiver.url(host=PUBLIC_NAME)))

    assert response.status_code == 200
    assert tls_receiver.requests[0].headers["Host"] == f"{PUBLIC_NAME}:{tls_receiver.port}"


def test_it_refuses_a_certificate_for_another_name(tls_receiver, dns):
    dns.names["other.example.test"] = ["127.0.0.1"]

    with pytest.raises(DeliveryError, match=re.escape("TLS error with other.example.test")):
        send(_request(tls_receiver.url(host="other.example.test")))

    assert tls_receiver.requests == []


# Logs


def test_it_logs_no_header_value_signature_or_query(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    request = _request(receiver.url("/hook?token=q-s3cret"))
    send(request)
    receiver.answer(200, delay=1)
    with pytest.raises(DeliveryError) as error:
        send(_request(receiver.url("/hook?token=q-s3cret")), timeout=0.2)

    signature = dict(request.headers)["X-TextPeak-Signature"]
    text = caplog.text + error.value.message
    assert "Bearer s3cret" not in text
    assert signature.split("v1=")[1] not in text
    assert "q-s3cret" not in text
    assert "/<hidden>" in caplog.text  # urllib3's request line, without the path and query


# Fetching a send's file: the same guard, a bounded body written to a file


@pytest.mark.parametrize(
    "addresses", [["127.0.0.1"], ["169.254.169.254"], ["fd00::1"], ["93.184.215.14", "10.0.0.7"]]
)
def test_a_fetch_refuses_a_name_resolving_to_any_non_public_address(
    receiver, dns, private_networks_refused, addresses, tmp_path
):
    dns.names[PUBLIC_NAME] = addresses

    with (
        open(tmp_path / "file", "wb") as file,
        pytest.raises(transport.AddressRefused, match="files are only fetched from public"),
    ):
        transport.fetch(receiver.url(host=PUBLIC_NAME), file, timeout=5, max_bytes=100)

    assert receiver.requests == []


def test_a_fetch_connects_to_the_address_it_checked_and_writes_the_body(receiver, dns, tmp_path):
    dns.names[PUBLIC_NAME] = ["127.0.0.1"]
    receiver.answer(200, body=b"x" * 1000)

    with open(tmp_path / "file", "wb") as file:
        fetched = transport.fetch(receiver.url(host=PUBLIC_NAME), file, timeout=5, max_bytes=1000)

    assert (fetched.status_code, fetched.truncated) == (200, False)
    assert (tmp_path / "file").read_bytes() == b"x" * 1000
    assert receiver.requests[0].headers["Host"] == f"{PUBLIC_NAME}:{receiver.port}"


def test_a_fetch_answers_a_redirect_without_following_it(receiver, tmp_path):
    receiver.redirect(receiver.url("/elsewhere"))

    with open(tmp_path / "file", "wb") as file:
        fetched = transport.fetch(receiver.url(), file, timeout=5, max_bytes=1000)

    assert fetched.status_code == 302
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_fetch_stops_after_one_byte_over_the_limit(receiver, tmp_path):
    receiver.endless()

    with open(tmp_path / "file", "wb") as file:
        fetched = transport.fetch(receiver.url(), file, timeout=5, max_bytes=100_000)

    assert fetched.truncated
    assert (tmp_path / "file").stat().st_size <= 100_001


def test_a_fetch_ends_at_its_timeout(receiver, tmp_path):
    receiver.answer(200, delay=3)
    started = time.monotonic()

    with open(tmp_path / "file", "wb") as file, pytest.raises(DeliveryError, match="Timed out"):
        transport.fetch(receiver.url(), file, timeout=0.5, max_bytes=100)

    assert time.monotonic() - started < 2
