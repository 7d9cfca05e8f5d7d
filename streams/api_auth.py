"""Authentication of the stream APIs under ``/api/``: the stream token, then the stream's
IP ACL, its status, the account's access to the stream type, and its request rate.

The token is looked up by its keyed hash (one indexed query, see ``streams.tokens``), and the
stream found is kept a few seconds in the process (``API_CACHE_SECONDS``): a disabled,
regenerated or deleted token stops working within them. The address is the connection's
(``X-Forwarded-For`` only from ``TRUSTED_PROXIES``). Every refusal is a JSON ``{"detail": …}``
the client can show as it is.
"""

import ipaddress
import math

from django.conf import settings
from django.http import JsonResponse

from streams import networks, tokens, types
from streams.models import Stream
from textpeak import logcontext
from textpeak.accounts import beta
from textpeak.lib import misses, ratelimit
from textpeak.lib.client_ip import client_ip
from textpeak.lib.local_cache import LocalCache

API_PREFIX = "/api/"
# The API's documentation is public; everything else under /api/ needs a stream token.
PUBLIC_PATHS = ("/api/openapi.json", "/api/docs")
_streams = LocalCache()
_access = LocalCache()
# The misses of unknown tokens, counted per address (textpeak.lib.misses).
MISSES = "api-token"


def _refuse(detail: str, status: int = 403, **headers) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers)


def _guessing(wait: int) -> JsonResponse:
    return _refuse(
        f"Too many requests with an unknown token: retry after {wait} s",
        status=429,
        **{"Retry-After": str(wait)},
    )


def _token(request) -> str:
    value = request.headers.get("Authorization", "").strip()
    scheme, _, rest = value.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value


def _well_formed(token: str) -> bool:
    return token.startswith(tokens.PREFIX) and len(token) <= 200


def _find_stream(token: str) -> Stream | None:
    # Kept by the token's keyed hash, not the token.
    return _streams.get(tokens.token_hash(token), lambda: _lookup(token))


def _lookup(token: str) -> Stream | None:
    found = list(
        Stream.objects.filter(token_hash__in=tokens.token_hashes(token), deleted_at__isnull=True)[
            :1
        ]
    )
    stream = found[0] if found else None
    # The lookup matched a hash; comparing it again in constant time costs nothing.
    if stream is None or not tokens.token_matches(token, stream.token_hash):
        return None
    return stream


def _ip_allowed(stream: Stream, request) -> bool:
    if not stream.ip_acl_enabled:
        return True
    try:
        ip = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return networks.allows(stream.allowed_networks, ip)


def _has_access(stream: Stream) -> bool:
    stream_type = types.find(stream.type)
    if stream_type is None:
        return False
    if not stream_type.beta_feature:
        return True
    return _access.get(
        (stream.account_id, stream_type.beta_feature),
        lambda: beta.has_access(account=stream.account, feature=stream_type.beta_feature),
    )


class StreamAPIMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(API_PREFIX) or path.startswith(PUBLIC_PATHS):
            return self.get_response(request)
        token = _token(request)
        # Only a well-formed token is looked up, so only it counts as a guess.
        if not _well_formed(token):
            return _refuse("Not authenticated")
        if wait := misses.blocked(request, kind=MISSES):
            return _guessing(wait)
        stream = _find_stream(token)
        if stream is None:
            wait = misses.missed(request, kind=MISSES)
            return _guessing(wait) if wait else _refuse("Not authenticated")
        logcontext.bind(stream_uid=stream.uid)
        if not _ip_allowed(stream, request):
            return _refuse("IP address not allowed")
        if stream.status == Stream.Status.DISABLED:
            return _refuse("Stream is disabled")
        if stream.status != Stream.Status.READY:
            return _refuse("Stream is not ready: finish its setup in the Streams API page")
        if not _has_access(stream):
            return _refuse("This account does not have access to this stream type")
        rate = settings.STREAM_API_REQUESTS_PER_SECOND
        slot = ratelimit.admit(f"stream-api:{stream.pk}", rate=rate, burst=rate)
        if not slot.granted:
            return _refuse(
                f"Too many requests: this stream accepts {rate} requests per second",
                status=429,
                **{"Retry-After": str(max(1, math.ceil(slot.wait)))},
            )
        request.stream = stream
        return self.get_response(request)
