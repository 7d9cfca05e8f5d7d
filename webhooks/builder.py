"""The one builder of customer webhook requests.

The wizard's request preview, the Test webhook button and real deliveries all call
`build_request`, so the preview shows byte for byte what the customer's server receives.

Every request carries two signatures of the same payload, at the same timestamp (the attempt's
time, in unix seconds); the payload is the raw body for POST, or for GET the raw query string (the
part of the URL after "?"), since a GET has no body and its query is the event:

- ours, `X-TextPeak-Signature: t=<timestamp>,v1=<hex>`, where hex is HMAC-SHA256 keyed with the
  signing secret as shown (``whsec_…``, its UTF-8 bytes) over `b"<timestamp>." + payload`;
- Standard Webhooks' (https://www.standardwebhooks.com), which its libraries verify:
  `webhook-id` (the delivery's id, the same on every retry), `webhook-timestamp` and
  `webhook-signature: v1,<base64>`, HMAC-SHA256 keyed with the base64-decoded secret
  (`signing_secrets.standard_key`) over `b"<id>.<timestamp>." + payload`.

During a rotation's overlap both carry a `v1` for each secret, the new one first
(`t=…,v1=<new>,v1=<old>` and `v1,<new> v1,<old>`): a receiver accepts the request when any `v1`
matches the secret it has.

Fields go out in sorted order (JSON keys and query parameters alike): PostgreSQL stores a
delivery's event as jsonb, which does not keep the order it was written in, and the preview
must show the bytes a delivery will send.

GET requests carry the event as query parameters: nested values are flattened to dotted names
(`media.url`, `location.latitude`; list items by index, `buttons.0`), booleans become
`true`/`false`, and fields whose value is None are left out. They are appended after any query the
customer's URL already has, which is kept as typed.
"""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit, urlunsplit

from webhooks.signing_secrets import standard_key

SIGNATURE_HEADER = "X-TextPeak-Signature"
DELIVERY_HEADER = "X-TextPeak-Delivery"
# Standard Webhooks' headers, in the lower case its specification writes them in.
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
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
            elif name.lower() == STANDARD_SIGNATURE_HEADER:
                if signature:
                    value = re.sub(r"v1,[^ ]*", f"v1,{MASK}", value)
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


def sign(*, secret: str, timestamp: int, payload: bytes, previous_secret: str = "") -> str:
    """X-TextPeak-Signature's value; the timestamp is signed too, so a replay can be dated."""
    signed = f"{timestamp}.".encode() + payload
    digests = (
        hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        for key in _secrets(secret, previous_secret)
    )
    return f"t={timestamp}," + ",".join(f"v1={digest}" for digest in digests)


def standard_sign(
    *, secret: str, msg_id: str, timestamp: int, payload: bytes, previous_secret: str = ""
) -> str:
    """webhook-signature's value (Standard Webhooks)."""
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digests = (
        hmac.new(standard_key(key), signed, hashlib.sha256).digest()
        for key in _secrets(secret, previous_secret)
    )
    return " ".join(f"v1,{base64.b64encode(digest).decode()}" for digest in digests)


def _secrets(secret: str, previous_secret: str) -> list[str]:
    return [secret, previous_secret] if previous_secret else [secret]


def build_request(
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    signing_secret: str,
    event: dict,
    delivery_id: str,
    timestamp: int,
    previous_secret: str = "",
) -> WebhookRequest:
    """The request of one attempt; ``previous_secret`` is the secret a rotation replaced, while
    it still signs."""
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
    secrets = {"secret": signing_secret, "previous_secret": previous_secret}
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
            (SIGNATURE_HEADER, sign(timestamp=timestamp, payload=payload, **secrets)),
            (STANDARD_ID_HEADER, delivery_id),
            (STANDARD_TIMESTAMP_HEADER, str(timestamp)),
            (
                STANDARD_SIGNATURE_HEADER,
                standard_sign(msg_id=delivery_id, timestamp=timestamp, payload=payload, **secrets),
            ),
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
