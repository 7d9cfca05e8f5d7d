"""Values kept a few seconds in this process's memory.

For what the API's hot paths read on every request and that changes rarely (the stream a
token names, an account's access, a stream's senders and templates): a shared cache would cost
a network round trip per read, this costs none. The price is that a change reaches every
process only when the entries expire: ``settings.API_CACHE_SECONDS`` (0 turns it off).
"""

import time
import weakref
from collections.abc import Callable, Hashable

from django.conf import settings


class LocalCache:
    # A bound on memory: a process that has seen this many keys starts afresh.
    MAX_ENTRIES = 10_000

    _instances = weakref.WeakSet()

    def __init__(self):
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._instances.add(self)

    def get(self, key: Hashable, compute: Callable[[], object]) -> object:
        """The value kept for ``key``, or ``compute()``'s. None is not kept: what was not found
        (an unknown token, a webhook not set up yet) may exist a moment later, and unknown keys
        must not crowd out known ones."""
        seconds = settings.API_CACHE_SECONDS
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = compute()
        if seconds > 0 and value is not None:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + seconds, value)
        return value

    @classmethod
    def clear_all(cls) -> None:
        """Forget every process-local value (the test suite, where database ids repeat)."""
        for instance in cls._instances:
            instance._entries.clear()
