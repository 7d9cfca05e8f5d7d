"""Reads of WhatsApp messages, always scoped to one stream."""

import re
import uuid
from datetime import timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
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
    (its status history) are prefetched, so a page of messages costs the same few queries
    however many rows it has.
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
    return messages.prefetch_related(Prefetch("events", queryset=events)).order_by(
        "-created_at", "-id"
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
