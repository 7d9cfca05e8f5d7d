import os

from celery import Celery
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)

import textpeak.beat  # noqa: F401  (beat's tasks stamp their last run as they finish)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpeak.settings")

app = Celery("textpeak")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """Database connections outlive a task, as they outlive a request: closed when broken or
    older than ``CONN_MAX_AGE`` (settings.CELERY_DB_REUSE_MAX keeps Celery's own fixup from
    closing them after every task)."""
    from django.db import close_old_connections

    # A task run eagerly (``apply()``) runs in its caller's transaction, which must stay open.
    if task is not None and task.request.is_eager:
        return
    close_old_connections()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _close_connections(**kwargs) -> None:
    """A worker that stops closes the connections it kept."""
    from django.db import connections

    connections.close_all()


@worker_init.connect
def _forget_dead_processes_metrics(**kwargs) -> None:
    """A worker starting drops the metric files of this machine's processes that have ended,
    before its own processes start writing theirs."""
    from textpeak import metrics_files

    metrics_files.remove_stale()


@worker_process_shutdown.connect
def _forget_this_process_gauges(**kwargs) -> None:
    from textpeak import metrics_files

    metrics_files.process_ended(os.getpid())
