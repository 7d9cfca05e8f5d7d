"""Status updates of sent messages: the one code path for Meta's webhooks and the demo.

A status only ever moves a message forward (a late ``delivered`` does not undo ``read``), so
Meta's out-of-order and repeated deliveries are harmless. A status for a wamid not recorded
yet (the worker that sent the message has not written its outcome) is kept as a
``PendingStatus`` and applied by ``apply_pending_statuses`` once the wamid is recorded.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from whatsapp.models import Message, MessageEvent, PendingStatus

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


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str  # one of sent, delivered, read, sent_failed
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""
    # What Meta reported, when it came from a webhook: its own status value (e.g. "played",
    # which is applied as read), the recipient, and the conversation and pricing objects.
    meta_status: str = ""
    recipient: str = ""
    conversation: dict | None = None
    pricing: dict | None = None


def _moves_forward(current: str, new: str) -> bool:
    if new == Status.SENT_FAILED:
        return current in (Status.QUEUED, Status.SENT)
    return current in _RANK and _RANK[current] < _RANK[new]


def statuses_apply(
    updates: list[StatusUpdate], *, messages: QuerySet | None = None
) -> tuple[list[tuple[Message, StatusUpdate]], list[StatusUpdate]]:
    """Apply statuses in the order given, each only if it moves its message forward.

    ``messages`` narrows which outbound messages a wamid may name (default: any). Returns the
    applied updates with their messages (``stream`` loaded), and the updates whose wamid is
    not known. A few queries for the whole batch, in one transaction.
    """
    if not updates:
        return [], []
    scope = messages if messages is not None else Message.objects.all()
    with transaction.atomic():
        found = {
            message.wamid: message
            # Only the messages are locked, not the streams joined to them.
            for message in scope.select_for_update(of=("self",))
            .select_related("stream")
            .filter(direction=Message.Direction.OUTBOUND, wamid__in={u.wamid for u in updates})
        }
        applied, unknown, events, changed = [], [], [], {}
        now = timezone.now()
        for update in updates:
            message = found.get(update.wamid)
            if message is None:
                unknown.append(update)
                continue
            if not _moves_forward(message.status, update.status):
                continue
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
            Message.objects.bulk_update(list(changed.values()), _UPDATED_FIELDS)
            MessageEvent.objects.bulk_create(events)
    return applied, unknown


def status_apply(update: StatusUpdate) -> bool:
    """Apply a status to the message with the wamid; False if unknown or not a step forward."""
    applied, _ = statuses_apply([update])
    return bool(applied)


def pending_statuses_keep(updates: list[StatusUpdate]) -> None:
    """Keep statuses of wamids not recorded yet, for ``apply_pending_statuses``."""
    PendingStatus.objects.bulk_create(
        [
            PendingStatus(
                wamid=update.wamid,
                status=update.status,
                occurred_at=update.timestamp,
                error_code=update.error_code,
                error_message=update.error_message,
            )
            for update in updates
        ]
    )


def apply_pending_statuses(wamids: list[str]) -> int:
    """Apply, oldest first, the statuses kept for these newly recorded wamids, and forget them.

    Runs inside the caller's transaction when it has one; each status applied is handed to the
    stream's webhook like one that arrived after the wamid was recorded. Returns how many moved
    a message forward.
    """
    if not wamids:
        return 0
    # Late import: whatsapp.inbound builds the events and imports this module.
    from whatsapp import inbound

    with transaction.atomic():
        pending = list(
            PendingStatus.objects.select_for_update()
            .filter(wamid__in=wamids)
            .order_by("occurred_at", "id")
        )
        if not pending:
            return 0
        applied, _ = statuses_apply(
            [
                StatusUpdate(
                    wamid=row.wamid,
                    status=row.status,
                    timestamp=row.occurred_at,
                    error_code=row.error_code,
                    error_message=row.error_message,
                )
                for row in pending
            ]
        )
        PendingStatus.objects.filter(pk__in=[row.pk for row in pending]).delete()
        inbound.enqueue_status_events(applied)
    return len(applied)
