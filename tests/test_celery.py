"""The Celery app's database connections (``textpeak/celery.py``): kept between tasks as
between requests, and never closed under a caller's transaction."""

import time

import pytest
from celery.signals import worker_process_shutdown
from django.db import connection

from textpeak.accounts.models import BetaAccessRequest
from textpeak.celery import app as celery_app

_connections = []


@celery_app.task
def _note_database_connection():
    connection.ensure_connection()
    _connections.append(connection.connection)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_one_task_to_the_next(worker):
    _connections.clear()
    _note_database_connection.delay()
    _note_database_connection.delay()
    deadline = time.monotonic() + 15
    while len(_connections) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    first, second = _connections[:2]
    assert second is first


@pytest.mark.django_db
def test_a_task_run_eagerly_leaves_its_callers_transaction_open():
    _note_database_connection.apply()
    assert BetaAccessRequest.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_that_stops_closes_its_database_connection():
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes SQLite's in-memory test database")
    connection.ensure_connection()
    worker_process_shutdown.send(sender=None)
    assert connection.connection is None
