import os

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)

import textpeak.beat  # noqa: F401  (beat's tasks stamp their last run as they finish)
from textpeak import logcontext

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


# The message header that carries the publisher's log ids to the task.
LOG_IDS_HEADER = "log_ids"
_log_tokens = {}


@before_task_publish.connect
def _send_log_ids(headers=None, **kwargs) -> None:
    """A task's lines carry the request id and stream uid of the work that published it; the
    message uuids are its rows', which its lines name one by one."""
    ids = logcontext.current()
    ids.pop("message_uuid", None)
    if ids and headers is not None:
        headers[LOG_IDS_HEADER] = ids


@task_prerun.connect
def _start_log_ids(task_id=None, task=None, **kwargs) -> None:
    # A task run eagerly (``apply()``) is part of its caller's work, and keeps its ids.
    if task is None or task.request.is_eager:
        return
    _log_tokens[task_id] = logcontext.start(getattr(task.request, LOG_IDS_HEADER, None) or {})


@task_postrun.connect
def _end_log_ids(task_id=None, **kwargs) -> None:
    token = _log_tokens.pop(task_id, None)
    if token is not None:
        logcontext.end(token)


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
