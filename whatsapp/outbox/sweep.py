"""Sweeping the outbox: overdue messages and read receipts enqueued again, a re-enabled
stream's messages released, a deleted stream's rejected."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from streams.models import Stream
from streams.selectors import sending_streams
from textpeak import metrics
from textpeak.lib import outbox
from whatsapp.models import Message, MessageEvent, ReadReceipt
from whatsapp.outbox.read import read_receipts_enqueue
from whatsapp.outbox.send import messages_enqueue

logger = logging.getLogger(__name__)


STREAM_DELETED = "The stream was deleted before this message was sent."
IN_DOUBT = (
    "The worker sending this message stopped during its call to WhatsApp, which may or may not "
    "have reached it. The stream sends at most once, so it was not sent again."
)


def outbox_sweep() -> int:
    """Enqueue queued messages that are overdue and held by no live worker: the broker lost
    them, or their worker died. Those of a stream that sends at most once whose worker died
    holding them become ``unknown`` instead. Returns how many were enqueued."""
    now = timezone.now()
    messages_in_doubt_end(now=now)
    overdue = now - timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    ids = outbox.sweep(
        Message.objects.filter(status=Message.Status.QUEUED, stream__in=sending_streams())
        # Fresh messages are given time to arrive through the broker; retries further away
        # than a countdown are due as soon as their time comes.
        .filter(Q(next_attempt_at__lte=overdue) | Q(attempts__gt=0, next_attempt_at__lte=now)),
        now=now,
        limit=settings.OUTBOX_SWEEP_LIMIT,
        enqueue=messages_enqueue,
        # Not swept again before they are overdue again.
        next_attempt_at=now,
    )
    metrics.swept("messages", len(ids))
    if ids:
        logger.info("Outbox sweep enqueued %d overdue messages", len(ids))
    return len(ids)


def read_receipts_sweep() -> int:
    """Enqueue queued read receipts that are overdue and held by no live worker, as
    ``outbox_sweep`` does messages; returns how many."""
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    ids = outbox.sweep(
        ReadReceipt.objects.filter(
            status=ReadReceipt.Status.QUEUED,
            # A subquery, not a join: the rows are locked, and no message with them.
            message_id__in=Message.objects.filter(stream__in=sending_streams()).values("id"),
        ).filter(Q(next_attempt_at__lte=overdue) | Q(attempts__gt=0, next_attempt_at__lte=now)),
        now=now,
        limit=settings.OUTBOX_SWEEP_LIMIT,
        enqueue=read_receipts_enqueue,
        next_attempt_at=now,
    )
    metrics.swept("read_receipts", len(ids))
    if ids:
        logger.info("Outbox sweep enqueued %d overdue read receipts", len(ids))
    return len(ids)


def messages_in_doubt_end(*, now) -> int:
    """Mark ``unknown`` the at-most-once messages whose worker died holding them (its claim
    ran out), with a history event each; returns how many."""
    with transaction.atomic():
        in_doubt = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(
                status=Message.Status.QUEUED,
                send_once=True,
                claim_id__isnull=False,
                claimed_until__lt=now,
            )
            .values_list("id", flat=True)[: settings.OUTBOX_SWEEP_LIMIT]
        )
        Message.objects.filter(id__in=in_doubt).update(
            status=Message.Status.UNKNOWN,
            error_code="",
            error_message=IN_DOUBT,
            claim_id=None,
            claimed_until=None,
            updated_at=now,
        )
        MessageEvent.objects.bulk_create(
            MessageEvent(
                message_id=pk,
                status=Message.Status.UNKNOWN,
                occurred_at=now,
                error_message=IN_DOUBT,
                note="Its worker stopped during the call; not sent again",
            )
            for pk in in_doubt
        )
    if in_doubt:
        logger.warning("%d messages in doubt after their worker died: unknown", len(in_doubt))
    return len(in_doubt)


def messages_release(*, stream: Stream) -> None:
    """Enqueue the due messages a disabled stream held: it was enabled. Their tasks run after
    the enabling commit and are paced by their senders' limits like any others."""
    now = timezone.now()
    held = Message.objects.filter(
        stream=stream, status=Message.Status.QUEUED, next_attempt_at__lte=now
    )
    ids = list(held.order_by("next_attempt_at", "id").values_list("id", flat=True))
    # Not swept as overdue while their tasks are on their way.
    held.update(next_attempt_at=now)
    messages_enqueue(ids)


def messages_reject_unsent(*, stream: Stream) -> None:
    """Reject what a deleted stream had queued: held, waiting for a retry, or claimed by a
    worker, which finds its claim gone and records nothing."""
    now = timezone.now()
    rejected = Message.objects.filter(stream=stream, status=Message.Status.QUEUED).update(
        status=Message.Status.REJECTED,
        error_code="",
        error_message=STREAM_DELETED,
        claim_id=None,
        claimed_until=None,
        updated_at=now,
    )
    metrics.messages_rejected(stream.type, ["STREAM_DELETED"] * rejected)


@shared_task(name="whatsapp.tasks.sweep_outbox")
def sweep_outbox() -> None:
    """Beat: re-enqueue overdue queued messages and read receipts (broker outage, killed
    worker)."""
    outbox_sweep()
    read_receipts_sweep()
