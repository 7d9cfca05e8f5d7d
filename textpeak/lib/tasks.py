"""Handing work to Celery once the rows it needs are committed."""

import logging
from functools import partial

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

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
