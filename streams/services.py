"""Writes to streams. Views, admin actions and tasks call these; they own the transaction."""

from django.db import transaction
from django.utils import timezone

from streams import tokens
from streams.models import Stream, Tag
from textpeak.accounts.models import Account


def _tags(*, account: Account, names: list[str]) -> list[Tag]:
    tags = []
    for name in names:
        tag = Tag.objects.filter(account=account, name__iexact=name).first()
        tags.append(tag or Tag.objects.create(account=account, name=name))
    return tags


@transaction.atomic
def stream_save_details(
    *,
    account: Account,
    stream: Stream | None = None,
    type: str = "",
    name: str,
    description: str = "",
    ip_acl_enabled: bool = False,
    allowed_networks: list[str] = (),
    tag_names: list[str] = (),
    is_demo: bool = False,
) -> Stream:
    """Create a Draft (no ``stream``) or update a stream's details, keeping its status."""
    if stream is None:
        stream = Stream(account=account, type=type, status=Stream.Status.DRAFT)
    elif stream.is_demo != is_demo:
        # Demo and real streams get their senders differently: the WhatsApp step is due again.
        stream.setup_progress = min(stream.setup_progress, 1)
    stream.name = name
    stream.description = description
    stream.ip_acl_enabled = ip_acl_enabled
    stream.allowed_networks = list(allowed_networks)
    stream.is_demo = is_demo
    stream.save()
    stream.tags.set(_tags(account=account, names=tag_names))
    return stream


def stream_mark_progress(*, stream: Stream, steps_done: int) -> None:
    if stream.setup_progress < steps_done:
        stream.setup_progress = steps_done
        stream.save(update_fields=["setup_progress", "updated_at"])


def _issue_token(stream: Stream) -> str:
    issued = tokens.issue()
    stream.token_hash = issued.hash
    stream.token_prefix = issued.prefix
    return issued.token


@transaction.atomic
def stream_activate(*, stream: Stream, steps_done: int) -> str | None:
    """Create Stream: the draft becomes Ready with its first token, returned once.

    None if the stream is no longer a draft (a second click raced the first), so the token
    the first click showed stays the one that works.
    """
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if not stream.is_draft:
        return None
    token = _issue_token(stream)
    stream.status = Stream.Status.READY
    stream.setup_progress = steps_done
    stream.save()
    return token


def stream_token_regenerate(*, stream: Stream) -> str:
    """A new token, returned once; the old one stops working at once."""
    token = _issue_token(stream)
    stream.save(update_fields=["token_hash", "token_prefix", "updated_at"])
    return token


def stream_disable(*, stream: Stream) -> None:
    stream.status = Stream.Status.DISABLED
    stream.save(update_fields=["status", "updated_at"])


def stream_enable(*, stream: Stream) -> None:
    stream.status = Stream.Status.READY
    stream.save(update_fields=["status", "updated_at"])


def stream_delete(*, stream: Stream) -> None:
    """Hide the stream and revoke its token; its messages stay for the account's history."""
    stream.deleted_at = timezone.now()
    stream.token_hash = None
    stream.save(update_fields=["deleted_at", "token_hash", "updated_at"])
