"""Status updates of sent messages: the one code path for Meta's webhooks and the demo.

A status only ever moves a message forward (a late ``delivered`` does not undo ``read``), so
Meta's out-of-order and repeated deliveries are harmless.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from whatsapp.models import Message, MessageEvent

Status = Message.Status
# How far along each status is; a failure can only follow a message WhatsApp had accepted.
_RANK = {Status.QUEUED: 0, Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}
_TIMESTAMP_FIELD = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
    Status.SENT_FAILED: "failed_at",
}


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str  # one of sent, delivered, read, sent_failed
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""


def _moves_forward(current: str, new: str) -> bool:
    if new == Status.SENT_FAILED:
        return current in (Status.QUEUED, Status.SENT)
    return current in _RANK and _RANK[current] < _RANK[new]


@transaction.atomic
def status_apply(update: StatusUpdate) -> bool:
    """Apply a status to the message with the wamid; False if unknown or not a step forward."""
    message = (
        Message.objects.select_for_update()
        .filter(wamid=update.wamid, direction=Message.Direction.OUTBOUND)
        .first()
    )
    if message is None or not _moves_forward(message.status, update.status):
        return False
    message.status = update.status
    setattr(message, _TIMESTAMP_FIELD[update.status], update.timestamp)
    fields = ["status", _TIMESTAMP_FIELD[update.status], "updated_at"]
    if update.status == Status.SENT_FAILED:
        message.error_code, message.error_message = update.error_code, update.error_message
        fields += ["error_code", "error_message"]
    message.save(update_fields=fields)
    MessageEvent.objects.create(
        message=message,
        status=update.status,
        occurred_at=update.timestamp,
        error_code=update.error_code,
        error_message=update.error_message,
    )
    return True
