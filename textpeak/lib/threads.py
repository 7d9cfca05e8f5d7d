"""Threads a worker process keeps for its I/O-bound batches (sends, webhook deliveries).

A batch of a hundred calls used to start its own threads and end them when it was done:
starting a hundred threads every batch was about a twentieth of a sending worker's CPU.
"""

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_lock = threading.Lock()
# Threads do not survive a fork: a forked worker starts its own.
os.register_at_fork(after_in_child=_pools.clear)


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get((name, size))
        if pool is None:
            pool = _pools[name, size] = ThreadPoolExecutor(size, thread_name_prefix=name)
    return pool


def run_each(name: str, size: int, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``work(item)`` for every item, at most ``size`` at a time, on threads this process keeps
    under ``name``; the results in the items' order."""
    return list(_pool(name, size).map(work, items))


def run_in_groups(
    name: str, size: int, work: Callable[[T], R], items: Iterable[T], *, seconds: float
) -> Iterator[list[R]]:
    """``work(item)`` for every item, as ``run_each`` does, handing back the results as they
    come: each group holds the results that finished within ``seconds`` of its first, so the
    caller can record what is done while the rest is still running."""
    pending = {_pool(name, size).submit(work, item) for item in items}
    group: list[R] = []
    opened = 0.0
    while pending:
        timeout = max(0.0, opened + seconds - time.monotonic()) if group else None
        done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        if done and not group:
            opened = time.monotonic()
        group += [future.result() for future in done]
        if group and (not pending or time.monotonic() >= opened + seconds):
            yield group
            group = []
