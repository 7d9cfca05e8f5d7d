"""gunicorn's hooks for the metrics files: ``gunicorn -c python:textpeak.gunicorn``.

The master reads the Django settings first (not the apps: the workers load those), which point
prometheus_client at ``PROMETHEUS_MULTIPROC_DIR`` before anything imports it.
"""

import os

from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpeak.settings")
settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018  (loads the settings)

from textpeak import metrics_files  # noqa: E402


def on_starting(server) -> None:
    """Before the workers start: the files of the processes that have ended go."""
    metrics_files.remove_stale()


def child_exit(server, worker) -> None:
    metrics_files.process_ended(worker.pid)
