"""Sending queued messages: claim a batch, pace each by its sender's rate, call, record.

Messages are rows first: the API inserts them ``queued`` in its transaction and enqueues
``send_messages`` tasks on commit. A task claims its rows, and what else is due on their
streams, with one conditional update (so two workers never send the same message), sends
them concurrently through the stream's graph (the Cloud API client, or the demo stand-in),
each after a slot of its sender's rate limit, and records every outcome. Anything the broker
lost, or a killed worker left claimed, is found again by ``whatsapp.outbox.sweep``.

Only the messages of a stream that may send (``streams.selectors.sending_streams``) are claimed;
the others are held, ``queued``: a disabled stream's until it is enabled, those of an account
whose access was revoked until it is granted again.
"""

import enum
import logging
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from streams.selectors import sending_streams
from textpeak import logcontext, metrics
from textpeak.lib import outbox, ratelimit
from textpeak.lib.rows import insert_each, update_each
from textpeak.lib.threads import run_in_groups
from whatsapp import problems
from whatsapp.graph.bodies import meta_payload
from whatsapp.graph.errors import AuthError, GraphError, RateLimited, TemporaryError
from whatsapp.graph.pick import graph_for
from whatsapp.inbound.statuses import pending_statuses_apply
from whatsapp.models import Message, MessageEvent, Sender, WhatsAppAccount
from whatsapp.uploads.services import media_fetch_upload

logger = logging.getLogger(__name__)


# A rate-limit slot further away than this is not waited for: the message is deferred, so a
# long backlog of one sender does not hold a worker that other senders need.
MAX_SLOT_WAIT = 2.0


# A message that a stalled worker reached after its slot had closed is given its sender's next
# free slot, in the same task, up to this many times before it goes back to the queue.
SLOT_TRIES = 3


# Named as before the app had rooms, so tasks already queued under that name still run.
@shared_task(name="whatsapp.tasks.send_messages", acks_late=True)
def send_messages(message_ids: list[int]) -> None:
    """Send queued messages. Idempotent: rows are claimed, so a redelivered task sends nothing
    twice. Not retried by Celery: retries are rows with a due time (countdown or sweeper)."""
    messages_send(message_ids=message_ids)


def messages_enqueue(message_ids: list[int], *, countdown: float = 0) -> None:
    """Send these messages after the current transaction commits, in tasks of
    ``outbox.BATCH_SIZE``."""
    outbox.enqueue(send_messages, message_ids, countdown=countdown)


# Sending


@dataclass
class _Outcome:
    message: Message
    wamid: str = ""
    error: GraphError | None = None
    # Not sent for want of a rate-limit slot (or late for every slot it was given): try again
    # after this many seconds.
    deferred: float | None = None
    # Not sent because its slot had closed when the worker got to it.
    late: bool = False
    # Not sent because its stream stopped sending after the claim (disabled, deleted, or its
    # account's access revoked): it waits, queued, without a new attempt or task.
    held: bool = False


@dataclass(frozen=True)
class _Turn:
    """A message's rate-limit slot: send from ``at`` until ``until`` (``time.monotonic()``).
    Without a slot soon enough, try again in ``retry_in``."""

    at: float = 0.0
    until: float = 0.0
    retry_in: float | None = None


# What recording writes back of a message that WhatsApp answered with an error.
_OUTCOME_FIELDS = (
    "status",
    "wamid",
    "sent_at",
    "failed_at",
    "error_code",
    "error_message",
    "attempts",
    "next_attempt_at",
    "claim_id",
    "claimed_until",
    "updated_at",
)


# What a claimed message is loaded with: what sending and recording use.
_SENDING_FIELDS = (
    "uuid",
    "stream_id",
    "phone_number_id",
    "contact_number",
    "type",
    "payload",
    "reply_to__wamid",
    "created_at",
    *_OUTCOME_FIELDS,
)


def _claim_messages(message_ids: list[int]) -> list[Message]:
    """Take the messages that are queued, due, not held by another worker, and of a stream
    that may send: the given ones, and up to a batch of what else is due on their streams, so
    that a sender's messages sent a request each share a claim, a pacing reservation and a
    recording."""
    due = Message.objects.filter(
        status=Message.Status.QUEUED,
        next_attempt_at__lte=timezone.now(),
        stream__in=sending_streams(),
        # At most once: a message still claimed by a worker that died is in doubt, and only
        # the sweeper decides about it.
    ).exclude(send_once=True, claim_id__isnull=False)
    claimed = outbox.claim_with_more(
        due,
        message_ids,
        sharing="stream_id",
        seconds=settings.SEND_CLAIM_SECONDS,
        attempts=F("attempts") + 1,
    )
    # Only what sending and recording need (the stream's account for its senders' limits):
    # a worker claims many rows a second, and whole Message, Stream and reply-to objects for
    # each would cost it more than the rest of a send's bookkeeping.
    return list(
        claimed.select_related("reply_to")
        .only(*_SENDING_FIELDS)
        .annotate(account_id=F("stream__account_id"), stream_type=F("stream__type"))
    )


def sender_key(account_id: int, phone_number_id: str) -> str:
    """The rate-limit key of a sender: everything a sender sends WhatsApp (messages, read
    receipts) takes a slot of it. A sender is an account's phone number: demo streams of
    different accounts share the demo number's id, and must not share its limit."""
    return f"sender:{account_id}:{phone_number_id}"


def sender_rates(
    *, account_ids: set[int], phone_number_ids: set[str]
) -> dict[tuple[int, str], int]:
    """The messages per second of these accounts' senders, by (account id, phone number id);
    a sender missing here sends at WhatsApp's default of 80."""
    return {
        (account_id, number): rate
        for account_id, number, rate in Sender.objects.filter(
            phone_number_id__in=phone_number_ids,
            whatsapp_account__stream__account_id__in=account_ids,
        ).values_list(
            "whatsapp_account__stream__account_id", "phone_number_id", "messages_per_second"
        )
    }


def _plan(messages: list[Message], rates: dict[tuple[int, str], int]) -> dict[int, _Turn]:
    """Each message's turn from its sender's rate limit, one reservation per sender for the
    whole batch, and then from Meta's pair limit (``_space_pairs``)."""
    by_sender = defaultdict(list)
    for message in messages:
        by_sender[(message.account_id, message.phone_number_id)].append(message)
    plan = {}
    for (account_id, number), group in by_sender.items():
        asked = time.monotonic()
        slots = ratelimit.reserve_per_second(
            sender_key(account_id, number),
            per_second=rates.get((account_id, number), 80),
            count=len(group),
            max_wait=MAX_SLOT_WAIT,
        )
        if not slots.granted:
            # The messages come back while the slots reserved before them are still in use,
            # not after them, so that a sender with a backlog never idles between batches.
            later = _Turn(retry_in=max(slots.wait - MAX_SLOT_WAIT / 2, 0.0))
            plan.update(dict.fromkeys((message.pk for message in group), later))
            continue
        # The limiter read its clock between the question and the answer: a slot opens after
        # the answer and closes before the question, so that it is never used early or late.
        answered = time.monotonic()
        for index, message in enumerate(group):
            start, end = slots.window(index)
            plan[message.pk] = _Turn(at=answered + start, until=asked + end)
    if settings.SEND_PAIR_SECONDS:
        _space_pairs(messages, plan)
    return plan


def _space_pairs(messages: list[Message], plan: dict[int, _Turn]) -> None:
    """Meta's pair limit: a sender's messages to one recipient at least ``SEND_PAIR_SECONDS``
    apart (else error 131056). A message whose recipient had one too recently waits until the
    pair is free, deferred like one without a slot, and holds no other recipient's messages;
    its sender slot goes unused. One round trip for the batch; the oldest message of a pair
    goes first."""
    now = time.monotonic()
    turns = sorted(
        (message for message in messages if plan[message.pk].retry_in is None),
        key=lambda message: message.pk,
    )
    waits = ratelimit.space(
        [
            (
                f"pair:{message.account_id}:{message.phone_number_id}:{message.contact_number}",
                max(plan[message.pk].at - now, 0.0),
                plan[message.pk].until - now,
            )
            for message in turns
        ],
        interval=settings.SEND_PAIR_SECONDS,
    )
    for message, wait in zip(turns, waits, strict=True):
        if wait:
            plan[message.pk] = _Turn(retry_in=wait)


def _fetch_media(message: Message, graph) -> None:
    """The file of a send that asked TextPeak to fetch it, fetched and uploaded, once: the
    message goes by the media id from then on (in memory: a late one's next slot in this task
    does not fetch again; a retry from the queue does). It runs on the message's own thread,
    before its slot, so a slow server holds back no other message for longer than its own
    fetch timeout."""
    content = message.payload
    if content.get("fetch") and "id" not in content:
        media_id = media_fetch_upload(
            graph=graph,
            phone_number_id=message.phone_number_id,
            url=content["url"],
            kind=message.type,
        )
        message.payload = {**content, "id": media_id}


def _send_one(message: Message, graph, turn: _Turn) -> _Outcome:
    if turn.retry_in is not None:
        return _Outcome(message, deferred=turn.retry_in)
    try:
        _fetch_media(message, graph)
    except GraphError as error:
        return _Outcome(message, error=error)
    delay = turn.at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    if time.monotonic() >= turn.until:
        # A busy worker got here too late: sent now, the message could arrive in the next
        # second, on top of that second's own slots.
        return _Outcome(message, late=True)
    try:
        return _Outcome(
            message, wamid=graph.send_message(message.phone_number_id, meta_payload(message))
        )
    except GraphError as error:
        return _Outcome(message, error=error)
    except Exception:
        # One message's surprise must not lose what the rest of the batch did.
        logger.exception("Sending message %s failed unexpectedly", message.uuid)
        return _Outcome(message, error=TemporaryError("Unexpected error while sending"))


class _NoAccount:
    """The graph of a stream whose WhatsApp settings were never saved: nothing can be sent."""

    def send_message(self, phone_number_id: str, payload: dict) -> str:
        raise GraphError(self.NO_ACCOUNT)

    def upload_media(self, phone_number_id: str, file, **details) -> str:
        raise GraphError(self.NO_ACCOUNT)

    NO_ACCOUNT = "The stream has no WhatsApp account: finish its WhatsApp Settings."


def retry_delay(attempts: int) -> float:
    """Exponential back-off with jitter: about 2, 4, 8 … seconds, at most ten minutes."""
    base = settings.SEND_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return min(base, 600.0) * random.uniform(0.5, 1.5)  # noqa: S311 (jitter, not secrecy)


def messages_send(*, message_ids: list[int]) -> None:
    """Send the given messages that are still queued and due; safe to run twice."""
    messages = _claim_messages(message_ids)
    if not messages:
        return
    accounts = {
        account.stream_id: account
        for account in WhatsAppAccount.objects.filter(
            stream_id__in={m.stream_id for m in messages}
        ).select_related("stream")
    }
    rates = sender_rates(
        account_ids={m.account_id for m in messages},
        phone_number_ids={m.phone_number_id for m in messages},
    )
    graphs = {stream_id: graph_for(account) for stream_id, account in accounts.items()}
    missing = [m for m in messages if m.stream_id not in graphs]
    for message in missing:
        graphs[message.stream_id] = _NoAccount()
    _send_in_turn(messages, graphs, rates)


def _send_in_turn(messages: list[Message], graphs: dict, rates: dict) -> None:
    """Send each message in a slot of its sender's limit, and record the outcomes as the calls
    return, a few milliseconds' worth at a time (``SEND_RECORD_SECONDS``): a worker killed
    mid-batch leaves only the calls it had in flight to be made again. One that was late for
    its slot gets the sender's next free slot here: going back through the queue would cost a
    claim, an update and a task, on a worker already too busy to keep its slots."""
    for _ in range(SLOT_TRIES):
        plan = _plan(messages, rates)
        messages, stopped = _still_sending(messages)
        _record([_Outcome(message, held=True) for message in stopped])
        late: list[Message] = []
        for group in run_in_groups(
            "send",
            settings.SEND_THREADS,
            lambda m, plan=plan: _send_one(m, graphs[m.stream_id], plan[m.pk]),
            messages,
            seconds=settings.SEND_RECORD_SECONDS,
        ):
            _record([outcome for outcome in group if not outcome.late])
            late += [outcome.message for outcome in group if outcome.late]
        messages = late
        if not messages:
            return
    _record([_Outcome(message, deferred=0.0) for message in messages])


def _still_sending(messages: list[Message]) -> tuple[list[Message], list[Message]]:
    """The messages whose stream may still send, and the others: a stream disabled, deleted
    or left without access since the claim stops its messages here, just before the calls to
    WhatsApp (one query for the batch). A slot's wait, at most ``MAX_SLOT_WAIT``, is all that
    can pass between this and a send."""
    streams = {message.stream_id for message in messages}
    sending = set(sending_streams().filter(pk__in=streams).values_list("pk", flat=True))
    if len(sending) == len(streams):
        return messages, []
    return (
        [message for message in messages if message.stream_id in sending],
        [message for message in messages if message.stream_id not in sending],
    )


def _record(outcomes: list[_Outcome]) -> None:
    """Write the outcomes of the messages still held by this claim, in one transaction: one
    that was claimed again after its claim ran out must not be written back to queued, and one
    row that cannot be written must not lose the batch's others."""
    lost = outbox.record(outcomes, row=lambda outcome: outcome.message, write=_record_held)
    if lost:
        logger.warning(
            "%d send outcomes not recorded: claimed again, or rejected as their stream was deleted",
            lost,
        )


class _Kind(enum.Enum):
    """What an outcome comes to for its message."""

    SENT = enum.auto()
    # No rate-limit slot soon enough: queued again shortly, and not counted as an attempt.
    DEFERRED = enum.auto()
    # Its stream stopped sending after the claim: queued, waiting, not counted as an attempt.
    HELD = enum.auto()
    # WhatsApp's error may pass: tried again after a back-off.
    RETRY = enum.auto()
    # WhatsApp refused it for good, or its retries are used up.
    FAILED = enum.auto()
    # WhatsApp refused the stream's token: failed, and the token marked refused.
    TOKEN_REFUSED = enum.auto()


def _classify(outcome: _Outcome) -> _Kind:
    """What the outcome comes to for its message: the one place that decides it."""
    if outcome.wamid:
        return _Kind.SENT
    if outcome.deferred is not None:
        return _Kind.DEFERRED
    if outcome.held:
        return _Kind.HELD
    error = outcome.error
    if isinstance(error, AuthError):
        return _Kind.TOKEN_REFUSED
    # WhatsApp asking us to slow down is not the message's fault: a long throttle backs off
    # to the ten-minute ceiling but never uses up the message's retries.
    throttled = isinstance(error, RateLimited)
    if error.retryable and (throttled or outcome.message.attempts < settings.SEND_MAX_ATTEMPTS):
        return _Kind.RETRY
    return _Kind.FAILED


def _record_held(outcomes: list[_Outcome]) -> None:
    """Write each outcome as its kind says. The writers of WhatsApp's errors change their
    messages in memory and return an event for each, so that the batch's errors take one
    UPDATE and one INSERT whatever their kinds."""
    now = timezone.now()
    by_kind: dict[_Kind, list[_Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[_classify(outcome)].append(outcome)
    _write_sent(by_kind[_Kind.SENT], now)
    _write_deferred(by_kind[_Kind.DEFERRED], now)
    _write_held(by_kind[_Kind.HELD], now)
    events = [
        *_write_retry(by_kind[_Kind.RETRY], now),
        *_write_failed(by_kind[_Kind.FAILED], now),
        *_write_token_refused(by_kind[_Kind.TOKEN_REFUSED], now),
    ]
    Message.objects.bulk_update([event.message for event in events], _OUTCOME_FIELDS)
    MessageEvent.objects.bulk_create(events)


def _write_sent(outcomes: list[_Outcome], now: datetime) -> None:
    """Sent, under WhatsApp's wamid. Usually the whole batch: one UPDATE (bulk_update of every
    field costs milliseconds per message) and one INSERT of their events."""
    if not outcomes:
        return
    update_each(
        Message,
        "wamid",
        {outcome.message.pk: outcome.wamid for outcome in outcomes},
        status=Message.Status.SENT,
        sent_at=now,
        # An earlier attempt's error no longer describes the message.
        error_code="",
        error_message="",
        claim_id=None,
        claimed_until=None,
        updated_at=now,
    )
    insert_each(
        MessageEvent,
        "message",
        [outcome.message.pk for outcome in outcomes],
        status=Message.Status.SENT,
        occurred_at=now,
    )
    pending_statuses_apply(wamids=[outcome.wamid for outcome in outcomes])
    metrics.messages_sent([(o.message.stream_type, o.message.created_at) for o in outcomes], now)
    for outcome in outcomes:
        logger.info(
            "Message sent as %s",
            outcome.wamid,
            extra=logcontext.about(message_uuid=outcome.message.uuid),
        )


def _write_deferred(outcomes: list[_Outcome], now: datetime) -> None:
    """Due again once their wait for a slot is over, which is soon: a countdown in the broker."""
    waits, countdowns = defaultdict(list), defaultdict(list)
    for outcome in outcomes:
        waits[outcome.deferred].append(outcome.message.pk)
        countdowns[math.ceil(outcome.deferred)].append(outcome.message.pk)
    for wait, ids in waits.items():
        # A batch's deferred messages share their wait: one UPDATE for them, where bulk_update
        # would build a CASE per row and field (a worker falling behind defers many).
        Message.objects.filter(pk__in=ids).update(
            # Waiting for the sender's rate limit is not a failed attempt.
            attempts=F("attempts") - 1,
            next_attempt_at=now + timedelta(seconds=wait),
            claim_id=None,
            claimed_until=None,
            updated_at=now,
        )
    for countdown, ids in countdowns.items():
        if countdown <= outbox.MAX_COUNTDOWN:
            messages_enqueue(ids, countdown=countdown)


def _write_held(outcomes: list[_Outcome], now: datetime) -> None:
    """Queued, waiting for their stream: enqueued again when the stream is enabled, or swept
    once its account has access again. Not an attempt either."""
    if outcomes:
        Message.objects.filter(pk__in=[outcome.message.pk for outcome in outcomes]).update(
            attempts=F("attempts") - 1, claim_id=None, claimed_until=None, updated_at=now
        )


def _write_retry(outcomes: list[_Outcome], now: datetime) -> list[MessageEvent]:
    """Due again after a back-off: from a countdown in the broker when soon, else from the
    sweeper."""
    events, later = [], defaultdict(list)
    for outcome in outcomes:
        message = outcome.message
        delay = retry_delay(message.attempts)
        message.next_attempt_at = now + timedelta(seconds=delay)
        later[delay].append(message.pk)
        note = f"Attempt {message.attempts} failed; retrying in {delay:.0f} s"
        logger.info(
            "Message not sent (%s): %s",
            outcome.error.code,
            note,
            extra=logcontext.about(message_uuid=message.uuid),
        )
        events.append(_answered_with_error(outcome, now, note))
    for delay, ids in later.items():
        if delay <= outbox.MAX_COUNTDOWN:
            messages_enqueue(ids, countdown=delay)
    return events


def _write_failed(outcomes: list[_Outcome], now: datetime) -> list[MessageEvent]:
    """``sent_failed``, with WhatsApp's code and text."""
    events = []
    for outcome in outcomes:
        outcome.message.status, outcome.message.failed_at = Message.Status.SENT_FAILED, now
        note = "Gave up after retries" if outcome.error.retryable else "Not retried"
        logger.info(
            "Message failed (%s): %s",
            outcome.error.code,
            note,
            extra=logcontext.about(message_uuid=outcome.message.uuid),
        )
        events.append(_answered_with_error(outcome, now, note))
    metrics.messages_failed([(o.message.stream_type, o.error.code) for o in outcomes])
    return events


def _write_token_refused(outcomes: list[_Outcome], now: datetime) -> list[MessageEvent]:
    """Failed, and the stream's token marked refused (its stream Needs attention) until the
    user replaces it."""
    if outcomes:
        streams = {outcome.message.stream_id for outcome in outcomes}
        problems.tokens_rejected(
            account_ids=WhatsAppAccount.objects.filter(stream_id__in=streams).values_list(
                "pk", flat=True
            ),
            at=now,
        )
    return _write_failed(outcomes, now)


def _answered_with_error(outcome: _Outcome, now: datetime, note: str) -> MessageEvent:
    """The message unclaimed with WhatsApp's error on it, and its event, both in memory."""
    message, error = outcome.message, outcome.error
    message.claim_id = message.claimed_until = None
    message.updated_at = now
    message.error_code = str(error.code or "")
    message.error_message = error.message[:1000]
    return MessageEvent(
        message=message,
        status=message.status,
        occurred_at=now,
        error_code=message.error_code,
        error_message=message.error_message,
        note=note,
    )
