"""A real Celery worker in a thread of the test process, on the suite's Redis broker."""

import threading
import time
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.db import connections

from textpeak.celery import app as celery_app

_closed = threading.Event()
_reached: set[str] = set()


@celery_app.task
def _close_database_connections():
    connections.close_all()
    _closed.set()


@celery_app.task
def _reach(queue: str):
    _reached.add(queue)


def wait_for_queued_tasks(seconds: float = 15) -> None:
    """Until the running worker has run every task queued before this call: it takes each
    queue's tasks in order, so a task queued now on every queue runs after them."""
    queues = {queue.name for queue in celery_app.conf.task_queues}
    _reached.clear()
    for queue in queues:
        _reach.apply_async((queue,), queue=queue)
    deadline = time.monotonic() + seconds
    while not queues <= _reached:
        assert time.monotonic() < deadline, "the worker did not run its queued tasks"
        time.sleep(0.01)


@contextmanager
def running_worker():
    """A worker for the ``with`` block. It keeps its database connections from task to task
    as production workers do, so its last task closes them: the test database cannot be
    dropped at the end of the run while they are open."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield
        _closed.clear()
        _close_database_connections.delay()
        _closed.wait(10)
