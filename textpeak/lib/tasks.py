"""Handing work to Celery once the rows it needs are committed.

Publishing one task costs more than the API request that asks for it (Celery and kombu build a
message and a Redis client each time: about 0.35 ms of CPU). So tasks that take a list of row
ids are coalesced, from one thread per process: at most one publish per task every
``settings.TASK_COALESCE_SECONDS`` (50 ms). Ids that come a window or more after the last
publish go out at once; those that come sooner go out together when the window closes. A
trickle waits for nothing, and a burst shares a publish. Small tasks cost the workers little:
the first to run claims what else is due on its stream or webhook (``outbox.claim_with_more``),
and the rest find their rows taken. Ids in hand when a process dies
are not lost: their rows are committed and the sweepers (``outbox_sweep``, ``payloads_sweep``,
``deliveries_sweep``) enqueue them again.

The thread publishes each task with the log ids (``textpeak.logcontext``) of the requests or
tasks its ids came from, taken as they were handed over: those ids when they all came from one,
none when from several (each row's own lines still name it).
"""

import logging
import math
import os
import threading
import time
from functools import partial

from celery import Task
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from textpeak import logcontext

logger = logging.getLogger(__name__)


def _publish(task: Task, args: tuple, countdown: float | None) -> None:
    try:
        task.apply_async(args=args, countdown=countdown, retry=False)
    except OperationalError:
        # The row is already committed: the periodic sweeper for this work will pick it up.
        logger.warning("Broker unavailable; %s%r left for the sweeper", task.name, args)


def enqueue_on_commit(task: Task, *args, countdown: float | None = None) -> None:
    """Enqueue ``task(*args)`` after the current transaction commits (at once outside one),
    to run ``countdown`` seconds later if given."""
    transaction.on_commit(partial(_publish, task, args, countdown or None))


def _publish_ids(task: Task, ids: list, batch_size: int, countdown: float | None) -> None:
    for start in range(0, len(ids), batch_size):
        _publish(task, (ids[start : start + batch_size],), countdown)


class Coalescer:
    """Publishes the ids handed to it from a thread of its own, coalescing them as the module
    docstring says."""

    def __init__(self):
        self._reset()
        # A forked child (a web or Celery worker process) starts with its own thread and ids.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple, tuple] = {}
        self._ready = threading.Event()
        self._thread = None
        self._published_at = -math.inf

    def add(self, task: Task, ids: list, batch_size: int, countdown: float | None) -> None:
        # Keyed by the task's identity: hashing a shared_task proxy looks the task up in the
        # app on every call, a few per cent of a send request.
        key = (id(task), batch_size, countdown)
        handed = (logcontext.current(), ids)
        with self._lock:
            self._pending.setdefault(key, (task, batch_size, countdown, []))[3].append(handed)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tasks", daemon=True)
                self._thread.start()
        self._ready.set()

    def _run(self) -> None:
        while True:
            self._ready.wait()
            # At most one publish a window: ids that come sooner wait for the rest of it.
            wait = self._published_at + settings.TASK_COALESCE_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._ready.clear()
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                continue
            self._published_at = time.monotonic()
            for task, batch_size, countdown, handed in pending.values():
                try:
                    for ids, log_ids in _batches(handed, batch_size):
                        token = logcontext.start(log_ids)
                        try:
                            _publish(task, (ids,), countdown)
                        finally:
                            logcontext.end(token)
                except Exception:
                    logger.exception("Publishing %s failed; left for the sweeper", task.name)


def _batches(handed: list[tuple[dict, list]], batch_size: int):
    """The ids handed over, ``batch_size`` at most a batch, each batch with the log ids of
    where its ids came from if they came from one place, else with none."""
    batch, sources = [], []
    for log_ids, ids in handed:
        start = 0
        while start < len(ids):
            taken = ids[start : start + batch_size - len(batch)]
            batch += taken
            start += len(taken)
            if log_ids not in sources:
                sources.append(log_ids)
            if len(batch) == batch_size:
                yield batch, sources[0] if len(sources) == 1 else {}
                batch, sources = [], []
    if batch:
        yield batch, sources[0] if len(sources) == 1 else {}


coalescer = Coalescer()


def enqueue_ids_on_commit(
    task: Task, ids: list, *, batch_size: int, countdown: float | None = None
) -> None:
    """Enqueue ``task(ids)``, at most ``batch_size`` ids a task, after the current transaction
    commits; coalesced with other ids for the same task unless ``TASK_COALESCE_SECONDS`` is 0
    (the tests, which look at each task as it is published)."""
    if not ids:
        return
    countdown = countdown or None
    if settings.TASK_COALESCE_SECONDS > 0:
        transaction.on_commit(partial(coalescer.add, task, list(ids), batch_size, countdown))
    else:
        transaction.on_commit(partial(_publish_ids, task, list(ids), batch_size, countdown))
