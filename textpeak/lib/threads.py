"""Threads a worker process keeps for its I/O-bound batches (sends, webhook deliveries).

A batch of a hundred calls used to start its own threads and end them when it was done:
starting a hundred threads every batch was about a twentieth of a sending worker's CPU.
"""

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_lock = threading.Lock()
# Threads do not survive a fork: a forked worker starts its own.
os.register_at_fork(after_in_child=_pools.clear)


def run_each(name: str, size: int, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``work(item)`` for every item, at most ``size`` at a time, on threads this process keeps
    under ``name``; the results in the items' order."""
    with _lock:
        pool = _pools.get((name, size))
        if pool is None:
            pool = _pools[name, size] = ThreadPoolExecutor(size, thread_name_prefix=name)
    return list(pool.map(work, items))
