"""Reads of streams, scoped to one account (the workers' ``sending_streams`` aside)."""

from django.db.models import Q, QuerySet

from streams import types
from streams.models import Stream, Tag
from textpeak.accounts import beta
from textpeak.accounts.models import Account


def sending_streams() -> QuerySet[Stream]:
    """The streams whose queued messages may go out: Ready, not deleted, on an account with
    access to the type's beta feature. The others' messages are held: a disabled stream's
    until it is enabled, those of an account whose access was revoked until it is granted
    again. Used as a subquery by the sending workers' claims and sweeper."""
    allowed = Q(pk__in=[])
    for stream_type in types.all_types():
        if stream_type.beta_feature:
            accounts = beta.accounts_with_access(feature=stream_type.beta_feature)
            allowed |= Q(type=stream_type.slug, account__in=accounts)
        else:
            allowed |= Q(type=stream_type.slug)
    return Stream.objects.filter(allowed, status=Stream.Status.READY, deleted_at__isnull=True)


def stream_list(
    *, account: Account, name: str = "", status: str = "", tag: str = ""
) -> QuerySet[Stream]:
    """The account's streams, newest first, narrowed by the Streams API page's filters."""
    streams = Stream.objects.for_account(account).with_sending().with_attention()
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
    """Messages by status today, in the last 7 days and in all, for the Info tab; the
    messages are the stream type's."""
    stream_type = types.find(stream.type)
    return stream_type.message_statistics(stream) if stream_type else []
