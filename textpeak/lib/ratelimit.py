"""Rate limits shared by every process: a GCRA (generic cell rate) bucket per key.

Redis holds the buckets when ``REDIS_URL`` is set; the embedded setup (``make run`` without
Redis) keeps them in files under ``var/ratelimit/`` behind an exclusive file lock, so the web,
worker and beat processes still share one limit. An in-memory bucket would not be shared.

``reserve`` hands out the next free slots of a key: with ``burst`` 1 the slots are exactly
``1 / rate`` seconds apart, so "80 per second" is never exceeded in any second. Reserving
``count`` slots at once costs one round trip: slot ``i`` is ``wait + i / rate`` away.

``admit`` lets one request through a limit, taking a key's slots ``RATE_LEASE_SECONDS`` of the
rate at a time (one slot at 100/s, 100 at 10,000/s) and spending them in this process for at
most ``LEASE_LIFETIME``: at a high limit most requests then cost no round trip. The bucket is
charged when slots are taken, so every request let through was counted against the limit (a
process may spend a slot up to 0.1 s after it was counted); slots a process leaves unspent are
lost, which only ever admits fewer.
"""

import fcntl
import hashlib
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, tostring(wait)} end
local ttl = math.ceil((tat + interval * count - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval * count), 'PX', ttl)
return {1, tostring(wait)}
"""


@dataclass(frozen=True)
class Slot:
    granted: bool
    # Granted: how long to wait before using the slot. Refused: how long until one is free.
    wait: float


def reserve(
    key: str, *, rate: float, burst: int = 1, max_wait: float = 0.0, count: int = 1
) -> Slot:
    """Reserve the next ``count`` slots of ``key`` (``rate`` per second, ``burst`` at once),
    unless the wait for the first would exceed ``max_wait``: then nothing is reserved."""
    interval = 1.0 / rate
    tolerance = (burst - 1) * interval
    if settings.REDIS_URL:
        return _reserve_redis(key, interval, tolerance, max_wait, count)
    return _reserve_file(key, interval, tolerance, max_wait, count)


LEASE_LIFETIME = 0.1
# A bound on memory, as for LocalCache: a process holding this many leases drops them all.
MAX_LEASES = 10_000

# Slots this process took and has not spent yet: key → (slots left, usable until).
_leases: dict[str, tuple[int, float]] = {}
_leases_lock = threading.Lock()
# A forked process (a gunicorn worker) must not spend the slots its parent took.
os.register_at_fork(after_in_child=_leases.clear)


def admit(key: str, *, rate: float, burst: int = 1) -> Slot:
    """Let one request through ``key``'s limit now, or say how long until one may pass."""
    now = time.monotonic()
    with _leases_lock:
        left, until = _leases.get(key, (0, 0.0))
        if left and now < until:
            _leases[key] = (left - 1, until)
            return Slot(granted=True, wait=0.0)
    size = min(max(1, math.floor(rate * settings.RATE_LEASE_SECONDS)), burst)
    slot = reserve(key, rate=rate, burst=burst, count=size)
    if slot.granted and size > 1:
        with _leases_lock:
            if len(_leases) >= MAX_LEASES:
                _leases.clear()
            _leases[key] = (size - 1, now + LEASE_LIFETIME)
    return slot


def drop_leases() -> None:
    """Forget the slots this process holds (the test suite, where database ids repeat)."""
    with _leases_lock:
        _leases.clear()


@lru_cache(maxsize=1)
def _redis(url: str) -> "redis.Redis":
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@lru_cache(maxsize=1)
def _script(url: str):
    return _redis(url).register_script(_GCRA)


def _reserve_redis(
    key: str, interval: float, tolerance: float, max_wait: float, count: int
) -> Slot:
    try:
        granted, wait = _script(settings.REDIS_URL)(
            keys=[f"textpeak:rate:{key}"], args=[interval, tolerance, max_wait, count]
        )
    except redis.RedisError:
        # Refusing all traffic because the limiter is unreachable would be worse than a
        # moment without a limit (workers cannot fetch tasks from a Redis that is down).
        logger.warning("Rate limiter unavailable; %s not limited", key)
        return Slot(granted=True, wait=0.0)
    return Slot(granted=bool(granted), wait=float(wait))


def _reserve_file(key: str, interval: float, tolerance: float, max_wait: float, count: int) -> Slot:
    folder = Path(settings.VAR_DIR) / "ratelimit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.sha256(key.encode()).hexdigest()[:32]
    with open(path, "a+") as bucket:
        fcntl.flock(bucket, fcntl.LOCK_EX)
        bucket.seek(0)
        stored = bucket.read().strip()
        now = time.time()
        tat = max(float(stored) if stored else 0.0, now)
        wait = max(tat - tolerance - now, 0.0)
        if wait > max_wait:
            return Slot(granted=False, wait=wait)
        bucket.seek(0)
        bucket.truncate()
        bucket.write(repr(tat + interval * count))
        return Slot(granted=True, wait=wait)
