"""Validation of customer webhook URLs and headers, and the check for non-public addresses.

Everything here runs at form time and never touches the network. URLs are parsed and normalised
by requests itself (the client that delivers them), so the host checked here is the host the
delivery connects to, and the URL stored, previewed and signed is the URL that is sent. A host
name can still resolve to a private address; the delivery checks the resolved address with
`is_public_address`.
"""

import ipaddress
import re
import socket

from django.conf import settings
from django.core.exceptions import ValidationError
from requests.exceptions import InvalidURL
from requests.models import PreparedRequest
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from webhooks.builder import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
)

MAX_HEADERS = 20
MAX_URL_LENGTH = 2000
MAX_HEADER_NAME_LENGTH = 100
MAX_HEADER_VALUE_LENGTH = 1000

_RESERVED = {
    "host": "Host is set automatically from the URL.",
    "content-length": "Content-Length is set automatically.",
    "transfer-encoding": "Transfer-Encoding is set automatically.",
    "connection": "Connection is set automatically.",
    SIGNATURE_HEADER.lower(): f"{SIGNATURE_HEADER} is set by TextPeak.",
    DELIVERY_HEADER.lower(): f"{DELIVERY_HEADER} is set by TextPeak.",
    **{
        name: f"{name} is set by TextPeak (Standard Webhooks)."
        for name in (STANDARD_ID_HEADER, STANDARD_TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER)
    },
}
RESERVED_HEADERS = frozenset(_RESERVED)

# RFC 9110 "token": the only characters a header name may have.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Visible ASCII, space and tab. Clients reject line breaks (header injection), and send other
# characters as Latin-1 at best, which servers read differently.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")

# Names that only ever mean this machine or a private network (RFC 6761, 6762, 8375, and the
# cloud providers' internal zones such as metadata.google.internal).
_PRIVATE_NAMES = ("localhost", "local", "internal", "home.arpa")
# NAT64 turns these IPv6 addresses into the IPv4 address in their last 32 bits (RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_INVALID_URL = "Enter a valid URL, for example https://example.com/webhook."
_URL_TOO_LONG = f"URLs can be at most {MAX_URL_LENGTH} characters long."


def validate_url(url: str) -> str:
    """The URL as it will be sent (host in punycode, path and query percent-encoded)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(_URL_TOO_LONG, code="max_length")
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise ValidationError(_INVALID_URL, code="invalid") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Use an http:// or https:// URL.", code="scheme")
    if not parts.host:
        raise ValidationError(_INVALID_URL, code="invalid")
    if parts.auth is not None:
        raise ValidationError(
            "Remove the user name and password from the URL; send credentials in a header instead.",
            code="credentials",
        )
    # Refused rather than stripped: the part after # is never sent, and a # typed inside a
    # query value (…?token=ab#cd) would otherwise silently cut the value short.
    if parts.fragment is not None:
        raise ValidationError(
            "Remove the # and what follows it, or write it as %23 if it is part of a value: "
            "that part of a URL is never sent.",
            code="fragment",
        )
    if parts.port == 0:
        raise ValidationError("Use a port between 1 and 65535.", code="port")
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except InvalidURL:
        raise ValidationError(_INVALID_URL, code="invalid") from None
    if len(prepared.url) > MAX_URL_LENGTH:
        raise ValidationError(_URL_TOO_LONG, code="max_length")
    check_host(parts.host)
    return prepared.url


def validate_header_name(name: str, *, method: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("Enter a header name.", code="required")
    if len(name) > MAX_HEADER_NAME_LENGTH:
        raise ValidationError(
            f"Header names can be at most {MAX_HEADER_NAME_LENGTH} characters long.",
            code="max_length",
        )
    if not _TOKEN.fullmatch(name):
        raise ValidationError(
            "Header names may contain only letters, digits and ! # $ % & ' * + - . ^ _ ` | ~ "
            "(no spaces or colons).",
            code="invalid",
        )
    if name.lower() in _RESERVED:
        raise ValidationError(_RESERVED[name.lower()], code="reserved")
    if method == "POST" and name.lower() == "content-type":
        raise ValidationError(
            "Content-Type is always application/json for POST requests.", code="reserved"
        )
    return name


def validate_header_value(value: str) -> str:
    # Surrounding spaces are not part of an HTTP header value, and requests refuses leading ones.
    value = value.strip()
    if any(char in value for char in "\r\n\0"):
        raise ValidationError(
            "Header values cannot contain line breaks or NUL characters.", code="invalid"
        )
    if len(value) > MAX_HEADER_VALUE_LENGTH:
        raise ValidationError(
            f"Header values can be at most {MAX_HEADER_VALUE_LENGTH} characters long.",
            code="max_length",
        )
    if not _HEADER_VALUE.fullmatch(value):
        raise ValidationError(
            "Header values may contain only ASCII letters, digits, punctuation and spaces.",
            code="invalid",
        )
    return value


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet; anything unparsable is not.

    Takes what `getaddrinfo` returns, so a delivery can check the address it will connect to.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-mapped, 6to4 and NAT64 addresses reach the IPv4 address inside them.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
        if ip.is_site_local:
            return False
    # is_global alone lets multicast through, and misses some reserved ranges on older Pythons.
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
    )


def check_host(host: str) -> None:
    """Refuse a URL host that is plainly local or private, without resolving it."""
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    name = host.strip("[]").rstrip(".").lower()
    if any(name == suffix or name.endswith(f".{suffix}") for suffix in _PRIVATE_NAMES):
        raise ValidationError(
            "This host name only works inside a private network; use a public URL.",
            code="private",
        )
    address = _ip_literal(name)
    if address is not None and not is_public_address(address):
        raise ValidationError(
            "This IP address is private, local or reserved; use a public address.",
            code="private",
        )


def _ip_literal(name: str) -> str | None:
    """The address a host means if it is an IP literal, read the way the resolver reads it.

    `inet_aton` is what getaddrinfo uses for IPv4 literals, so it catches the forms that
    `ipaddress` refuses but a connection accepts: 2130706433, 0x7f.1, 0177.0.0.1, 127.1.
    """
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(name))
    except (OSError, ValueError):
        return None
