"""``GET /healthz``: is this instance able to serve? Checks the database and the broker.

``GET /healthz?live`` only says the process answers (a liveness probe, and the trivial
endpoint the benchmarks compare against)."""

import logging

from celery import current_app
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _probe(name, check) -> str:
    try:
        return check()
    except Exception:
        logger.exception("Health check of the %s failed", name)
        return "unavailable"


@login_not_required
@never_cache
@require_GET
def healthz(request):
    if "live" in request.GET:
        return JsonResponse({"status": "ok"})
    checks = {"database": _probe("database", _database), "broker": _probe("broker", _broker)}
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
    )
