"""``GET /healthz``: is this instance able to serve? Checks the database and the broker.

``GET /healthz?live`` only says the process answers (a liveness probe, and the trivial
endpoint the benchmarks compare against). ``GET /healthz?detail``, for operators only
(``textpeak.lib.operator_access``), adds where work waits: each kind's backlog and its oldest
item's wait, the broker's queues, the workers that answer, and beat's last run, each ``ok`` or
``late``. Only the database and the broker decide the status code, so a late backlog never
takes the web servers out of a load balancer.
"""

import logging
import time

from celery import current_app
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from textpeak import backlog
from textpeak.beat import beat_last_run
from textpeak.lib.operator_access import operator_refusal

logger = logging.getLogger(__name__)


# Beyond these, /healthz?detail says "late": seconds the longest-waiting item of a kind has been
# due (the sweepers enqueue what waits a minute or two again), tasks in a broker queue, and
# seconds since beat's last task (its sweepers run every 30 s).
LATE_AFTER_SECONDS = {"messages": 300, "payloads": 300, "deliveries": 300}
LATE_QUEUE_LENGTH = 10_000
LATE_BEAT_SECONDS = 120
# Workers have this long to answer the broker's ping.
WORKER_PING_SECONDS = 1.0


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _probe(name, check):
    try:
        return check()
    except Exception:
        logger.exception("Health check of the %s failed", name)
        return "unavailable"


def _state(late: bool) -> str:
    return "late" if late else "ok"


def _backlog() -> dict:
    return {
        kind: {
            "count": waiting.count,
            "oldest_seconds": round(waiting.oldest_seconds, 1),
            "state": _state(waiting.oldest_seconds > LATE_AFTER_SECONDS[kind]),
        }
        for kind, waiting in backlog.waiting().items()
    }


def _queues() -> dict | None:
    lengths = backlog.queue_lengths()
    if lengths is None:
        return None
    return {
        name: {"length": length, "state": _state(length > LATE_QUEUE_LENGTH)}
        for name, length in lengths.items()
    }


def _workers() -> dict:
    replies = current_app.control.ping(timeout=WORKER_PING_SECONDS) or []
    seen = sorted(name for reply in replies for name in reply)
    return {"seen": seen, "state": _state(not seen)}


def _beat() -> dict:
    last_run = beat_last_run()
    if last_run is None:
        return {"seconds_ago": None, "state": "late"}
    ago = max(time.time() - last_run, 0.0)
    return {"seconds_ago": round(ago, 1), "state": _state(ago > LATE_BEAT_SECONDS)}


def _detail() -> dict:
    return {
        "backlog": _probe("backlog", _backlog),
        "queues": _probe("queues", _queues),
        "workers": _probe("workers", _workers),
        "beat": _probe("beat", _beat),
    }


@login_not_required
@never_cache
@require_GET
def healthz(request):
    if "live" in request.GET:
        return JsonResponse({"status": "ok"})
    detail = "detail" in request.GET
    if detail and (refusal := operator_refusal(request)):
        return refusal
    checks = {"database": _probe("database", _database), "broker": _probe("broker", _broker)}
    healthy = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if healthy else "degraded", **checks}
    if detail:
        body["detail"] = _detail()
    return JsonResponse(body, status=200 if healthy else 503)
