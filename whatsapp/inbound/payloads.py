"""Meta's POSTs kept as they came: one INSERT in the callback, stored by a worker, swept if lost."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from streams.models import Stream
from textpeak import metrics
from textpeak.lib.rows import insert_row
from textpeak.lib.tasks import enqueue_ids_on_commit
from whatsapp.inbound.parse import parse
from whatsapp.inbound.store import store
from whatsapp.models import InboundPayload

logger = logging.getLogger(__name__)


# -- the callback's payloads: kept at once, stored by a worker

PAYLOAD_BATCH_SIZE = 50


PAYLOAD_SWEEP_LIMIT = 1_000


def payload_keep(*, stream: Stream, body: bytes) -> None:
    """Keep a checked POST of Meta's for a worker to store: one INSERT, so the callback answers
    within milliseconds however many events the body carries."""
    payload = InboundPayload(stream=stream, body=body)
    insert_row(payload)
    _payloads_enqueue([payload.pk])


def _payloads_enqueue(payload_ids: list[int]) -> None:
    enqueue_ids_on_commit(store_payloads, payload_ids, batch_size=PAYLOAD_BATCH_SIZE)


def payloads_store(*, payload_ids: list[int]) -> None:
    """Store each payload's events and delete it, one transaction a payload. One that another
    worker holds, or that is already stored, is skipped: safe to run twice."""
    for payload_id in payload_ids:
        try:
            with transaction.atomic():
                payload = (
                    InboundPayload.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("stream")
                    .filter(pk=payload_id, attempts__lt=InboundPayload.MAX_ATTEMPTS)
                    .first()
                )
                if payload is not None:
                    store(stream=payload.stream, events=parse(bytes(payload.body)))
                    payload.delete()
        except Exception as error:
            # One payload's surprise must not hold the others back; the sweeper tries it again.
            logger.exception("Storing Meta payload %s failed", payload_id)
            failed = InboundPayload.objects.filter(pk=payload_id)
            failed.update(attempts=F("attempts") + 1, last_error=repr(error)[:1000])
            if failed.filter(attempts__gte=InboundPayload.MAX_ATTEMPTS).exists():
                # Nothing tries it again by itself now: support has to look at it.
                logger.error(
                    "Meta payload %s failed %d times and is kept for support: Django admin, "
                    "Inbound payloads, Failed every attempt",
                    payload_id,
                    InboundPayload.MAX_ATTEMPTS,
                )


def payloads_retry(*, payload_ids: list[int]) -> int:
    """Give kept payloads a fresh set of attempts and enqueue them: support's way back for
    those that failed every attempt, once what made them fail is mended. Returns how many."""
    count = InboundPayload.objects.filter(pk__in=payload_ids).update(attempts=0)
    _payloads_enqueue(list(payload_ids))
    return count


def payloads_sweep() -> int:
    """Enqueue payloads kept longer than ``INBOUND_SWEEP_AFTER_SECONDS``: their task was lost
    (a broker outage, a process that died) or failed. Returns how many were enqueued."""
    overdue = timezone.now() - timedelta(seconds=settings.INBOUND_SWEEP_AFTER_SECONDS)
    ids = list(
        InboundPayload.objects.filter(
            received_at__lte=overdue, attempts__lt=InboundPayload.MAX_ATTEMPTS
        )
        .order_by("received_at")
        .values_list("id", flat=True)[:PAYLOAD_SWEEP_LIMIT]
    )
    _payloads_enqueue(ids)
    metrics.swept("payloads", len(ids))
    if ids:
        logger.info("Inbound sweep enqueued %d waiting Meta payloads", len(ids))
    return len(ids)


@shared_task(name="whatsapp.tasks.store_payloads", acks_late=True)
def store_payloads(payload_ids: list[int]) -> None:
    """Store Meta's POSTs kept by the callback. Idempotent: a payload is deleted as it is
    stored, and one held by another worker is skipped."""
    payloads_store(payload_ids=payload_ids)


@shared_task(name="whatsapp.tasks.sweep_payloads")
def sweep_payloads() -> None:
    """Beat: re-enqueue Meta's POSTs still waiting (broker outage, killed worker)."""
    payloads_sweep()
