"""Status updates of sent messages: the one code path for Meta's webhooks and the demo.

A status only ever moves a message forward (a late ``delivered`` does not undo ``read``), so
Meta's out-of-order and repeated deliveries are harmless. A status names its message by wamid,
and only messages of the stream whose callback received it are looked up (``status_scope``):
a wamid is no secret, and one tenant's callback must never move another tenant's message.

A status may carry Meta's pricing of the message and the conversation it counts in (Meta
sends them on several of a message's statuses): the latest status that carries them wins, so
they are taken from a status that moves the message forward, or from a late one while the
message has none yet.

A status for a wamid not recorded yet (the worker that sent the message has not written its
outcome) is kept as a ``PendingStatus`` of the receiving stream and applied, within that
stream's scope, by ``pending_statuses_apply`` once the wamid is recorded. Kept statuses expire
after ``PENDING_STATUS_EXPIRY_SECONDS`` and a stream keeps at most
``PENDING_STATUSES_PER_STREAM`` of them, its oldest dropped first.
"""

import dataclasses
import itertools
import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from streams.models import Stream
from whatsapp.inbound.events import enqueue_status_events
from whatsapp.inbound.parse import Conversation, Pricing, StatusUpdate
from whatsapp.models import Message, MessageEvent, PendingStatus, WhatsAppAccount

logger = logging.getLogger(__name__)


Status = Message.Status


# How far along each status is; a failure can only follow a message WhatsApp had accepted.
_RANK = {Status.QUEUED: 0, Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}


_TIMESTAMP_FIELD = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
    Status.SENT_FAILED: "failed_at",
}


_UPDATED_FIELDS = [
    "status",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "error_code",
    "error_message",
    "updated_at",
]


_PRICING_FIELDS = [
    "pricing_billable",
    "pricing_category",
    "pricing_model",
    "pricing_type",
    "conversation_id",
    "conversation_origin",
    "conversation_expires_at",
]


def _moves_forward(current: str, new: str) -> bool:
    if new == Status.SENT_FAILED:
        return current in (Status.QUEUED, Status.SENT)
    return current in _RANK and _RANK[current] < _RANK[new]


def _keep_pricing(message: Message, update: StatusUpdate, *, latest: bool) -> bool:
    """Take the status's pricing and conversation onto the message: all it carries from the
    latest status, only what the message lacks from an earlier one that arrived late. True if
    the message changed."""
    changed = False
    pricing, conversation = update.pricing, update.conversation
    if pricing is not None and (latest or message.pricing is None):
        message.pricing_billable = pricing.billable
        message.pricing_category = pricing.category
        message.pricing_model = pricing.model
        message.pricing_type = pricing.type
        changed = True
    if conversation is not None and (latest or not message.conversation_id):
        message.conversation_id = conversation.id
        message.conversation_origin = conversation.origin
        message.conversation_expires_at = conversation.expires_at
        changed = True
    return changed


def status_scope(stream: Stream) -> QuerySet:
    """The messages whose statuses this stream's callback may report: those sent through the
    same WhatsApp Business Account (Meta sends one account's webhooks to one callback), or
    for a demo stream, or one without an account id, the stream's own."""
    try:
        business_id = stream.whatsapp.business_id
    except WhatsAppAccount.DoesNotExist:
        business_id = ""
    if stream.is_demo or not business_id:
        return Message.objects.filter(stream=stream)
    # Only the same tenant's streams, and only ones whose id WhatsApp confirmed: an id anybody
    # can type must not reach another account's messages.
    return Message.objects.filter(
        stream__account_id=stream.account_id,
        stream__whatsapp__business_id=business_id,
        stream__whatsapp__verified_at__isnull=False,
    )


def statuses_apply(
    updates: list[StatusUpdate], *, stream: Stream
) -> tuple[list[tuple[Message, StatusUpdate]], list[StatusUpdate]]:
    """Apply statuses that ``stream``'s callback received, in the order given, each only if
    it moves its message forward (a late one may still give the message the pricing it
    lacks); a wamid is looked up among ``status_scope(stream)`` only.

    Returns the applied updates with their messages (``stream`` loaded), and the updates whose
    wamid the scope does not know. A few queries for the whole batch, in one transaction.
    """
    if not updates:
        return [], []
    with transaction.atomic():
        found = {
            message.wamid: message
            # Only the messages are locked, not the streams joined to them.
            for message in status_scope(stream)
            .select_for_update(of=("self",))
            .select_related("stream")
            .filter(direction=Message.Direction.OUTBOUND, wamid__in={u.wamid for u in updates})
        }
        applied, unknown, events, changed = [], [], [], {}
        priced = False
        now = timezone.now()
        for update in updates:
            message = found.get(update.wamid)
            if message is None:
                unknown.append(update)
                continue
            if not _moves_forward(message.status, update.status):
                if _keep_pricing(message, update, latest=False):
                    priced = True
                    message.updated_at = now
                    changed[message.pk] = message
                continue
            priced |= _keep_pricing(message, update, latest=True)
            message.status = update.status
            setattr(message, _TIMESTAMP_FIELD[update.status], update.timestamp)
            if update.status == Status.SENT_FAILED:
                message.error_code = update.error_code
                message.error_message = update.error_message
            message.updated_at = now
            changed[message.pk] = message
            events.append(
                MessageEvent(
                    message=message,
                    status=update.status,
                    occurred_at=update.timestamp,
                    error_code=update.error_code,
                    error_message=update.error_message,
                )
            )
            applied.append((message, update))
        if changed:
            # Most statuses carry no pricing: their update leaves its columns out.
            fields = _UPDATED_FIELDS + _PRICING_FIELDS if priced else _UPDATED_FIELDS
            Message.objects.bulk_update(list(changed.values()), fields)
            MessageEvent.objects.bulk_create(events)
    return applied, unknown


def pending_statuses_keep(*, stream: Stream, updates: list[StatusUpdate]) -> None:
    """Keep statuses of wamids not recorded yet, received by ``stream``'s callback, for
    ``pending_statuses_apply``.

    Over ``PENDING_STATUSES_PER_STREAM`` the stream's oldest are dropped rather than the new
    ones refused: a status waits for its wamid seconds at most, so the old ones are those that
    will never find a message (sent by another app on the number, or made up), and refusing
    instead would let them crowd out the statuses of messages still being recorded.
    """
    PendingStatus.objects.bulk_create(
        [
            PendingStatus(
                stream=stream,
                wamid=update.wamid,
                status=update.status,
                occurred_at=update.timestamp,
                error_code=update.error_code,
                error_message=update.error_message,
                pricing=_pricing_json(update.pricing),
                conversation=_conversation_json(update.conversation),
            )
            for update in updates
        ]
    )
    cap = settings.PENDING_STATUSES_PER_STREAM
    newest_first = PendingStatus.objects.filter(stream=stream).order_by("-id")
    # The newest row past the cap, if any: it and every older one go.
    beyond = next(iter(newest_first.values_list("id", flat=True)[cap : cap + 1]), None)
    if beyond is not None:
        dropped, _ = PendingStatus.objects.filter(stream=stream, id__lte=beyond).delete()
        logger.warning(
            "Stream %s keeps at most %d statuses of unknown wamids: dropped the %d oldest",
            stream.uid,
            cap,
            dropped,
        )


def _pricing_json(pricing: Pricing | None) -> dict | None:
    return dataclasses.asdict(pricing) if pricing else None


def _conversation_json(conversation: Conversation | None) -> dict | None:
    if conversation is None:
        return None
    expires_at = conversation.expires_at
    return {
        "id": conversation.id,
        "origin": conversation.origin,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


def _conversation_of(data: dict | None) -> Conversation | None:
    if not data:
        return None
    expires_at = data["expires_at"]
    return Conversation(
        id=data["id"],
        origin=data["origin"],
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
    )


def _expired_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.PENDING_STATUS_EXPIRY_SECONDS)


def pending_statuses_apply(*, wamids: list[str]) -> int:
    """Apply, oldest first, the unexpired statuses kept for these newly recorded wamids, each
    within the scope of the stream that received it, and forget them.

    Runs inside the caller's transaction when it has one; each status applied is handed to the
    stream's webhook like one that arrived after the wamid was recorded. A kept status whose
    wamid was recorded outside its receiving stream's scope is dropped: an outbound wamid is
    recorded once, so it can never apply. Returns how many moved a message forward.
    """
    if not wamids:
        return 0
    # Late import: whatsapp.inbound builds the events and imports this module.

    with transaction.atomic():
        pending = list(
            PendingStatus.objects.select_for_update(of=("self",))
            .select_related("stream")
            .filter(wamid__in=wamids, received_at__gte=_expired_before())
            .order_by("occurred_at", "id")
        )
        if not pending:
            return 0
        applied_all = []
        # Runs of the same receiving stream, so that the order holds across streams too.
        for _, run in itertools.groupby(pending, key=lambda row: row.stream_id):
            rows = list(run)
            applied, foreign = statuses_apply(
                [
                    StatusUpdate(
                        wamid=row.wamid,
                        status=row.status,
                        timestamp=row.occurred_at,
                        error_code=row.error_code,
                        error_message=row.error_message,
                        pricing=Pricing(**row.pricing) if row.pricing else None,
                        conversation=_conversation_of(row.conversation),
                    )
                    for row in rows
                ],
                stream=rows[0].stream,
            )
            if foreign:
                logger.warning(
                    "Dropped %d statuses stream %s received for messages outside its scope",
                    len(foreign),
                    rows[0].stream.uid,
                )
            applied_all += applied
        enqueue_status_events(applied_all)
        PendingStatus.objects.filter(pk__in=[row.pk for row in pending]).delete()
    return len(applied_all)


PENDING_STATUS_PURGE_BATCH = 10_000


def pending_statuses_sweep() -> int:
    """Beat: apply kept statuses whose message has appeared since (a status kept in the same
    moment as its message was recorded can miss both applications), then forget the expired
    ones, in batches so that no statement holds the table long. Returns how many were
    forgotten."""
    cutoff = _expired_before()
    recorded = Message.objects.filter(
        wamid__in=PendingStatus.objects.filter(received_at__gte=cutoff).values("wamid"),
        direction=Message.Direction.OUTBOUND,
    ).values_list("wamid", flat=True)
    pending_statuses_apply(wamids=list(recorded))
    expired = PendingStatus.objects.filter(received_at__lt=cutoff).values_list("id", flat=True)
    forgotten = 0
    while ids := list(expired[:PENDING_STATUS_PURGE_BATCH]):
        PendingStatus.objects.filter(pk__in=ids).delete()
        forgotten += len(ids)
    if forgotten:
        logger.info("Forgot %d statuses of wamids never recorded", forgotten)
    return forgotten


@shared_task(name="whatsapp.tasks.purge_pending_statuses")
def purge_pending_statuses() -> None:
    """Beat: apply kept statuses whose message appeared late, and forget the expired ones."""
    pending_statuses_sweep()
