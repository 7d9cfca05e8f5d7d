"""Reads of streams, always scoped to one account."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from streams.models import Stream, Tag
from textpeak.accounts.models import Account


def stream_list(
    *, account: Account, name: str = "", status: str = "", tag: str = ""
) -> QuerySet[Stream]:
    """The account's streams, newest first, narrowed by the Streams API page's filters."""
    streams = Stream.objects.for_account(account).with_sending()
    if name:
        streams = streams.filter(name__icontains=name)
    if status in ("ready", "sending"):
        streams = streams.filter(status=Stream.Status.READY, is_sending=status == "sending")
    elif status:
        streams = streams.filter(status=status)
    if tag:
        streams = streams.filter(tags__name__iexact=tag)
    return streams.prefetch_related("tags").order_by("-created_at", "-id")


def tag_names(*, account: Account, containing: str = "") -> list[str]:
    tags = Tag.objects.filter(account=account)
    if containing:
        tags = tags.filter(name__icontains=containing)
    return list(tags.values_list("name", flat=True))


def message_statistics(*, stream: Stream) -> list[dict]:
    """Messages by status today, in the last 7 days and in all, for the Info tab."""
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    counts = {
        row["status"]: row
        for row in stream.messages.values("status").annotate(
            today=Count("id", filter=Q(created_at__gte=today)),
            week=Count("id", filter=Q(created_at__gte=now - timedelta(days=7))),
            total=Count("id"),
        )
    }
    empty = {"today": 0, "week": 0, "total": 0}
    return [
        {"status": status, "label": label, **{k: counts.get(status, empty)[k] for k in empty}}
        for status, label in stream.messages.model.Status.choices
    ]
