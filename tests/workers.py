"""A real Celery worker in a thread of the test process, on the suite's Redis broker."""

import threading
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.db import connections

from textpeak.celery import app as celery_app

_closed = threading.Event()


@celery_app.task
def _close_database_connections():
    connections.close_all()
    _closed.set()


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
