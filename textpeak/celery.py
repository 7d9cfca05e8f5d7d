import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpeak.settings")

app = Celery("textpeak")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    """Database connections outlive a task, as they outlive a request: closed when broken or
    older than ``CONN_MAX_AGE`` (settings.CELERY_DB_REUSE_MAX keeps Celery's own fixup from
    closing them after every task)."""
    from django.db import close_old_connections

    close_old_connections()
