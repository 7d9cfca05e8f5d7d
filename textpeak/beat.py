"""When beat's periodic tasks last ran: each stamps the shared cache as it finishes, and
/healthz?detail reads the stamp. A stamp growing old means beat, the broker or the workers
that run its tasks have stopped."""

import time

from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import cache

LAST_RUN_KEY = "textpeak:beat:last-run"


@task_postrun.connect
def _stamp(task=None, **kwargs) -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    if task is not None and task.name in scheduled:
        cache.set(LAST_RUN_KEY, time.time(), timeout=None)


def beat_last_run() -> float | None:
    """The time (``time.time()``) a periodic task last finished; None if none has yet."""
    return cache.get(LAST_RUN_KEY)
