"""The only module that talks HTTP to Meta's WhatsApp Cloud API (the Graph API).

Callers get dataclasses back, or one of the typed :class:`GraphError` subclasses: Meta's JSON,
its error codes and urllib3's exceptions are normalised here, at the edge, and go no further.
The base URL and API version are read from settings on every call so that tests and local runs
can point the client at ``whatsapp.testing.fake_graph``.

The access token travels only in the ``Authorization`` header of each request. It is never
logged, and errors are built so that it cannot reach their messages, even when Meta echoes it
back (as it does for a malformed token). Media downloads go to a URL Meta gives (on another host
than the Graph API): :func:`media_url_allowed` says which URLs may receive the token.
"""

import logging
import secrets
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from json import dumps as json_dumps
from json import loads as json_loads
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode, urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, ProxyError, ReadTimeoutError, SSLError
from urllib3.util import Retry

from textpeak import metrics
from textpeak.lib.shape import Rules, Shape
from whatsapp.graph.errors import (
    GraphError,
    InvalidParameter,
    NotFound,
    TemporaryError,
    error_class,
    status_class,
)

logger = logging.getLogger(__name__)


# Opening a connection to Meta takes well under a second; waiting longer only delays the error.
CONNECT_TIMEOUT = 5.0


_BUSINESS_FIELDS = "id,name,currency,timezone_id"


_PHONE_NUMBER_FIELDS = "id,display_phone_number,verified_name,quality_rating,throughput"


_TEMPLATE_FIELDS = "id,name,language,category,status,components"


_TEMPLATES_PAGE_SIZE = 100


# Media downloads: Meta's media URLs (``GET /{media_id}`` answers one, valid for about 5 minutes)
# are on its "lookaside" host, not on the Graph API's. These hosts, over https on the default
# port, may receive the access token; so may the configured WHATSAPP_GRAPH_URL's own origin (in
# tests and local runs, the fake Graph API, which serves its media URLs itself). Nothing else.
META_MEDIA_HOSTS = frozenset({"lookaside.fbsbx.com"})


MEDIA_CHUNK_SIZE = 64 * 1024


# Redirects of a media download are followed by hand, each checked like the first URL.
MEDIA_MAX_REDIRECTS = 3


# An error answer to a download is read at most this far (it is JSON or a short page).
_MEDIA_ERROR_BODY_MAX = 64 * 1024


# An upload's file is sent in blocks of this size, read from its (temporary) file as it goes.
UPLOAD_BLOCK_SIZE = 256 * 1024


# Seconds an upload waits for each block to go out and for Meta's answer: Meta reads a file of
# up to 100 MB before it answers, which takes longer than a message's call.
UPLOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class BusinessAccount:
    id: str
    name: str
    currency: str
    timezone_id: str


@dataclass(frozen=True)
class PhoneNumber:
    id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str  # "GREEN", "YELLOW", "RED", ...; "" when Meta has none
    throughput: str  # Meta's throughput.level: "STANDARD", "HIGH", ...; "" when absent


@dataclass(frozen=True)
class WebhookConfiguration:
    """Where Meta sends a phone number's webhooks: its own override, its WABA's, or the app's
    callback URL, the first one set being the one in force ("" where none is)."""

    phone_number: str
    whatsapp_business_account: str
    application: str

    @property
    def in_force(self) -> str:
        return self.phone_number or self.whatsapp_business_account or self.application


@dataclass(frozen=True)
class MessageTemplate:
    id: str
    name: str
    language: str
    category: str
    status: str
    components: list  # as Meta returns them: a list of dicts


@dataclass(frozen=True)
class MediaInfo:
    """What ``GET /{media_id}`` tells about a media file (one a customer sent, for instance)."""

    id: str
    url: str  # where to download it with the same token; expires after about 5 minutes
    mime_type: str
    sha256: str  # as Meta gives it (hex here, base64 in webhooks); "" when absent
    file_size: int | None  # bytes; None when Meta does not say


class MediaDownload:
    """A media file on its way: iterate for its bytes, in chunks, then close it (or use
    ``with``). Closing early drops the connection; the bytes not read are never fetched.

    ``content_type`` and ``content_length`` are what the server answered (``content_length`` is
    None when it did not say). Errors while reading raise :class:`TemporaryError`.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        content_type: str = "",
        content_length: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.content_type = content_type
        self.content_length = content_length
        self._chunks = iter(chunks)
        self._on_close = on_close
        self.closed = False

    def __iter__(self) -> "MediaDownload":
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        return next(self._chunks)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> "MediaDownload":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _unexpected(what: str) -> GraphError:
    return GraphError(f"Unexpected response from WhatsApp ({what})")


# Meta's answers, read as they come: a blank text is still a text, and anything missing or of
# another shape is a GraphError saying what was expected.
_ANSWER = Rules(
    error=_unexpected,
    absent=(None,),
    required="no text {key!r}",
    not_string="no text {key!r}",
    objects_required="no list of objects in {key!r}",
    not_objects="no list of objects in {key!r}",
    not_item="no list of objects in {key!r}",
)


def media_url_allowed(url: str) -> bool:
    """Whether a media download may go to ``url`` (and so receive the access token).

    Allowed: https on the default port to one of :data:`META_MEDIA_HOSTS`, or the exact origin
    (scheme, host and port) of ``settings.WHATSAPP_GRAPH_URL``. URLs with credentials in them
    are refused. Hosts are compared exactly: no subdomains, no look-alikes.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
        graph = urlsplit(settings.WHATSAPP_GRAPH_URL)
        graph_port = graph.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    defaults = {"https": 443, "http": 80}
    origin = (parts.scheme, parts.hostname, port or defaults.get(parts.scheme))
    if origin == (graph.scheme, graph.hostname, graph_port or defaults.get(graph.scheme)):
        return True
    return parts.scheme == "https" and parts.hostname in META_MEDIA_HOSTS and port in (None, 443)


def _media_info(body: dict) -> MediaInfo:
    size = body.get("file_size")  # a number, or a string of digits in some answers
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    answer = Shape(body, _ANSWER)
    return MediaInfo(
        id=answer.string("id", required=True),
        url=answer.string("url", required=True),
        mime_type=answer.string("mime_type"),
        sha256=answer.string("sha256"),
        file_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def _not_found(error: GraphError) -> NotFound:
    return NotFound(
        error.message,
        code=error.code,
        subcode=error.subcode,
        http_status=error.http_status,
        fbtrace_id=error.fbtrace_id,
        details=error.details,
    )


def _content_length(response: urllib3.BaseHTTPResponse) -> int | None:
    """The body's length in bytes, if the server said and the body is not encoded."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    length = response.headers.get("Content-Length", "").strip()
    return int(length) if encoding == "identity" and length.isdigit() else None


def _close(response: urllib3.BaseHTTPResponse) -> None:
    """Close a streamed answer: a body not read to its end leaves no reusable connection."""
    response.close()
    response.release_conn()


class _Multipart:
    """A multipart/form-data body of text fields and one file, streamed from the file: its
    length is known up front, so the file is never held in memory whole."""

    def __init__(
        self, fields: dict[str, str], file: BinaryIO, *, size: int, filename: str, mime_type: str
    ) -> None:
        boundary = secrets.token_hex(16)
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in fields.items()
        )
        quoted = filename.replace("\\", "_").replace('"', "_").replace("\r", "").replace("\n", "")
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"'
            f"\r\nContent-Type: {mime_type}\r\n\r\n"
        ).encode()
        self._head = head
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._file = file
        self._size = size
        self.length = len(head) + size + len(self._tail)
        self.content_type = f"multipart/form-data; boundary={boundary}"

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        self._file.seek(0)
        left = self._size
        # Exactly the bytes Content-Length announced, never more.
        while left and (block := self._file.read(min(UPLOAD_BLOCK_SIZE, left))):
            left -= len(block)
            yield block
        yield self._tail


def _media_chunks(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    try:
        yield from response.stream(MEDIA_CHUNK_SIZE)
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # broken, timed out or short body
        raise TemporaryError("The connection to WhatsApp broke during the download") from exc
    finally:
        _close(response)


class _Pools:
    """Pooled connections to Meta: a urllib3 pool per origin, reached directly or through the
    proxy that the environment (``HTTPS_PROXY``, ``NO_PROXY`` …) names for its host.

    The environment is read once per origin and kept for the life of the process, like the
    connections themselves: reading it on every call walks all of ``os.environ``. A direct
    origin's pool is called with the request's path: a ``PoolManager`` would parse the URL and
    look the pool up again on every call, a tenth of a sending worker's CPU.
    """

    _MAX_HOSTS = 64  # in tests, one per fake Graph API; in production, one or two

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], urllib3.HTTPConnectionPool | urllib3.ProxyManager] = {}
        self._proxies: dict[str, urllib3.ProxyManager] = {}
        self._lock = threading.Lock()

    def urlopen(self, method: str, url: str, **options: Any) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        route = (parts.scheme, parts.netloc)
        target = self._routes.get(route) or self._open(route, parts.hostname or "")
        if isinstance(target, urllib3.ProxyManager):
            # The manager adds what the proxy needs to each request.
            return target.urlopen(method, url, **options)
        return target.urlopen(method, url[len(f"{parts.scheme}://{parts.netloc}") :], **options)

    def _open(
        self, route: tuple[str, str], host: str
    ) -> urllib3.HTTPConnectionPool | urllib3.ProxyManager:
        scheme, netloc = route
        with self._lock:
            if route in self._routes:
                return self._routes[route]
            if len(self._routes) >= self._MAX_HOSTS:
                self._routes.clear()
            proxies = {} if urllib.request.proxy_bypass(host) else urllib.request.getproxies()
            proxy = proxies.get(scheme)
            if proxy:
                target = self._proxies.get(proxy) or self._proxies.setdefault(
                    proxy, urllib3.ProxyManager(proxy, ca_certs=certifi.where(), **_POOL_OPTIONS)
                )
            else:
                tls = {"ca_certs": certifi.where()} if scheme == "https" else {}
                target = urllib3.connection_from_url(f"{scheme}://{netloc}", **tls, **_POOL_OPTIONS)
            self._routes[route] = target
            return target


# One connection kept per sending thread of the worker (they share the pools): with fewer,
# urllib3 would open extra connections and throw them away after one call each. No retries:
# sending a message is not idempotent, so callers decide what to retry from the typed errors.
# (A Retry object, shared: given False, urllib3 would build one for every call.)
_POOL_OPTIONS = {"maxsize": settings.SEND_THREADS, "retries": Retry(total=False, redirect=False)}


# Shared by all clients so that connections (and their TLS handshakes) to Meta are reused.
_pools = _Pools()


def _node(object_id: str) -> str:
    """An object id as one path segment: a stray "/" or "?" cannot reach another endpoint."""
    if not object_id:
        raise ValueError("A Graph API object id is required.")
    return quote(object_id, safe="")


def _items(body: dict) -> list[dict]:
    return [item.data for item in Shape(body, _ANSWER).objects("data", required=True)]


def _business_account(body: dict) -> BusinessAccount:
    answer = Shape(body, _ANSWER)
    return BusinessAccount(
        id=answer.string("id", required=True),
        name=answer.string("name", required=True),
        currency=answer.string("currency", required=True),
        timezone_id=answer.string("timezone_id", required=True),
    )


def _phone_number(item: dict) -> PhoneNumber:
    throughput = item.get("throughput") or {}
    if not isinstance(throughput, dict):
        raise _unexpected("'throughput' is not an object")
    number = Shape(item, _ANSWER)
    return PhoneNumber(
        id=number.string("id", required=True),
        display_phone_number=number.string("display_phone_number", required=True),
        verified_name=number.string("verified_name", required=True),
        quality_rating=number.string("quality_rating"),
        throughput=Shape(throughput, _ANSWER).string("level"),
    )


def _message_template(item: dict) -> MessageTemplate:
    components = item.get("components", [])
    if not isinstance(components, list):
        raise _unexpected("'components' is not a list")
    template = Shape(item, _ANSWER)
    return MessageTemplate(
        id=template.string("id", required=True),
        name=template.string("name", required=True),
        language=template.string("language", required=True),
        category=template.string("category", required=True),
        status=template.string("status", required=True),
        components=components,
    )


class CloudAPIClient:
    """Calls the Graph API with one business's access token."""

    def __init__(self, access_token: str, *, timeout: float = 10.0) -> None:
        self._access_token = access_token
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(timeout={self._timeout!r})"

    def business_account(self, waba_id: str) -> BusinessAccount:
        body = self._request("GET", _node(waba_id), params={"fields": _BUSINESS_FIELDS})
        return _business_account(body)

    def phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        items = self._paged(f"{_node(waba_id)}/phone_numbers", {"fields": _PHONE_NUMBER_FIELDS})
        return [_phone_number(item) for item in items]

    def message_templates(self, waba_id: str) -> list[MessageTemplate]:
        params = {"fields": _TEMPLATE_FIELDS, "limit": _TEMPLATES_PAGE_SIZE}
        items = self._paged(f"{_node(waba_id)}/message_templates", params)
        return [_message_template(item) for item in items]

    def subscribe_app(self, waba_id: str, *, callback_url: str, verify_token: str) -> None:
        """Subscribe our app to the business's webhooks, delivered to ``callback_url``."""
        body = self._request(
            "POST",
            f"{_node(waba_id)}/subscribed_apps",
            json={"override_callback_uri": callback_url, "verify_token": verify_token},
        )
        if body.get("success") is not True:
            raise _unexpected("the subscription did not report success")

    def granted_permissions(self) -> set[str]:
        """The permissions the token's user granted (``GET /me/permissions``): those whose
        status is "granted", not "declined" or "expired"."""
        items = [Shape(item, _ANSWER) for item in self._paged("me/permissions", {})]
        return {
            item.string("permission", required=True)
            for item in items
            if item.string("status") == "granted"
        }

    def app_id(self) -> str:
        """The id of the Meta app the token belongs to (``GET /app``)."""
        return Shape(self._request("GET", "app", params={"fields": "id"}), _ANSWER).string(
            "id", required=True
        )

    def subscribed_app_ids(self, waba_id: str) -> set[str]:
        """The ids of the apps subscribed to the business's webhooks."""
        items = self._paged(f"{_node(waba_id)}/subscribed_apps", {})
        return {
            Shape(item, _ANSWER).object("whatsapp_business_api_data").string("id", required=True)
            for item in items
        }

    def webhook_configuration(self, phone_number_id: str) -> WebhookConfiguration:
        """Where Meta sends the phone number's webhooks."""
        body = self._request(
            "GET", _node(phone_number_id), params={"fields": "webhook_configuration"}
        )
        config = Shape(body, _ANSWER).object("webhook_configuration")
        return WebhookConfiguration(
            phone_number=config.string("phone_number"),
            whatsapp_business_account=config.string("whatsapp_business_account"),
            application=config.string("application"),
        )

    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> str:
        """Send one message from ``phone_number_id``; the id Meta gave it ("wamid.…").

        ``payload`` is the message in Meta's format, posted as it is: ``{"messaging_product":
        "whatsapp", "to": "4915112345678", "type": "text", "text": {"body": "Hi"}}``. Meta
        accepting it does not mean it was delivered: that comes later, by webhook.

        Called from many worker threads at once: it shares the pooled session and logs only
        failures. Retry on ``error.retryable`` only, and not at once for a :class:`RateLimited`.
        """
        body = self._request("POST", f"{_node(phone_number_id)}/messages", json=payload)
        messages = body.get("messages")
        message = messages[0] if isinstance(messages, list) and messages else None
        wamid = message.get("id") if isinstance(message, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise _unexpected("no message id in 'messages'")
        return wamid

    def upload_media(
        self, phone_number_id: str, file: BinaryIO, *, size: int, mime_type: str, filename: str
    ) -> str:
        """Upload a file for ``phone_number_id`` to send (``POST /{phone_number_id}/media``);
        the media id Meta gave it, usable in sends for 30 days.

        ``file`` is read from its start, ``size`` bytes, as the request goes out. ``mime_type``
        must be the file's real type: Meta checks it against the bytes.
        """
        form = _Multipart(
            {"messaging_product": "whatsapp", "type": mime_type},
            file,
            size=size,
            filename=filename or "file",
            mime_type=mime_type,
        )
        # The same token with the upload's longer timeout (the connections are shared).
        uploader = CloudAPIClient(self._access_token, timeout=max(self._timeout, UPLOAD_TIMEOUT))
        body = uploader._request("POST", f"{_node(phone_number_id)}/media", form=form)
        media_id = body.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise _unexpected("no media 'id'")
        return media_id

    def mark_read(self, phone_number_id: str, wamid: str, *, typing: bool = False) -> None:
        """Mark a message the number received as read (and earlier ones of the conversation,
        as WhatsApp does), with ``typing`` also the typing indicator, which WhatsApp dismisses
        at the next message or after 25 seconds. Retry on ``error.retryable`` only."""
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }
        if typing:
            payload["typing_indicator"] = {"type": "text"}
        body = self._request("POST", f"{_node(phone_number_id)}/messages", json=payload)
        if body.get("success") is not True:
            raise _unexpected("marking as read did not report success")

    def media_info(self, media_id: str) -> MediaInfo:
        """Where to download a media file (a customer's image, document, …) and what it is.

        Raises :class:`NotFound` for a media id Meta does not know (or no longer keeps), or that
        this token may not see.
        """
        try:
            body = self._request("GET", _node(media_id))
        except InvalidParameter as error:
            if error.code == 100 and error.subcode == 33:
                raise _not_found(error) from None
            raise
        return _media_info(body)

    def download(self, url: str) -> MediaDownload:
        """Start downloading the media file at ``url`` (a :class:`MediaInfo`'s): the answer's
        headers have arrived, its body is streamed as the result is iterated. Close it.

        The token is sent only where :func:`media_url_allowed` allows, to ``url`` and to each
        redirect (up to :data:`MEDIA_MAX_REDIRECTS`), which are followed by hand and checked
        the same way: any other URL is a :class:`GraphError` and no request is made. An expired
        URL (HTTP 404 or 410) is :class:`NotFound`: ask :meth:`media_info` for a new one.
        """
        for _ in range(MEDIA_MAX_REDIRECTS + 1):
            response = self._download_step(url)
            location = response.get_redirect_location()
            if location is False:
                return MediaDownload(
                    _media_chunks(response),
                    content_type=response.headers.get("Content-Type", ""),
                    content_length=_content_length(response),
                    on_close=partial(_close, response),
                )
            _close(response)
            url = urljoin(url, location or "")
        raise self._download_failed(_unexpected("too many redirects"), url)

    def _download_step(self, url: str) -> urllib3.BaseHTTPResponse:
        """One request of a download: the response, opened on a 2xx or a redirect."""
        if not media_url_allowed(url):
            raise self._download_failed(_unexpected("a media URL on a host it does not use"), url)
        try:
            # Byte counts and checksums are of the file itself, not of a compressed copy.
            response = self._call("GET", url, headers={"Accept-Encoding": "identity"}, stream=True)
        except GraphError as error:
            raise self._download_failed(error, url) from error.__cause__
        if response.get_redirect_location() is not False or 200 <= response.status < 300:
            return response
        try:
            raw = response.read(_MEDIA_ERROR_BODY_MAX)
        except (OSError, urllib3.exceptions.HTTPError):
            raw = b""  # the status says enough
        finally:
            _close(response)
        try:
            body = json_loads(raw)
        except ValueError:
            body = None
        if response.status < 400:
            raise self._download_failed(_unexpected(f"HTTP {response.status}"), url)
        error = self._error(response.status, body)
        # What Meta's media host answers for an expired URL: a 404, often not in Meta's shape.
        if response.status in (404, 410) and type(error) is InvalidParameter:
            error = _not_found(error)
            if error.code is None:
                error.message = f"The media URL has expired (HTTP {response.status})"
        raise self._download_failed(error, url)

    @staticmethod
    def _download_failed(error: GraphError, url: str) -> GraphError:
        # The host only: a media URL's query is a credential of its own for a few minutes.
        level = logging.INFO if error.retryable else logging.WARNING
        host = urlsplit(url).hostname or "?"
        logger.log(level, "WhatsApp media download from %s failed: %s", host, error)
        return error

    def _paged(self, path: str, params: dict[str, Any]) -> Iterator[dict]:
        """The items of every page of an edge, following Meta's ``after`` cursors."""
        params = dict(params)
        seen: set[str] = set()
        while True:
            body = self._request("GET", path, params=params)
            yield from _items(body)
            paging = body.get("paging")
            # Meta leaves out ``next`` on the last page, though ``cursors.after`` is still there.
            if not isinstance(paging, dict) or "next" not in paging:
                return
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not isinstance(after, str) or after in seen:
                raise _unexpected("paging without a new 'after' cursor")
            seen.add(after)
            params["after"] = after

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        form: _Multipart | None = None,
    ) -> dict[str, Any]:
        """Call ``{WHATSAPP_GRAPH_URL}/{version}/{path}``; the JSON object Meta answered."""
        try:
            body = self._send(method, path, params=params, json=json, form=form)
        except GraphError as exc:
            metrics.graph_call(type(exc).__name__)
            level = logging.INFO if exc.retryable else logging.WARNING
            logger.log(level, "WhatsApp %s /%s failed: %s", method, path, exc)
            raise
        metrics.graph_call("ok")
        return body

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        form: _Multipart | None = None,
    ) -> dict[str, Any]:
        url = f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_API_VERSION}/{path}"
        if params:
            url = f"{url}?{urlencode(params)}"
        if form is not None:
            response = self._call(
                method,
                url,
                body=form,
                headers={"Content-Type": form.content_type, "Content-Length": str(form.length)},
            )
        elif json is None:
            response = self._call(method, url)
        else:
            response = self._call(
                method,
                url,
                body=json_dumps(json, allow_nan=False).encode(),
                headers={"Content-Type": "application/json"},
            )
        try:
            body = json_loads(response.data)
        except ValueError:
            body = None
        if response.status >= 400:
            raise self._error(response.status, body)
        if not 200 <= response.status < 300:
            raise _unexpected(f"HTTP {response.status}")
        if not isinstance(body, dict):
            raise _unexpected("not a JSON object")
        return body

    def _call(
        self,
        method: str,
        url: str,
        *,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """One HTTP request with the token; the answer, whatever its status, read unless
        ``stream``. A failure on the way is a :class:`TemporaryError`."""
        # The token only in this header: never in the URL, so never in a log line.
        headers = {**(headers or {}), "Authorization": f"Bearer {self._access_token}"}
        try:
            return _pools.urlopen(
                method,
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(
                    connect=min(CONNECT_TIMEOUT, self._timeout), read=self._timeout
                ),
                redirect=False,
                preload_content=not stream,
            )
        except ReadTimeoutError as exc:
            raise TemporaryError(
                f"WhatsApp did not answer within {self._timeout:g} seconds"
            ) from exc
        # Refused, timed out connecting, proxy or TLS failure: nothing reached Meta.
        except (ConnectTimeoutError, ProxyError, SSLError) as exc:
            raise TemporaryError("WhatsApp could not be reached") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(
                "The connection to WhatsApp broke before its answer was complete"
            ) from exc

    def _error(self, http_status: int, body: Any) -> GraphError:
        """The typed error for a failed response, with the access token redacted."""
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            # Not Meta's shape: usually a proxy or load balancer in front of the Graph API.
            cls = status_class(http_status)
            return cls(f"WhatsApp answered HTTP {http_status}", http_status=http_status)
        error_data = error.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        code = _int_or_none(error.get("code"))
        return error_class(code, http_status)(
            self._redact(error.get("message") or f"WhatsApp answered HTTP {http_status}"),
            code=code,
            subcode=_int_or_none(error.get("error_subcode")),
            http_status=http_status,
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            details=self._redact(details or ""),
        )

    def _redact(self, text: Any) -> str:
        text = str(text)
        return text.replace(self._access_token, "[token]") if self._access_token else text


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
