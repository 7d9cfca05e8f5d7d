"""Reads of WhatsApp messages, always scoped to one stream."""

import re

from django.db.models import Prefetch, Q, QuerySet

from streams.models import Stream
from whatsapp.models import Message, MessageEvent

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
