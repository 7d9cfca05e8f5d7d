"""``GET /metrics``: the Prometheus scrape, for operators only (``textpeak.lib.operator_access``).

The figures every process of every host wrote under ``METRICS_DIR`` (a folder a host) are added
up on each scrape, and what is waiting is read from the database and the broker
(``textpeak.metrics``).
"""

import glob
import os

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from textpeak.lib.operator_access import operator_refusal
from textpeak.metrics import BacklogCollector


class _EveryHost:
    """prometheus_client's multiprocess collector, over the folders of every host."""

    def collect(self):
        files = glob.glob(os.path.join(settings.METRICS_DIR, "*", "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)


@login_not_required
@never_cache
@require_GET
def metrics(request):
    if refusal := operator_refusal(request):
        return refusal
    registry = CollectorRegistry()
    registry.register(_EveryHost())
    registry.register(BacklogCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
