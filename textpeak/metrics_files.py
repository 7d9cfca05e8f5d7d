"""The files of prometheus_client's multiprocess mode, in ``PROMETHEUS_MULTIPROC_DIR``: each
process writes its own (``<kind>_<pid>.db``); those of ended processes are removed when a group
of processes (gunicorn, a Celery worker) starts.

Imported only once the settings have set the folder in the environment: prometheus_client
chooses between its single- and multiprocess modes when it is first imported.
"""

import os
from pathlib import Path

from django.conf import settings
from prometheus_client import multiprocess


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale() -> list[Path]:
    """Remove the files of processes no longer running on this machine, and return them. Their
    counts leave the totals, which Prometheus reads as a counter reset, as after a restart;
    without this, every process that ever ran would be read on every scrape. The folder is this
    machine's: a process id says nothing about another machine's processes."""
    removed = []
    for path in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def process_ended(pid: int) -> None:
    """A process of the group ended: its live gauges go (its counters stay in the totals)."""
    multiprocess.mark_process_dead(pid, str(settings.PROMETHEUS_MULTIPROC_DIR))
