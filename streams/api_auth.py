"""Authentication of the stream APIs under ``/api/``: the stream token, then the stream's
IP ACL, its status, the account's access to the stream type, and its request rate.

The token is looked up by its keyed hash (one indexed query, see ``streams.tokens``), as the
stream's token or as the old one a Regenerate kept working for a while, and the stream found is
kept a few seconds in the process (``API_CACHE_SECONDS``): a disabled, regenerated or deleted
token stops working within them; an old token's expiry is checked on every request. Either
token gets the same answers, and an old token past its expiry the unknown token's. The address
is the connection's (``X-Forwarded-For`` only from ``TRUSTED_PROXIES``). Every refusal is a
JSON ``{"detail": …}`` the client can show as it is.
"""

import ipaddress
import math

from django.conf import settings
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone

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
    stream = _streams.get(tokens.token_hash(token), lambda: _lookup(token))
    if stream is None or not _accepts(stream, token):
        return None
    return stream


def _lookup(token: str) -> Stream | None:
    hashes = tokens.token_hashes(token)
    # One query, each side answered by its unique index.
    found = list(
        Stream.objects.filter(
            Q(token_hash__in=hashes)
            | Q(old_token_hash__in=hashes, old_token_expires_at__gt=timezone.now()),
            deleted_at__isnull=True,
        )[:1]
    )
    return found[0] if found else None


def _accepts(stream: Stream, token: str) -> bool:
    """The token is the stream's, or its old one still accepted (checked again for a cached
    stream, whose old token may have expired since). Both are compared in constant time, and
    both always, so the time taken does not tell which one matched."""
    current = tokens.token_matches(token, stream.token_hash or "")
    old = tokens.token_matches(token, stream.old_token_hash or "")
    return current | (old & stream.old_token_works)


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
