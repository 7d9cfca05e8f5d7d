import pytest
from django.core.exceptions import ValidationError
from requests.models import PreparedRequest

from webhooks.guard import (
    RESERVED_HEADERS,
    check_host,
    is_public_address,
    validate_header_name,
    validate_header_value,
    validate_url,
)

PRIVATE_URLS = [
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.10:8080/hook",
    "http://100.64.0.1/hook",
    "http://127.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fec0::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://localhost:8000/hook",
    "http://LocalHost./hook",
    "http://api.localhost/hook",
    "http://printer.local/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://router.home.arpa/hook",
]


def _messages(function, *args, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as error:
        function(*args, **kwargs)
    return error.value.messages


@pytest.fixture
def private_networks_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False


# URLs


def test_it_refuses_a_url_that_is_not_http(private_networks_refused):
    assert _messages(validate_url, "ftp://files.example.com/in") == [
        "Use an http:// or https:// URL."
    ]


def test_it_refuses_a_url_without_a_scheme():
    assert _messages(validate_url, "hooks.example.com/in") == ["Use an http:// or https:// URL."]


def test_it_refuses_credentials_in_the_url():
    assert _messages(validate_url, "https://bob:secret@hooks.example.com/in") == [
        "Remove the user name and password from the URL; send credentials in a header instead."
    ]


def test_it_refuses_a_fragment():
    assert _messages(validate_url, "https://hooks.example.com/in?token=ab#cd") == [
        "Remove the # and what follows it, or write it as %23 if it is part of a value: "
        "that part of a URL is never sent."
    ]


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com:0/in", "https://hooks.example.com:70000/in"]
)
def test_it_refuses_a_port_out_of_range(url):
    with pytest.raises(ValidationError):
        validate_url(url)


def test_it_refuses_an_overlong_url():
    url = "https://hooks.example.com/" + "a" * 2000

    assert _messages(validate_url, url) == ["URLs can be at most 2000 characters long."]


@pytest.mark.parametrize("url", ["https://", "https://exa mple.com/in", "not a url"])
def test_it_refuses_a_malformed_url(url):
    with pytest.raises(ValidationError):
        validate_url(url)


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_it_refuses_private_and_local_hosts(private_networks_refused, url):
    with pytest.raises(ValidationError) as error:
        validate_url(url)

    assert error.value.code == "private"


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_it_allows_private_and_local_hosts_when_the_setting_allows_them(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    assert validate_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in",
        "https://hooks.example.com:8443/in?token=abc",
        "http://93.184.216.34/in",
        "https://[2606:4700:4700::1111]/in",
        "https://local.example.com/in",
        "https://internal-api.example.com/in",
    ],
)
def test_it_allows_public_hosts(private_networks_refused, url):
    assert validate_url(url) == url


def test_it_explains_why_a_private_address_is_refused(private_networks_refused):
    assert _messages(validate_url, "http://169.254.169.254/") == [
        "This IP address is private, local or reserved; use a public address."
    ]


def test_it_explains_why_a_local_name_is_refused(private_networks_refused):
    assert _messages(validate_url, "http://localhost/") == [
        "This host name only works inside a private network; use a public URL."
    ]


def test_it_normalises_the_url_to_what_is_sent():
    assert (
        validate_url("  HTTPS://Bücher.example/a b?q=ä  ")
        == "https://xn--bcher-kva.example/a%20b?q=%C3%A4"
    )


def test_it_returns_a_url_that_requests_sends_unchanged():
    url = validate_url("https://hooks.example.com/x/../in?q=%41&r=ä")
    prepared = PreparedRequest()

    prepared.prepare_url(url, None)

    assert prepared.url == url


def test_it_checks_the_host_requests_connects_to(private_networks_refused):
    # urllib.parse would read 127.0.0.1 as the host here; requests connects to evil.example.
    assert validate_url("http://evil.example\\@127.0.0.1/") == "http://evil.example/%5C@127.0.0.1/"


def test_it_checks_ip_hosts_without_brackets_or_trailing_dots(private_networks_refused):
    with pytest.raises(ValidationError):
        check_host("127.0.0.1.")


# Addresses, as a delivery will check them after resolving the host


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"],
)
def test_it_treats_public_addresses_as_public(address):
    assert is_public_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, not one we bind to
        "224.0.0.251",
        "240.0.0.1",
        "192.0.2.1",
        "::",
        "::1",
        "fe80::1%eth0",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::1",
        "64:ff9b::7f00:1",
        "not-an-address",
    ],
)
def test_it_treats_other_addresses_as_not_public(address):
    assert not is_public_address(address)


# Header names


@pytest.mark.parametrize("name", ["X Tenant", "X-Tenant:", "Überschrift", "X-Ten\nant", "(x)"])
def test_it_refuses_header_names_with_characters_http_forbids(name):
    assert _messages(validate_header_name, name, method="POST") == [
        "Header names may contain only letters, digits and ! # $ % & ' * + - . ^ _ ` | ~ "
        "(no spaces or colons)."
    ]


def test_it_strips_and_keeps_a_valid_header_name():
    assert validate_header_name("  X-Api_Key.v2  ", method="POST") == "X-Api_Key.v2"


def test_it_refuses_an_empty_header_name():
    assert _messages(validate_header_name, "   ", method="GET") == ["Enter a header name."]


def test_it_refuses_an_overlong_header_name():
    assert _messages(validate_header_name, "X" * 101, method="GET") == [
        "Header names can be at most 100 characters long."
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x-textpeak-signature", "X-TextPeak-Signature is set by TextPeak."),
        ("X-TextPeak-Delivery", "X-TextPeak-Delivery is set by TextPeak."),
        ("Webhook-Signature", "webhook-signature is set by TextPeak (Standard Webhooks)."),
        ("webhook-id", "webhook-id is set by TextPeak (Standard Webhooks)."),
        ("WEBHOOK-TIMESTAMP", "webhook-timestamp is set by TextPeak (Standard Webhooks)."),
        ("HOST", "Host is set automatically from the URL."),
        ("Content-Length", "Content-Length is set automatically."),
        ("Transfer-Encoding", "Transfer-Encoding is set automatically."),
        ("Connection", "Connection is set automatically."),
    ],
)
def test_it_refuses_reserved_header_names(name, message):
    assert _messages(validate_header_name, name, method="GET") == [message]


def test_it_lists_the_reserved_header_names_in_lower_case():
    assert "x-textpeak-signature" in RESERVED_HEADERS
    assert "content-type" not in RESERVED_HEADERS


def test_it_refuses_content_type_for_post():
    assert _messages(validate_header_name, "content-type", method="POST") == [
        "Content-Type is always application/json for POST requests."
    ]


def test_it_allows_content_type_for_get():
    assert validate_header_name("Content-Type", method="GET") == "Content-Type"


# Header values


@pytest.mark.parametrize("value", ["abc\r\nX-Evil: 1", "abc\nX-Evil: 1", "abc\rdef", "ab\0c"])
def test_it_refuses_header_values_with_line_breaks(value):
    assert _messages(validate_header_value, value) == [
        "Header values cannot contain line breaks or NUL characters."
    ]


def test_it_strips_and_keeps_a_valid_header_value():
    assert validate_header_value("  Bearer abc.DEF-123=  ") == "Bearer abc.DEF-123="


def test_it_allows_an_empty_header_value():
    assert validate_header_value("") == ""


def test_it_refuses_an_overlong_header_value():
    assert _messages(validate_header_value, "a" * 1001) == [
        "Header values can be at most 1000 characters long."
    ]


@pytest.mark.parametrize("value", ["Müller", "a\x01b", "a\x7fb"])
def test_it_refuses_header_values_other_than_printable_ascii(value):
    assert _messages(validate_header_value, value) == [
        "Header values may contain only ASCII letters, digits, punctuation and spaces."
    ]
