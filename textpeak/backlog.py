"""What is waiting to be done, and for how long: for /metrics and /healthz?detail.

Each figure is one aggregate over a partial index (queued messages, pending deliveries) or a
small table (kept Meta payloads), and one LLEN a Celery queue with Redis: cheap enough for
every scrape.
"""

from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from streams.selectors import sending_streams
from webhooks.models import Delivery
from whatsapp.models import InboundPayload, Message


@dataclass(frozen=True)
class Waiting:
    count: int
    # How long the longest-waiting one has been due; 0 when none is.
    oldest_seconds: float


def _waiting(rows, due_field: str, now: datetime) -> Waiting:
    figures = rows.aggregate(count=Count("pk"), due=Min(due_field))
    due = figures["due"]
    return Waiting(figures["count"], max((now - due).total_seconds(), 0.0) if due else 0.0)


def waiting() -> dict[str, Waiting]:
    """Queued messages of the streams that may send (a disabled stream's wait for it, and are
    not late), Meta payloads kept and not stored, and pending webhook deliveries. A message or
    delivery is due from its next attempt's time, so one waiting for a retry is not late."""
    now = timezone.now()
    return {
        "messages": _waiting(
            Message.objects.filter(status=Message.Status.QUEUED, stream__in=sending_streams()),
            "next_attempt_at",
            now,
        ),
        "payloads": _waiting(InboundPayload.objects.all(), "received_at", now),
        "deliveries": _waiting(
            Delivery.objects.filter(status=Delivery.Status.PENDING), "next_attempt_at", now
        ),
    }


def queue_lengths() -> dict[str, int] | None:
    """The tasks waiting in each Celery queue, by queue name; None without Redis (the
    filesystem broker's queues are folders of files, not worth counting)."""
    if not settings.REDIS_URL:
        return None
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        with client.pipeline(transaction=False) as pipe:
            names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
            for name in names:
                pipe.llen(name)
            return dict(zip(names, pipe.execute(), strict=True))
    finally:
        client.close()
