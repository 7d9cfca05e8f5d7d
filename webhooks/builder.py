"""The one builder of customer webhook requests.

The wizard's request preview, the Test webhook button and real deliveries all call
`build_request`, so the preview shows byte for byte what the customer's server receives.

Signing scheme (what a customer verifies): `X-TextPeak-Signature: t=<timestamp>,v1=<hex>`, where
hex is HMAC-SHA256 with the endpoint's signing secret over `b"<timestamp>." + payload`, and the
payload is the raw body for POST, or for GET the raw query string (the part of the URL after "?").

Fields go out in sorted order (JSON keys and query parameters alike): PostgreSQL stores a
delivery's event as jsonb, which does not keep the order it was written in, and the preview
must show the bytes a delivery will send.

GET requests carry the event as query parameters: nested values are flattened to dotted names
(`media.url`, `location.latitude`; list items by index, `buttons.0`), booleans become
`true`/`false`, and fields whose value is None are left out. They are appended after any query the
customer's URL already has, which is kept as typed.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit, urlunsplit

SIGNATURE_HEADER = "X-TextPeak-Signature"
DELIVERY_HEADER = "X-TextPeak-Delivery"
USER_AGENT = "TextPeak-Webhooks/1.0"
MASK = "********"


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    # The names of the customer's own headers, whose values are usually credentials.
    user_headers: tuple[str, ...] = ()

    def masked(
        self, *, only: Collection[str] | None = None, signature: bool = True
    ) -> "WebhookRequest":
        """The request with the customer's header values and the signature's digest masked:
        for the delivery log and the pages other than the webhook's own form (secrets never
        in logs or HTML).

        The form's preview masks only the saved values (``only``: the names of those headers),
        which the form never sends to the browser, and keeps the signature of the sample
        message, so the user can check their verification against it."""
        secret = {name.lower() for name in (self.user_headers if only is None else only)}
        headers = []
        for name, value in self.headers:
            if name.lower() == SIGNATURE_HEADER.lower():
                if signature:
                    value = re.sub(r"v1=[^,]*", f"v1={MASK}", value)
            elif name.lower() in secret:
                value = MASK
            headers.append((name, value))
        return replace(self, headers=headers)

    def as_text(self) -> str:
        """The request as an HTTP/1.1 message, with the JSON body indented for reading."""
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{self.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        text = "\n".join(lines)
        if self.body:
            pretty = json.dumps(json.loads(self.body), indent=2, ensure_ascii=False)
            text += f"\n\n{pretty}"
        return text


def sign(*, secret: str, timestamp: int, payload: bytes) -> str:
    """The signature header's value; the timestamp is signed too, so a replay can be dated."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def build_request(
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    signing_secret: str,
    event: dict,
    delivery_id: str,
    timestamp: int,
) -> WebhookRequest:
    if method not in ("GET", "POST"):
        raise ValueError(f"Webhook method must be GET or POST, not {method!r}")
    parts = urlsplit(url)
    query = parts.query
    if method == "POST":
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
        payload = body
        content_headers = [("Content-Type", "application/json")]
    else:
        query = "&".join(filter(None, [query, urlencode(list(_flatten(event)))]))
        body = b""
        payload = query.encode()
        content_headers = []
    # A fragment is never sent over HTTP; dropping it keeps the preview honest.
    final_url = urlunsplit(parts._replace(query=query, fragment=""))
    # HTTP clients send one User-Agent, so the customer's own replaces ours rather than
    # showing two in the preview.
    user_agent = [] if _has_header(headers, "User-Agent") else [("User-Agent", USER_AGENT)]
    return WebhookRequest(
        method=method,
        url=final_url,
        headers=[
            *user_agent,
            *content_headers,
            *headers,
            (DELIVERY_HEADER, delivery_id),
            (SIGNATURE_HEADER, sign(secret=signing_secret, timestamp=timestamp, payload=payload)),
        ],
        body=body,
        user_headers=tuple(name for name, _ in headers),
    )


def _has_header(headers: list[tuple[str, str]], name: str) -> bool:
    return any(header.lower() == name.lower() for header, _ in headers)


def _flatten(value: object, name: str = "") -> Iterator[tuple[str, str]]:
    """Query parameters for an event, following the rule in the module docstring."""
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in sorted(value.items()):
            yield from _flatten(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{name}.{index}")
    elif isinstance(value, bool):
        yield name, "true" if value else "false"
    else:
        yield name, str(value)
