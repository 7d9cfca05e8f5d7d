"""Refusing addresses that guess: one whose lookups keep missing (stream tokens, callback ids)
is refused for a while, without a database query per guess.

Misses are counted per client address (an IPv6 address with its /64, which one host usually
has whole) in the shared rate-limit store (``textpeak.lib.ratelimit``: Redis, or files in the
embedded setup), so every web process counts them together. An address may miss
``UNKNOWN_KEY_MISS_LIMIT`` times at once, and its misses are forgotten at that many per
``UNKNOWN_KEY_WINDOW_SECONDS``: all of them after a quiet window.

Only a miss costs the round trip to the store; a request whose key is found pays nothing. The
miss past the limit is refused, and this process notes the address as blocked until the
store says a miss is allowed again: until then ``blocked`` refuses the address before any
lookup, from memory (no round trip, no query). A process that has not seen the address yet
learns of the block at its first miss from it, so a guesser costs each process one query per
block, not one per guess. Asking the shared store before every lookup instead would cost
every request, the known ones too, a round trip.
"""

import ipaddress
import math
import os
import threading
import time

from django.conf import settings
from django.http import HttpRequest

from textpeak.lib import ratelimit
from textpeak.lib.client_ip import client_ip

# A bound on memory, as for LocalCache: a process noting this many blocks starts afresh.
MAX_BLOCKED = 10_000

# (kind, address) → when, on this process's monotonic clock, the block ends.
_blocked: dict[tuple[str, str], float] = {}
_lock = threading.Lock()
os.register_at_fork(after_in_child=_blocked.clear)


def _address(request: HttpRequest) -> str:
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def blocked(request: HttpRequest, *, kind: str) -> int:
    """Seconds until ``request``'s address may be looked up again for ``kind``; 0 now."""
    # What every request pays while nobody is blocked: no address is even worked out.
    if not _blocked:
        return 0
    key = (kind, _address(request))
    with _lock:
        until = _blocked.get(key)
        if until is None:
            return 0
        left = until - time.monotonic()
        if left <= 0:
            del _blocked[key]
            return 0
    return max(1, math.ceil(left))


def missed(request: HttpRequest, *, kind: str) -> int:
    """Count a lookup of ``kind`` from ``request``'s address that found nothing: the seconds
    the address is refused from now on, or 0 while it is within the limit."""
    address = _address(request)
    limit = settings.UNKNOWN_KEY_MISS_LIMIT
    slot = ratelimit.reserve(
        f"misses:{kind}:{address}", rate=limit / settings.UNKNOWN_KEY_WINDOW_SECONDS, burst=limit
    )
    if slot.granted:
        return 0
    with _lock:
        if len(_blocked) >= MAX_BLOCKED:
            _blocked.clear()
        _blocked[(kind, address)] = time.monotonic() + slot.wait
    return max(1, math.ceil(slot.wait))


def forget() -> None:
    """Forget the blocks this process noted (the test suite, and a test's other process)."""
    with _lock:
        _blocked.clear()
