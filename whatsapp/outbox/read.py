"""Read receipts: an incoming message marked as read at WhatsApp, optionally with the typing
indicator, paced by its sender's rate limit like a send.

The API records the request as a ``ReadReceipt`` (one a message) and enqueues
``send_read_receipts`` on commit. The task claims its receipts with a conditional update, takes
a slot of each sender's rate limit (the key sends take theirs from, so a receipt and a message
never share a slot), calls the stream's graph and records each outcome: sent; due again after a
back-off for WhatsApp's retryable errors; or failed with WhatsApp's code and text. What the
broker lost, a killed worker left or a retry too far away for a countdown is enqueued again by
``whatsapp.outbox.sweep.read_receipts_sweep``.
"""

import logging
import math
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from streams.models import Stream
from streams.selectors import sending_streams
from textpeak import logcontext
from textpeak.lib import outbox, ratelimit
from whatsapp import problems
from whatsapp.graph.errors import AuthError, GraphError, RateLimited
from whatsapp.graph.pick import graph_for
from whatsapp.models import Message, ReadReceipt, WhatsAppAccount
from whatsapp.outbox.send import MAX_SLOT_WAIT, retry_delay, sender_key, sender_rates

logger = logging.getLogger(__name__)


NO_ACCOUNT = "The stream has no WhatsApp account: finish its WhatsApp Settings."


class UnknownMessage(Exception):
    """No message of the stream has this uuid."""


class NotIncoming(Exception):
    """The message is one the stream sent: WhatsApp marks only received ones as read."""


@shared_task(name="whatsapp.tasks.send_read_receipts", acks_late=True)
def send_read_receipts(receipt_ids: list[int]) -> None:
    """Send queued read receipts. Idempotent: receipts are claimed, so a redelivered task marks
    nothing twice. Not retried by Celery: retries are rows with a due time."""
    read_receipts_send(receipt_ids=receipt_ids)


def read_receipts_enqueue(receipt_ids: list[int], *, countdown: float = 0) -> None:
    """Send these receipts after the current transaction commits."""
    outbox.enqueue(send_read_receipts, receipt_ids, countdown=countdown)


def read_receipt_request(*, stream: Stream, message_uuid: uuid.UUID, typing: bool) -> ReadReceipt:
    """Have the stream's incoming message ``message_uuid`` marked as read at WhatsApp, with the
    typing indicator if ``typing``; its receipt.

    Asking again is safe: WhatsApp is asked once. Typing asked for later is added while the
    receipt is still queued; a worker already sending it sends it as it was."""
    with transaction.atomic():
        # Locked, so that two requests for one message make one receipt.
        message = (
            Message.objects.select_for_update()
            .filter(stream=stream, uuid=message_uuid)
            .only("id", "direction")
            .first()
        )
        if message is None:
            raise UnknownMessage
        if message.direction != Message.Direction.INBOUND:
            raise NotIncoming
        receipt = ReadReceipt.objects.filter(message=message).first()
        if receipt is None:
            receipt = ReadReceipt.objects.create(message=message, typing=typing)
            read_receipts_enqueue([receipt.pk])
        elif typing and not receipt.typing and receipt.status == ReadReceipt.Status.QUEUED:
            ReadReceipt.objects.filter(pk=receipt.pk).update(typing=True)
            receipt.typing = True
    return receipt


@dataclass
class _Outcome:
    receipt: ReadReceipt
    sent: bool = False
    error: GraphError | None = None
    # Not sent for want of a rate-limit slot: due again after this many seconds.
    deferred: float | None = None


def _claim(receipt_ids: list[int]) -> list[ReadReceipt]:
    """The given receipts that are queued, due, free, and of a stream that may send."""
    due = ReadReceipt.objects.filter(
        id__in=receipt_ids,
        status=ReadReceipt.Status.QUEUED,
        next_attempt_at__lte=timezone.now(),
        # A subquery, not a join: the sweeper locks these rows, and must lock no message.
        message_id__in=Message.objects.filter(stream__in=sending_streams()).values("id"),
    )
    claimed = outbox.claim(due, seconds=settings.SEND_CLAIM_SECONDS, attempts=F("attempts") + 1)
    return list(
        claimed.select_related("message").annotate(account_id=F("message__stream__account_id"))
    )


def read_receipts_send(*, receipt_ids: list[int]) -> None:
    """Send the given receipts that are still queued and due; safe to run twice."""
    receipts = _claim(receipt_ids)
    if not receipts:
        return
    accounts = {
        account.stream_id: account
        for account in WhatsAppAccount.objects.filter(
            stream_id__in={r.message.stream_id for r in receipts}
        ).select_related("stream")
    }
    rates = sender_rates(
        account_ids={r.account_id for r in receipts},
        phone_number_ids={r.message.phone_number_id for r in receipts},
    )
    by_sender = defaultdict(list)
    for receipt in receipts:
        by_sender[(receipt.account_id, receipt.message.phone_number_id)].append(receipt)
    outcomes = []
    for (account_id, number), group in by_sender.items():
        outcomes += _send_in_turn(group, accounts, rate=rates.get((account_id, number), 80))
    lost = outbox.record(outcomes, row=lambda outcome: outcome.receipt, write=_record_held)
    if lost:
        logger.warning("%d read receipt outcomes not recorded: claimed again", lost)


def _send_in_turn(group: list[ReadReceipt], accounts: dict, *, rate: int) -> list[_Outcome]:
    """One sender's receipts, each in a slot of the sender's limit, reserved for the group."""
    first = group[0]
    asked = time.monotonic()
    slots = ratelimit.reserve_per_second(
        sender_key(first.account_id, first.message.phone_number_id),
        per_second=rate,
        count=len(group),
        max_wait=MAX_SLOT_WAIT,
    )
    if not slots.granted:
        return [_Outcome(receipt, deferred=slots.wait) for receipt in group]
    answered = time.monotonic()
    outcomes = []
    for index, receipt in enumerate(group):
        start, end = slots.window(index)
        delay = answered + start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= asked + end:
            # Late for its slot: sent now, it could land on the next second's slots.
            outcomes.append(_Outcome(receipt, deferred=0.0))
            continue
        outcomes.append(_mark_read(receipt, accounts.get(receipt.message.stream_id)))
    return outcomes


def _mark_read(receipt: ReadReceipt, account: WhatsAppAccount | None) -> _Outcome:
    message = receipt.message
    try:
        if account is None:
            raise GraphError(NO_ACCOUNT)
        graph_for(account).mark_read(message.phone_number_id, message.wamid, typing=receipt.typing)
    except GraphError as error:
        return _Outcome(receipt, error=error)
    return _Outcome(receipt, sent=True)


def _record_held(outcomes: list[_Outcome]) -> None:
    """Write each outcome of the receipts this claim still holds (few: an UPDATE each)."""
    now = timezone.now()
    for outcome in outcomes:
        receipt = outcome.receipt
        changes: dict = {"claim_id": None, "claimed_until": None}
        if outcome.sent:
            changes.update(status=ReadReceipt.Status.SENT, sent_at=now, error_code="")
            changes.update(error_message="")
            logger.info(
                "Message marked read", extra=logcontext.about(message_uuid=receipt.message.uuid)
            )
        elif outcome.deferred is not None:
            # Waiting for the sender's rate limit is not a failed attempt.
            wait = outcome.deferred
            changes.update(
                attempts=receipt.attempts - 1, next_attempt_at=now + timedelta(seconds=wait)
            )
            _enqueue_soon(receipt, math.ceil(wait))
        else:
            changes.update(_answered_with_error(outcome, now))
        ReadReceipt.objects.filter(pk=receipt.pk).update(**changes)


def _answered_with_error(outcome: _Outcome, now) -> dict:
    """The receipt's changes for WhatsApp's error: due again after a back-off while the error
    may pass (a throttle never uses up its retries, as for sends), else failed."""
    receipt, error = outcome.receipt, outcome.error
    changes = {"error_code": str(error.code or ""), "error_message": error.message[:1000]}
    retry = error.retryable and (
        isinstance(error, RateLimited) or receipt.attempts < settings.SEND_MAX_ATTEMPTS
    )
    if retry:
        delay = retry_delay(receipt.attempts)
        changes["next_attempt_at"] = now + timedelta(seconds=delay)
        _enqueue_soon(receipt, delay)
    else:
        changes.update(status=ReadReceipt.Status.FAILED)
        if isinstance(error, AuthError):
            problems.tokens_rejected(
                account_ids=WhatsAppAccount.objects.filter(
                    stream_id=receipt.message.stream_id
                ).values_list("pk", flat=True),
                at=now,
            )
    logger.info(
        "Message not marked read (%s): %s",
        error.code,
        "retrying" if retry else "not retried",
        extra=logcontext.about(message_uuid=receipt.message.uuid),
    )
    return changes


def _enqueue_soon(receipt: ReadReceipt, countdown: float) -> None:
    """Due again within a countdown: enqueued now; later ones wait for the sweeper."""
    if countdown <= outbox.MAX_COUNTDOWN:
        read_receipts_enqueue([receipt.pk], countdown=countdown)
