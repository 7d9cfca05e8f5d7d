"""Storing what Meta reported: events become rows in one transaction, then are handed on."""

import logging
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from streams.models import Stream
from webhooks import services as webhook_services
from whatsapp.inbound.events import enqueue_status_events, message_event
from whatsapp.inbound.parse import (
    TEMPLATE_STATUS_MAP,
    Event,
    InboundMessage,
    QualityUpdate,
    StatusUpdate,
    TemplateStatusUpdate,
)
from whatsapp.inbound.statuses import pending_statuses_keep, statuses_apply
from whatsapp.models import Message, Sender, Template
from whatsapp.service_window import contacts_wrote

logger = logging.getLogger(__name__)


# -- store: events → rows, in one transaction


def store(*, stream: Stream, events: list[Event]) -> None:
    """Store what Meta reported to the stream's callback; safe to run twice with the same
    events (a message is stored and handed on once, a status never moves a message back)."""
    messages = [e for e in events if isinstance(e, InboundMessage)]
    statuses = [e for e in events if isinstance(e, StatusUpdate)]
    templates = [e for e in events if isinstance(e, TemplateStatusUpdate)]
    qualities = [e for e in events if isinstance(e, QualityUpdate)]
    with transaction.atomic():
        if messages:
            _messages_store(stream, messages)
        if statuses:
            _statuses_store(stream, statuses)
        for update in templates:
            _template_store(stream, update)
        for update in qualities:
            _quality_store(stream, update)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _messages_store(stream: Stream, messages: list[InboundMessage]) -> None:
    unique: dict[str, InboundMessage] = {}
    for message in messages:
        unique.setdefault(message.event_key, message)
    answered = {_answered_wamid(m) for m in unique.values()} - {""}
    known = _by_wamid(stream, answered)
    rows = [
        Message(
            stream=stream,
            direction=Message.Direction.INBOUND,
            status=Message.Status.RECEIVED,
            sender_number=_digits(m.display_phone_number)[:32],
            phone_number_id=m.phone_number_id[:32],
            contact_number=m.from_number[:32],
            contact_name=m.contact_name[:200],
            contact_user_id=m.user_id[:100],
            type=m.type[:20],
            payload=m.content,
            wamid=m.wamid[:200],
            event_key=m.event_key,
            reply_to=known.get(_answered_wamid(m)),
            created_at=m.timestamp,
        )
        for m in unique.values()
    ]
    # A conflict on event_key is the same event stored before (or by a concurrent retry):
    # rows whose uuid is not ours were not inserted by this call, so are not handed on again.
    Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    # WhatsApp's own notices (a contact's new number) are not the contact writing.
    contacts_wrote(
        stream=stream,
        written=[(row.contact_number, row.created_at) for row in rows if row.type != "system"],
    )
    ours = set(
        Message.objects.filter(event_key__in=[row.event_key for row in rows]).values_list(
            "uuid", flat=True
        )
    )
    webhook_services.webhook_events_enqueue(
        stream=stream,
        kind="message",
        events=[message_event(row) for row in rows if row.uuid in ours],
    )


def _answered_wamid(message: InboundMessage) -> str:
    """The message this one answers: its context, or the one a reaction is about."""
    if message.context_wamid:
        return message.context_wamid
    return message.content.get("reaction", {}).get("message_id", "")


def _by_wamid(stream: Stream, wamids: set[str]) -> dict[str, Message]:
    """The stream's messages with these wamids: ours first, then the earliest received."""
    if not wamids:
        return {}
    found: dict[str, Message] = {}
    candidates = Message.objects.filter(stream=stream, wamid__in=wamids).order_by(
        "-direction", "created_at", "id"
    )  # "outbound" sorts after "inbound", so descending puts ours first
    for message in candidates.only("id", "uuid", "wamid", "direction"):
        found.setdefault(message.wamid, message)
    return found


def _statuses_store(stream: Stream, updates: list[StatusUpdate]) -> None:
    applied, unknown = statuses_apply(updates, stream=stream)
    if unknown:
        # Most likely the worker that sent the message has not recorded its wamid yet.
        logger.info("Keeping %d statuses of wamids not recorded yet", len(unknown))
        pending_statuses_keep(stream=stream, updates=unknown)
    enqueue_status_events(applied)


def _template_store(stream: Stream, update: TemplateStatusUpdate) -> None:
    """Only the templates of this stream's own account: a callback speaks for its stream."""
    same = Q()
    if update.template_id:
        same |= Q(template_id=update.template_id)
    if update.name and update.language and update.waba_id:
        same |= Q(
            name=update.name,
            language=update.language,
            whatsapp_account__business_id=update.waba_id,
        )
    if not same:
        logger.info("Template status update %s names no template", update.status)
        return
    templates = Template.objects.filter(same, whatsapp_account__stream=stream)
    status = TEMPLATE_STATUS_MAP.get(update.status, update.status)[:20]
    templates.update(status=status)


def _quality_store(stream: Stream, update: QualityUpdate) -> None:
    """Only a number of this stream's own account, found by its digits (Meta's webhook names
    the display number, the Graph API formats it: "+1 555-000-1111")."""
    number = _digits(update.display_phone_number)
    senders = Sender.objects.filter(whatsapp_account__stream=stream)
    matching = [sender.pk for sender in senders if sender.number == number]
    if not matching:
        logger.info("Quality update %s names none of the stream's numbers", update.event)
        return
    fields = {"quality_event": update.event[:40], "quality_changed_at": timezone.now()}
    if update.messaging_limit:
        fields["messaging_limit"] = update.messaging_limit[:40]
    Sender.objects.filter(pk__in=matching).update(**fields)
