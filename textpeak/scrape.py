"""``GET /metrics``: the Prometheus scrape, for operators only (``textpeak.lib.operator_access``).

The figures every process wrote to ``PROMETHEUS_MULTIPROC_DIR`` are added up on each scrape,
and what is waiting is read from the database and the broker (``textpeak.metrics``).
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from textpeak.lib.operator_access import operator_refusal
from textpeak.metrics import BacklogCollector


@login_not_required
@never_cache
@require_GET
def metrics(request):
    if refusal := operator_refusal(request):
        return refusal
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(BacklogCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
