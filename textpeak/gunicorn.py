"""gunicorn's config: ``gunicorn -c python:textpeak.gunicorn``.

- The metrics files: the master reads the Django settings first (not the apps: the workers load
  those), which point prometheus_client at ``PROMETHEUS_MULTIPROC_DIR`` before anything imports
  it; the files of ended workers go.
- The access log: gunicorn's default line, but with a callback URL's key hidden
  (``whatsapp.inbound.paths``) and the request's id (``X-Request-ID``) at the end, which the
  app's own lines about it carry too.
"""

import os

from django.conf import settings
from gunicorn.glogging import Logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpeak.settings")
settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018  (loads the settings)

from textpeak import metrics_files  # noqa: E402
from whatsapp.inbound.paths import hide_key  # noqa: E402


def on_starting(server) -> None:
    """Before the workers start: the files of the processes that have ended go."""
    metrics_files.remove_stale()


def child_exit(server, worker) -> None:
    metrics_files.process_ended(worker.pid)


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = hide_key(atoms["r"])
        atoms["U"] = hide_key(atoms["U"] or "")
        return atoms


# The settings gunicorn reads from this module.
accesslog = "-"
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)
logger_class = AccessLogger
