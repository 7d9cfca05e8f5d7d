"""Reads of streams, always scoped to one account."""

from django.db.models import QuerySet

from streams.models import Stream, Tag
from textpeak.accounts.models import Account


def stream_list(
    *, account: Account, name: str = "", status: str = "", tag: str = ""
) -> QuerySet[Stream]:
    """The account's streams, newest first, narrowed by the Streams API page's filters."""
    streams = Stream.objects.for_account(account)
    if name:
        streams = streams.filter(name__icontains=name)
    if status:
        streams = streams.filter(status=status)
    if tag:
        streams = streams.filter(tags__name__iexact=tag)
    return streams.prefetch_related("tags").order_by("-created_at", "-id")


def tag_names(*, account: Account) -> list[str]:
    return list(Tag.objects.filter(account=account).values_list("name", flat=True))
