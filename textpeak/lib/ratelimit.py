"""Rate limits shared by every process, as token buckets: for requests a GCRA (generic cell
rate) bucket per key, refilled continuously; for a sender's messages a bucket refilled with the
limit's tokens at the start of every second of the clock, spent at an even pace through it.

Redis holds the buckets when ``REDIS_URL`` is set; the embedded setup (``make run`` without
Redis) keeps them in files under ``var/ratelimit/`` behind an exclusive file lock, so the web,
worker and beat processes still share one limit. An in-memory bucket would not be shared.

``reserve`` hands out the next free slots of a key: with ``burst`` 1 the slots are exactly
``1 / rate`` seconds apart. Reserving ``count`` slots at once costs one round trip: slot ``i``
is ``wait + i / rate`` away.

``reserve_per_second`` paces sends to a limit counted in the clock's seconds, as "80 messages
per second" is: each second has ``per_second`` tokens (slots), spread evenly over its first
``SLOT_SPAN``; those a second leaves unused are not carried into the next. A slot may still be
used until ``PACE_GUARD`` before its second ends: a send that a busy worker starts a little late
(up to 100 ms for the last slot) still leaves in its own second. A limit met exactly on average
cannot also hold in every sliding one-second window: once send times vary at all, a send that
leaves a little late shares a window with the sends of the next second. Counted per clock
second, it holds: no slot is used before its second begins (the wait is measured from Redis's
answer, which comes after Redis read its clock), and the guard leaves a send ``PACE_GUARD`` of
a second to arrive before its second ends.

``space`` keeps sends to one key (a sender and a recipient: Meta's pair limit) at least an
interval apart, from the windows a batch's sends were planned in: a key's next send may begin
only an interval after the window of its last one closed, so two sends are never closer than
the interval, whenever in their windows they left. A key still in its interval takes nothing and
is told how long it has to wait.

``admit`` lets one request through a limit, taking a key's slots ``RATE_LEASE_SECONDS`` of the
rate at a time (one slot at 100/s, 100 at 10,000/s) and spending them in this process for at
most ``LEASE_LIFETIME``: at a high limit most requests then cost no round trip. The bucket is
charged when slots are taken, so every request let through was counted against the limit (a
process may spend a slot up to 0.1 s after it was counted); slots a process leaves unspent are
lost, which only ever admits fewer.

``one_at_a_time`` holds a key while a block of code runs, so that another process asking for
it meanwhile is told no; a holder that dies lets go after ``seconds``.
"""

import fcntl
import hashlib
import logging
import math
import os
import secrets
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Both scripts read Redis's clock: every process that shares a limit shares its clock.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_GCRA = (
    _NOW
    + """
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
)


_PER_SECOND = (
    _NOW
    + """
local per_second = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local second = math.floor(now)
local position = math.ceil((now - second) / spacing)
local stored = redis.call('GET', KEYS[1])
if stored then
  local s, p = string.match(stored, '^(%d+):(%d+)$')
  if tonumber(s) >= second then second, position = tonumber(s), tonumber(p) end
end
if position >= per_second or now >= second + per_second * spacing then
  second, position = second + 1, 0
end
local wait = math.max(second + position * spacing - now, 0)
if wait > max_wait then return {0, tostring(wait), 0} end
local taken = position + count
local last = second + math.floor(taken / per_second)
local ttl = math.ceil((last + 1 - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d:%d', last, taken % per_second), 'PX', ttl)
return {1, tostring(second - now), position}
"""
)

# One send a key, the window [now + opens, now + closes] of each: taken when the key's interval
# since its last window is over by the time this window opens (less MARGIN: the caller measured
# its windows a moment before Redis read its clock), else the wait until it is, an interval more
# for each send of the key already waiting: a recipient's backlog comes back one at a time.
_SPACE = (
    _NOW
    + """
local interval = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local answers, waiting = {}, {}
for i, key in ipairs(KEYS) do
  local opens = now + tonumber(ARGV[1 + 2 * i])
  local closes = now + tonumber(ARGV[2 + 2 * i])
  local free = tonumber(redis.call('GET', key) or '0')
  if free <= opens - margin then
    local ttl = math.ceil((closes + interval - now) * 1000) + 1000
    redis.call('SET', key, tostring(closes + interval), 'PX', ttl)
    answers[i] = '0'
  else
    local ahead = waiting[key] or 0
    waiting[key] = ahead + 1
    answers[i] = tostring(math.max(free - now, margin) + ahead * interval)
  end
end
return answers
"""
)
# How much earlier than a caller's window Redis's clock may be read, at most.
MARGIN = 0.01

# The part of each second whose sends would not be sure to arrive within it: none leaves then.
PACE_GUARD = 0.05
# The part of each second its slots are spread over. The rest, up to the guard, is room for
# sends that a busy worker starts late: spread to the guard, the last slots of each second had
# no room, and a few ms of delay lost them (1.7% of all slots on a loaded 2-core machine).
SLOT_SPAN = 0.85


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


@dataclass(frozen=True)
class Slots:
    """Slots of a per-second limit, or (not granted) how long until the first free one."""

    granted: bool
    wait: float = 0.0
    # Granted: where the first slot's second starts, in seconds from the answer (negative when
    # it has begun), the first slot's place in that second, and the limit.
    second: float = 0.0
    position: int = 0
    per_second: int = 1

    def window(self, index: int) -> tuple[float, float]:
        """When slot ``index`` may be used, in seconds from the answer: from its moment until
        the guard of its second, so that the guard is left for the send to arrive."""
        seconds, place = divmod(self.position + index, self.per_second)
        start = self.second + seconds
        return start + place * SLOT_SPAN / self.per_second, start + 1 - PACE_GUARD


def reserve_per_second(key: str, *, per_second: int, count: int, max_wait: float) -> Slots:
    """Reserve the next ``count`` slots of ``key``'s ``per_second`` limit, unless the wait for
    the first would exceed ``max_wait``: then nothing is reserved.

    A sender that was idle this second starts at the slot of the moment, not with a burst of
    the second's past slots; a busy sender's slots that a stalled worker left unused are still
    used within their second, so it catches up (the second still holds no more than
    ``per_second``)."""
    spacing = SLOT_SPAN / per_second
    if settings.REDIS_URL:
        try:
            granted, seconds, position = _script(settings.REDIS_URL, _PER_SECOND)(
                keys=[f"textpeak:pace:{key}"], args=[per_second, spacing, max_wait, count]
            )
        except redis.RedisError:
            # As for requests (below): sending paced by this batch alone, from now, beats
            # not sending while Redis is away.
            logger.warning("Rate limiter unavailable; %s paced by each batch alone", key)
            return Slots(granted=True, per_second=per_second)
        # Refused: the wait for the first free slot; granted: where its second starts.
        if not granted:
            return Slots(granted=False, wait=float(seconds))
        return Slots(True, second=float(seconds), position=int(position), per_second=per_second)
    with _file_bucket(f"pace:{key}") as bucket:
        now = time.time()
        second = math.floor(now)
        position = math.ceil((now - second) / spacing)
        stored = bucket.read()
        if stored and int(stored.split(":")[0]) >= second:
            second, position = (int(part) for part in stored.split(":"))
        # A second whose slots are over (its guard has begun) has none left to give.
        if position >= per_second or now >= second + per_second * spacing:
            second, position = second + 1, 0
        wait = max(second + position * spacing - now, 0.0)
        if wait > max_wait:
            return Slots(granted=False, wait=wait)
        last, left = divmod(position + count, per_second)
        bucket.write(f"{second + last}:{left}")
        return Slots(True, second=second - now, position=position, per_second=per_second)


def space(sends: list[tuple[str, float, float]], *, interval: float) -> list[float]:
    """For each send ``(key, opens, closes)``, its window in seconds from now: 0.0 if it may go
    (its key is then held until ``interval`` after the window closes), else the seconds until
    its key is free. The sends of one key are answered in the order given. One round trip."""
    if not sends:
        return []
    if settings.REDIS_URL:
        try:
            answers = _script(settings.REDIS_URL, _SPACE)(
                keys=[f"textpeak:space:{key}" for key, _, _ in sends],
                args=[interval, MARGIN, *(edge for _, *window in sends for edge in window)],
            )
        except redis.RedisError:
            # As for the senders' limits: Meta refuses what comes too close (a retried
            # error), which beats not sending while Redis is away.
            logger.warning("Rate limiter unavailable; sends not spaced per recipient")
            return [0.0] * len(sends)
        return [float(answer) for answer in answers]
    waiting: Counter[str] = Counter()
    answers = []
    for key, opens, closes in sends:
        wait = _space_file(key, opens, closes, interval)
        if wait:
            wait += waiting[key] * interval
            waiting[key] += 1
        answers.append(wait)
    return answers


def _space_file(key: str, opens: float, closes: float, interval: float) -> float:
    with _file_bucket(f"space:{key}") as bucket:
        stored = bucket.read()
        now = time.time()
        free = float(stored) if stored else 0.0
        if free > now + opens - MARGIN:
            return max(free - now, MARGIN)
        bucket.write(repr(now + closes + interval))
        return 0.0


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


# Lets go of a hold only if it is still the holder's: one that outlived its seconds may have
# been taken by another since.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""


@contextmanager
def one_at_a_time(key: str, *, seconds: float):
    """Hold ``key`` for the block (it gets True), unless another holds it (False)."""
    holder = secrets.token_hex(8)
    held = _take(key, holder, seconds)
    try:
        yield held
    finally:
        if held:
            _let_go(key, holder)


def _take(key: str, holder: str, seconds: float) -> bool:
    if settings.REDIS_URL:
        try:
            return bool(
                _redis(settings.REDIS_URL).set(
                    f"textpeak:hold:{key}", holder, nx=True, px=math.ceil(seconds * 1000)
                )
            )
        except redis.RedisError:
            # As for rate limits: two at a time beats none while Redis is away.
            logger.warning("Rate limiter unavailable; %s not held", key)
            return True
    with _file_bucket(f"hold:{key}") as bucket:
        stored = bucket.read().split()
        now = time.time()
        if stored and float(stored[1]) > now:
            return False
        bucket.write(f"{holder} {now + seconds!r}")
        return True


def _let_go(key: str, holder: str) -> None:
    if settings.REDIS_URL:
        try:
            _script(settings.REDIS_URL, _RELEASE)(keys=[f"textpeak:hold:{key}"], args=[holder])
        except redis.RedisError:
            logger.warning("Rate limiter unavailable; %s held until it expires", key)
        return
    with _file_bucket(f"hold:{key}") as bucket:
        if bucket.read().split()[:1] == [holder]:
            bucket.write("")


@lru_cache(maxsize=1)
def _redis(url: str) -> "redis.Redis":
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@lru_cache(maxsize=8)
def _script(url: str, source: str):
    return _redis(url).register_script(source)


def _reserve_redis(
    key: str, interval: float, tolerance: float, max_wait: float, count: int
) -> Slot:
    try:
        granted, wait = _script(settings.REDIS_URL, _GCRA)(
            keys=[f"textpeak:rate:{key}"], args=[interval, tolerance, max_wait, count]
        )
    except redis.RedisError:
        # Refusing all traffic because the limiter is unreachable would be worse than a
        # moment without a limit (workers cannot fetch tasks from a Redis that is down).
        logger.warning("Rate limiter unavailable; %s not limited", key)
        return Slot(granted=True, wait=0.0)
    return Slot(granted=bool(granted), wait=float(wait))


class _File:
    def __init__(self, handle):
        self._handle = handle

    def read(self) -> str:
        self._handle.seek(0)
        return self._handle.read().strip()

    def write(self, text: str) -> None:
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(text)


@contextmanager
def _file_bucket(key: str):
    """A key's state in a file of its own, held under an exclusive lock."""
    folder = Path(settings.VAR_DIR) / "ratelimit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.sha256(key.encode()).hexdigest()[:32]
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield _File(handle)


def _reserve_file(key: str, interval: float, tolerance: float, max_wait: float, count: int) -> Slot:
    with _file_bucket(key) as bucket:
        stored = bucket.read()
        now = time.time()
        tat = max(float(stored) if stored else 0.0, now)
        wait = max(tat - tolerance - now, 0.0)
        if wait > max_wait:
            return Slot(granted=False, wait=wait)
        bucket.write(repr(tat + interval * count))
        return Slot(granted=True, wait=wait)
