"""Accepting a send: each message checked against the stream's catalogue, inserted queued,
and enqueued on commit."""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError

from streams.models import Stream
from textpeak import metrics
from textpeak.lib.local_cache import LocalCache
from textpeak.lib.rows import insert_row
from whatsapp.models import Message, Sender, Template, WhatsAppAccount
from whatsapp.outbox.send import messages_enqueue
from whatsapp.outbox.validate import OutboundMessage, Refusal, parse_message
from whatsapp.service_window import (
    OUTSIDE_SERVICE_WINDOW,
    OUTSIDE_SERVICE_WINDOW_MESSAGE,
    contact_windows,
)


@dataclass
class Result:
    internal_id: str | None
    message_uuid: str | None = None
    error: str | None = None
    detail: str | None = None

    def as_json(self) -> dict:
        data = {
            "internal_id": self.internal_id,
            "message_uuid": self.message_uuid,
            "error": self.error,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class _TemplateFacts:
    name: str
    is_approved: bool
    variable_count: int


@dataclass(frozen=True)
class _Catalogue:
    """What the send API checks messages against: sender number → phone number id, and
    (template name, language) → facts; whether the stream sends at most once, and whether it
    refuses free-form messages to contacts whose service window is closed."""

    senders: dict[str, str]
    templates: dict[tuple[str, str], _TemplateFacts]
    send_once: bool
    window_check: bool


# Every send request checks its senders and templates; they change rarely (a Refresh, a
# template review), so each process keeps them a few seconds instead of querying each time.
_catalogues = LocalCache()


def _catalogue(stream: Stream) -> _Catalogue:
    return _catalogues.get(stream.pk, lambda: _load_catalogue(stream))


def _load_catalogue(stream: Stream) -> _Catalogue:
    # The account's two settings in one query; a stream whose settings were never saved has
    # neither (its messages fail at sending, with the reason).
    guarantee, window_check = WhatsAppAccount.objects.filter(stream=stream).values_list(
        "delivery_guarantee", "service_window_check"
    ).first() or ("", False)
    return _Catalogue(
        senders={
            sender.number: sender.phone_number_id
            for sender in Sender.objects.filter(whatsapp_account__stream=stream)
        },
        templates={
            (t.name, t.language): _TemplateFacts(t.name, t.is_approved, t.variable_count)
            for t in Template.objects.filter(whatsapp_account__stream=stream)
        },
        send_once=guarantee == WhatsAppAccount.DeliveryGuarantee.AT_MOST_ONCE,
        # A demo stream's windows are always open: no need to ask.
        window_check=window_check and not stream.is_demo,
    )


def _closed_windows(stream: Stream, valid: list[OutboundMessage], catalogue) -> set[str]:
    """The recipients of the request's free-form messages whose window is closed, in one
    query for them all."""
    if not catalogue.window_check:
        return set()
    recipients = {m.recipient for m in valid if m.template_key is None}
    windows = contact_windows(stream=stream, numbers=recipients)
    return {number for number, window in windows.items() if not window.open}


def _check(message: OutboundMessage, catalogue: _Catalogue, replied, closed: set[str]) -> None:
    """What only the stream can tell: its senders, approved templates and messages, and
    whose windows are closed."""
    if message.sender not in catalogue.senders:
        raise Refusal("UNKNOWN_SENDER", "sender must be one of the stream's sender numbers.")
    if message.template_key is None and message.recipient in closed:
        raise Refusal(OUTSIDE_SERVICE_WINDOW, OUTSIDE_SERVICE_WINDOW_MESSAGE)
    if message.template_key:
        template = catalogue.templates.get(message.template_key)
        if template is None or not template.is_approved:
            name, language = message.template_key
            raise Refusal(
                "UNKNOWN_TEMPLATE",
                f"There is no approved template {name} in {language} on this stream.",
            )
        if len(message.variables) != template.variable_count:
            raise Refusal(
                "INVALID_MESSAGE",
                f"Template {template.name} takes {template.variable_count} variables, "
                f"not {len(message.variables)}.",
            )
    if message.reply_to and message.reply_to not in replied:
        raise Refusal(
            "INVALID_MESSAGE",
            "reply_to must be the message_uuid of a message on this stream that WhatsApp "
            "has accepted.",
        )


def messages_accept(*, stream: Stream, items: list) -> tuple[uuid.UUID, list[Result]]:
    """Validate the API's messages one by one and store the valid ones ``queued``.

    An ``internal_id`` the stream already accepted answers with its first ``message_uuid``
    and is not stored again.
    """
    batch_id = uuid.uuid4()
    parsed: list[OutboundMessage | Refusal] = []
    for item in items:
        try:
            parsed.append(parse_message(item))
        except Refusal as refusal:
            parsed.append(refusal)
    valid = [m for m in parsed if isinstance(m, OutboundMessage)]
    catalogue = _catalogue(stream)
    reply_uuids = {m.reply_to for m in valid if m.reply_to}
    replied = {}
    if reply_uuids:
        # parse_message gives reply_to uuids in their canonical form.
        replied = {
            str(m.uuid): m
            for m in Message.objects.filter(
                stream=stream, uuid__in=reply_uuids, wamid__isnull=False
            )
        }
    closed = _closed_windows(stream, valid, catalogue)
    return batch_id, _store(stream, batch_id, parsed, catalogue, replied, closed)


def _store(stream, batch_id, parsed, catalogue, replied, closed, *, retry=True) -> list[Result]:
    """Insert the accepted messages in one statement (one transaction) and enqueue them."""
    internal_ids = {
        m.internal_id for m in parsed if isinstance(m, OutboundMessage) and m.internal_id
    }
    known = (
        dict(
            Message.objects.filter(stream=stream, internal_id__in=internal_ids).values_list(
                "internal_id", "uuid"
            )
        )
        if internal_ids
        else {}
    )
    results: list[Result] = []
    new_rows: list[Message] = []
    for item in parsed:
        if isinstance(item, Refusal):
            results.append(
                Result(internal_id=item.internal_id, error=item.code, detail=item.message)
            )
            continue
        internal_id = item.internal_id or None
        if item.internal_id and item.internal_id in known:
            results.append(
                Result(internal_id=internal_id, message_uuid=str(known[item.internal_id]))
            )
            continue
        try:
            _check(item, catalogue, replied, closed)
        except Refusal as refusal:
            results.append(
                Result(internal_id=internal_id, error=refusal.code, detail=refusal.message)
            )
            continue
        row = Message(
            stream=stream,
            direction=Message.Direction.OUTBOUND,
            batch_id=batch_id,
            internal_id=item.internal_id,
            sender_number=item.sender,
            phone_number_id=catalogue.senders[item.sender],
            contact_number=item.recipient,
            type=item.type,
            payload=item.content,
            reply_to=replied.get(item.reply_to),
            status=Message.Status.QUEUED,
            send_once=catalogue.send_once,
        )
        if item.internal_id:
            known[item.internal_id] = row.uuid
        new_rows.append(row)
        results.append(Result(internal_id=internal_id, message_uuid=str(row.uuid)))
    try:
        # One INSERT, atomic on its own. A lone row is inserted in autocommit: one round trip
        # to the database instead of bulk_create's three (BEGIN, INSERT, COMMIT).
        if len(new_rows) == 1:
            insert_row(new_rows[0])
        else:
            Message.objects.bulk_create(new_rows, batch_size=len(new_rows) or None)
    except IntegrityError:
        if not retry:
            raise
        # Another request accepted one of these internal_ids a moment ago: answer as a retry.
        return _store(stream, batch_id, parsed, catalogue, replied, closed, retry=False)
    messages_enqueue([row.pk for row in new_rows])
    metrics.messages_accepted(stream.type, len(new_rows))
    metrics.messages_rejected(stream.type, [result.error for result in results if result.error])
    return results
