"""The one outbound HTTP helper for customers' servers: webhooks, and the files of sends.

Every request to a customer's server goes through `send` (a webhook) or `fetch` (a file a send
names, which TextPeak uploads to WhatsApp itself), which:

- resolves the host once and checks every address it resolves to with
  `guard.is_public_address` (unless ``WEBHOOK_ALLOW_PRIVATE_NETWORKS``), then connects to that
  checked address, so a DNS answer that changes between the check and the connection (DNS
  rebinding) cannot send the request somewhere else. The Host header, TLS SNI and certificate
  check still use the URL's host name;
- never follows redirects: a 3xx is answered like any other status, and the delivery counts it
  as a failed attempt;
- bounds the whole request by ``timeout`` seconds, from connecting to the last byte read, and
  reads at most `MAX_RESPONSE_BYTES` of the response body;
- keeps connections alive in one pool per (address, port, host name), shared by the threads of
  a process, because a worker sends many deliveries to the same few endpoints;
- never logs or raises with header values, the signing secret or the URL's path and query
  (customers put tokens there); messages name the host at most.
"""

import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import parse_url

from webhooks.builder import WebhookRequest
from webhooks.guard import is_public_address

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
# What an attempt keeps of the response body for the delivery log.
EXCERPT_CHARS = 4000
# Open pools (one per address, port and host name) a process keeps; the least recently used
# one is closed beyond this.
MAX_POOLS = 200
_CHUNK = 16 * 1024
_FETCH_CHUNK = 256 * 1024
_URLLIB3_REQUEST_LINE = '%s://%s:%s "%s %s %s" %s %s'


class _HideWebhookPaths(logging.Filter):
    """urllib3 logs each request line at DEBUG, path and query included, and customers put
    tokens in webhook URLs (Slack-style paths, ?token=): hidden for requests sent from here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            getattr(_sending, "active", False)
            and record.msg == _URLLIB3_REQUEST_LINE
            and isinstance(record.args, tuple)
            and len(record.args) == 8
        ):
            args = list(record.args)
            args[4] = "/<hidden>"
            record.args = tuple(args)
        return True


_sending = threading.local()
logging.getLogger("urllib3.connectionpool").addFilter(_HideWebhookPaths())


class DeliveryError(Exception):
    """The request got no HTTP response: the host did not resolve or was refused, the
    connection failed, or the time ran out. The message is safe to show and store."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AddressRefused(DeliveryError):
    """The host resolves to a private, loopback, link-local or reserved address."""


@dataclass(frozen=True)
class Response:
    status_code: int
    # At most MAX_RESPONSE_BYTES read, decoded as UTF-8 with replacement, cut to EXCERPT_CHARS.
    body_excerpt: str
    duration_ms: int
    # The body was longer than what was read.
    truncated: bool = False


def send(request: WebhookRequest, *, timeout: float = 10) -> Response:
    """Send a built webhook request; any HTTP status is a `Response`, anything else a
    `DeliveryError`."""
    started = time.monotonic()
    deadline = started + timeout
    response, host = _open(
        request.method,
        request.url,
        request.headers,
        request.body or None,
        deadline=deadline,
        timeout=timeout,
        refusal="webhooks are only sent to public addresses",
        invalid="The webhook URL is not valid.",
    )
    return _read(response, started, deadline, host, timeout)


@dataclass(frozen=True)
class Fetched:
    status_code: int
    content_type: str
    # The body was longer than ``max_bytes``: what was written stops after ``max_bytes + 1``.
    truncated: bool


def fetch(url: str, file, *, timeout: float, max_bytes: int) -> Fetched:
    """GET ``url`` and write its body (a 2xx's) to ``file``, at most ``max_bytes`` and one byte
    more, within ``timeout`` seconds in all; redirects are answered, not followed. Anything
    but an HTTP answer is a `DeliveryError` (`AddressRefused` for a private address)."""
    started = time.monotonic()
    deadline = started + timeout
    response, host = _open(
        "GET",
        url,
        [("Accept-Encoding", "identity")],
        None,
        deadline=deadline,
        timeout=timeout,
        refusal="files are only fetched from public addresses",
        invalid="The file's URL is not valid.",
    )
    content_type = response.headers.get("Content-Type", "")
    declared = response.headers.get("Content-Length", "").strip()
    ok = 200 <= response.status < 300
    if not ok or (declared.isdigit() and int(declared) > max_bytes):
        response.close()
        response.release_conn()
        return Fetched(response.status, content_type, truncated=ok)
    size = 0
    try:
        while size <= max_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeliveryError(f"Timed out reading the file from {host} after {timeout:g} s.")
            sock = getattr(response.connection, "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = response.read1(min(_FETCH_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            file.write(chunk)
            size += len(chunk)
    except DeliveryError:
        response.close()
        raise
    except Exception as error:
        response.close()
        raise _error(error, host, timeout) from None
    finally:
        if size > max_bytes:
            response.close()
        response.release_conn()
    return Fetched(response.status, content_type, truncated=size > max_bytes)


def _open(method, url_text, header_list, body, *, deadline, timeout, refusal, invalid):
    """The response (its headers read, its body not) of a request to a checked address of the
    URL's host, and that host."""
    try:
        url = parse_url(url_text)
    except LocationParseError:
        raise DeliveryError(invalid) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise DeliveryError(invalid)
    host = url.host.strip("[]")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = _resolve(host, port, refusal)
    last_error: DeliveryError | None = None
    # Built as a list: a name the customer gave twice is sent twice, as the preview shows.
    headers = urllib3.HTTPHeaderDict()
    for name, value in header_list:
        headers.add(name, value)
    # The URL's host (and port, when given) as typed, as the preview shows it.
    headers["Host"] = url.netloc
    _sending.active = True
    try:
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            pool = _pool(url.scheme, address, port, host)
            try:
                response = pool.urlopen(
                    method,
                    url.request_uri,
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=urllib3.Timeout(total=remaining),
                    preload_content=False,
                    release_conn=False,
                )
            except (NewConnectionError, ConnectTimeoutError) as error:
                # Try the host's next address, as a browser would.
                last_error = _connect_error(error, host, timeout)
                continue
            except Exception as error:
                raise _error(error, host, timeout) from None
            return response, host
    finally:
        _sending.active = False
    raise last_error or DeliveryError(f"Timed out connecting to {host} after {timeout:g} s.")


def _resolve(host: str, port: int, refusal: str) -> list[str]:
    """The addresses to connect to, each one allowed, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DeliveryError(f"Could not resolve the host name {host}.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise DeliveryError(f"Could not resolve the host name {host}.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        for address in addresses:
            if not is_public_address(address):
                # Any private answer refuses the host: the next lookup could pick that one.
                raise AddressRefused(
                    f"{host} resolves to {address}, a private, loopback, link-local or "
                    f"reserved address; {refusal}."
                )
    return addresses


def _read(response, started: float, deadline: float, host: str, timeout: float) -> Response:
    """Read at most MAX_RESPONSE_BYTES of the body before the deadline."""
    chunks, size, truncated = [], 0, False
    try:
        while size <= MAX_RESPONSE_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeliveryError(
                    f"Timed out reading the response from {host} after {timeout:g} s."
                )
            sock = getattr(response.connection, "sock", None)
            if sock is not None:
                # The whole request shares one deadline, not each read of the body.
                sock.settimeout(remaining)
            chunk = response.read1(min(_CHUNK, MAX_RESPONSE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        truncated = size > MAX_RESPONSE_BYTES
    except DeliveryError:
        response.close()
        raise
    except Exception as error:
        response.close()
        raise _error(error, host, timeout) from None
    finally:
        if truncated:
            # The rest is never read, so the connection cannot carry another request.
            response.close()
        response.release_conn()
    body = b"".join(chunks)[:MAX_RESPONSE_BYTES]
    excerpt = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return Response(
        status_code=response.status,
        body_excerpt=excerpt[:EXCERPT_CHARS],
        duration_ms=round((time.monotonic() - started) * 1000),
        truncated=truncated or len(excerpt) > EXCERPT_CHARS,
    )


def _connect_error(error: Exception, host: str, timeout: float) -> DeliveryError:
    # NewConnectionError is a ConnectTimeoutError too, for urllib3's backward compatibility.
    if isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError):
        return DeliveryError(f"Timed out connecting to {host} after {timeout:g} s.")
    reason = _os_reason(error) or "the connection failed"
    return DeliveryError(f"Could not connect to {host}: {reason}.")


def _error(error: Exception, host: str, timeout: float) -> DeliveryError:
    """A message for a failed request that names no URL path, query or header."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, NewConnectionError | ConnectTimeoutError):
        return _connect_error(error, host, timeout)
    if isinstance(error, ReadTimeoutError | TimeoutError):
        return DeliveryError(f"Timed out waiting for {host} after {timeout:g} s.")
    if isinstance(error, SSLError):
        reason = _os_reason(error) or "the certificate could not be verified"
        return DeliveryError(f"TLS error with {host}: {reason}.")
    if isinstance(error, ProtocolError):
        reason = _os_reason(error) or "the connection was closed"
        return DeliveryError(f"The connection to {host} failed: {reason}.")
    logger.warning("Webhook request to %s failed: %s", host, type(error).__name__)
    return DeliveryError(f"The request to {host} failed ({type(error).__name__}).")


def _os_reason(error: BaseException) -> str:
    """The innermost OS or TLS reason of a urllib3 error, e.g. "Connection refused"."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, OSError) and getattr(seen, "strerror", None):
            return seen.strerror
        if isinstance(seen, ConnectionError) and not isinstance(seen, urllib3.exceptions.HTTPError):
            return str(seen) or type(seen).__name__
        nested = [arg for arg in getattr(seen, "args", ()) if isinstance(arg, BaseException)]
        seen = nested[0] if nested else seen.__cause__ or seen.__context__
    return ""


# Connection pools


_pools: OrderedDict = OrderedDict()
_pools_lock = threading.Lock()
_pools_pid = os.getpid()


def _pool(scheme: str, address: str, port: int, hostname: str):
    """The process's pool of keep-alive connections to ``address`` for ``hostname``."""
    global _pools_pid
    # The trust store is part of the key: a pool verifies with the file it was made with.
    ca_certs = certifi.where() if scheme == "https" else ""
    key = (scheme, address, port, hostname, ca_certs)
    with _pools_lock:
        if _pools_pid != os.getpid():
            # A forked worker must not share its parent's sockets.
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        size = max(settings.DELIVERY_THREADS, 1)
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                maxsize=size,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_certs,
                server_hostname=hostname,
                assert_hostname=hostname,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, maxsize=size)
        _pools[key] = pool
        while len(_pools) > MAX_POOLS:
            _, oldest = _pools.popitem(last=False)
            oldest.close()
        return pool
