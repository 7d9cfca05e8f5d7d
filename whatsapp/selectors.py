"""Reads of WhatsApp messages, always scoped to one stream."""

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from streams.models import Stream
from whatsapp.models import (
    IN_FLIGHT_STATUS,
    Message,
    MessageDailyCount,
    MessageEvent,
)

# What people type around a phone number's digits: "+44 7700-900 123", "(555) 0100".
NUMBER_SEPARATORS = re.compile(r"[\s+().-]")


def normalize_number(number: str) -> str:
    """The number as messages store it: its digits, without "+", spaces or separators."""
    return NUMBER_SEPARATORS.sub("", number)


def message_list(
    *, stream: Stream, status: str = "", direction: str = "", number: str = ""
) -> QuerySet[Message]:
    """The stream's messages, newest first, narrowed by the Messages tab's filters.

    ``number`` matches part of the contact's or the sender's number. Each message's events
    (its status history) and read receipt are fetched with it, so a page of messages costs the
    same few queries however many rows it has.
    """
    messages = Message.objects.filter(stream=stream)
    if status:
        messages = messages.filter(status=status)
    if direction:
        messages = messages.filter(direction=direction)
    if digits := normalize_number(number):
        messages = messages.filter(
            Q(contact_number__contains=digits) | Q(sender_number__contains=digits)
        )
    events = MessageEvent.objects.order_by("occurred_at", "id")
    # A received message's read receipt, if any, in the same query (a LEFT JOIN).
    return (
        messages.select_related("read_receipt")
        .prefetch_related(Prefetch("events", queryset=events))
        .order_by("-created_at", "-id")
    )


def messages_in_flight(*, stream) -> QuerySet[Message]:
    """The stream's messages queued or in flight; ``stream`` may be an ``OuterRef``."""
    return Message.objects.filter(stream=stream, status=IN_FLIGHT_STATUS)


def message_statistics(*, stream: Stream) -> list[dict]:
    """Messages by status today, in the last 7 days and in all, for the Info tab: the messages
    kept, and in all also those the retention purge deleted, counted by day as it deleted them
    (``whatsapp.retention``; it keeps at least the last 8 days)."""
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    counts = {
        row["status"]: row
        for row in Message.objects.filter(stream=stream)
        .values("status")
        .annotate(
            today=Count("id", filter=Q(created_at__gte=today)),
            week=Count("id", filter=Q(created_at__gte=now - timedelta(days=7))),
            total=Count("id"),
        )
    }
    purged = dict(
        MessageDailyCount.objects.filter(stream=stream)
        .values("status")
        .annotate(messages=Sum("messages"))
        .values_list("status", "messages")
    )
    empty = {"today": 0, "week": 0, "total": 0}
    return [
        {
            "status": status,
            "label": label,
            **{k: counts.get(status, empty)[k] for k in empty},
            "total": counts.get(status, empty)["total"] + purged.get(status, 0),
        }
        for status, label in Message.Status.choices
    ]


@dataclass(frozen=True)
class DailyCounts:
    """A stream's messages per day: by status, and its outbound ones by pricing category
    ("" for those Meta has not priced)."""

    days: list[date]
    statuses: Counter  # (day, status) → messages
    categories: Counter  # (day, pricing category) → outbound messages


def message_daily_counts(*, stream: Stream, days: int) -> DailyCounts:
    """The stream's messages of the last ``days`` days, today included, per day: those kept
    and those the retention purge deleted, counted by day as it deleted them."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=timezone.get_current_timezone())
    statuses, categories = Counter(), Counter()
    kept = (
        Message.objects.filter(stream=stream, created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "direction", "status", "pricing_category")
        .annotate(messages=Count("id"))
        .order_by()
    )
    purged = (
        MessageDailyCount.objects.filter(stream=stream, day__gte=first)
        .values_list("day", "direction", "status", "pricing_category")
        .annotate(messages=Sum("messages"))
        .order_by()
    )
    for rows in (kept, purged):
        for day, direction, status, category, messages in rows:
            statuses[day, status] += messages
            if direction == Message.Direction.OUTBOUND:
                categories[day, category] += messages
    return DailyCounts(
        days=[first + timedelta(days=n) for n in range(days)],
        statuses=statuses,
        categories=categories,
    )


# The export's columns (``message_export``), in order.
EXPORT_COLUMNS = (
    "message_uuid",
    "created_at",
    "direction",
    "sender",
    "recipient",
    "type",
    "status",
    "internal_id",
    "billable",
    "category",
    "model",
    "pricing_type",
    "conversation_id",
    "conversation_origin",
)


def message_export(*, stream: Stream, since: datetime, until: datetime) -> Iterator[tuple]:
    """The stream's messages created from ``since`` until before ``until``, oldest first,
    one tuple of ``EXPORT_COLUMNS`` each: read from the database in chunks as they are
    consumed, so that a long period never sits in memory."""
    rows = (
        Message.objects.filter(stream=stream, created_at__gte=since, created_at__lt=until)
        .order_by("created_at", "id")
        .values_list(
            "uuid",
            "created_at",
            "direction",
            "sender_number",
            "contact_number",
            "contact_user_id",
            "type",
            "status",
            "internal_id",
            "pricing_billable",
            "pricing_category",
            "pricing_model",
            "pricing_type",
            "conversation_id",
            "conversation_origin",
        )
    )
    for (
        message_uuid,
        created_at,
        direction,
        our_number,
        contact_number,
        contact_user_id,
        *rest,
    ) in rows.iterator(chunk_size=2000):
        contact = contact_number or contact_user_id
        sender, recipient = (
            (our_number, contact)
            if direction == Message.Direction.OUTBOUND
            else (contact, our_number)
        )
        yield (str(message_uuid), created_at.isoformat(), direction, sender, recipient, *rest)


def _canonical_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def message_statuses(*, stream: Stream, uuids: list[str]) -> list[dict]:
    """The current status of each of the stream's messages, in the order asked; others are
    ``not_found``."""
    canonical = {value: _canonical_uuid(value) for value in uuids}
    found = {
        str(m.uuid): m
        for m in Message.objects.filter(
            stream=stream, uuid__in={u for u in canonical.values() if u}
        ).only(
            "uuid",
            "status",
            "error_code",
            "error_message",
            "updated_at",
            "pricing_billable",
            "pricing_category",
            "pricing_model",
        )
    }
    answers = []
    for value in uuids:
        message = found.get(canonical[value])
        if message is None:
            answers.append(
                {
                    "message_uuid": value,
                    "status": "not_found",
                    "error": None,
                    "updated_at": None,
                    "pricing": None,
                }
            )
            continue
        error = None
        if message.error_message:
            error = {"code": message.error_code or None, "message": message.error_message}
        answers.append(
            {
                "message_uuid": value,
                "status": message.status,
                "error": error,
                "updated_at": message.updated_at.isoformat(),
                "pricing": message.pricing,
            }
        )
    return answers
