"""Writes to streams. Views, admin actions and tasks call these; they own the transaction."""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from streams import tokens, types
from streams.models import Stream, Tag
from textpeak.accounts.models import Account

# How long Regenerate token can keep the old token working.
OLD_TOKEN_OVERLAP = timedelta(hours=24)
_NO_OLD_TOKEN = {"old_token_hash": None, "old_token_prefix": "", "old_token_expires_at": None}
_OLD_TOKEN_FIELDS = ["token_hash", "token_prefix", *_NO_OLD_TOKEN]


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
    """Create a Draft (no ``stream``) or update a stream's details, keeping its status.

    Demo Sending changes on drafts only: a stream in use keeps sending the way it was set up.
    """
    if stream is None:
        stream = Stream(account=account, type=type, status=Stream.Status.DRAFT)
    elif not stream.is_draft:
        is_demo = stream.is_demo
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


class NotReady(Exception):
    """The stream's saved details are not complete enough to make it Ready."""


@transaction.atomic
def stream_activate(*, stream: Stream, steps_done: int) -> str | None:
    """Create Stream: the draft becomes Ready with its first token, returned once.

    None if the stream is no longer a draft (a second click raced the first), so the token
    the first click showed stays the one that works.
    """
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if not stream.is_draft:
        return None
    if stream.ip_acl_enabled and not stream.allowed_networks:
        raise NotReady(
            "Enable IP ACL is on but no address is listed: add one in Stream API Details, "
            "or turn the ACL off."
        )
    _require_ready(stream)
    issued = tokens.issue()
    stream.token_hash, stream.token_prefix = issued.hash, issued.prefix
    stream.status = Stream.Status.READY
    stream.setup_progress = steps_done
    stream.save()
    return issued.token


def _in_use(stream: Stream):
    """The stream's row, if it still exists and is not a draft (which has no token yet)."""
    return Stream.objects.filter(pk=stream.pk, deleted_at__isnull=True).exclude(
        status=Stream.Status.DRAFT
    )


def stream_token_regenerate(*, stream: Stream, keep_old: bool = False) -> str | None:
    """A new token, returned once. The old one stops working at once or, with ``keep_old``,
    is accepted for ``OLD_TOKEN_OVERLAP`` more, so applications move to the new one without a
    refused request. A token an earlier Regenerate kept stops now either way. None if the
    stream was deleted meanwhile (or is a draft)."""
    issued = tokens.issue()
    now = timezone.now()
    old = _NO_OLD_TOKEN
    if keep_old:
        # One UPDATE reads the row's current token as it replaces it: two Regenerates at
        # once cannot keep a token neither of them replaced.
        old = {
            "old_token_hash": F("token_hash"),
            "old_token_prefix": F("token_prefix"),
            "old_token_expires_at": now + OLD_TOKEN_OVERLAP,
        }
    if not _in_use(stream).update(
        token_hash=issued.hash, token_prefix=issued.prefix, updated_at=now, **old
    ):
        return None
    stream.refresh_from_db(fields=_OLD_TOKEN_FIELDS)
    return issued.token


def _change_status(stream: Stream, current: str, new: str) -> bool:
    if not _in_use(stream).filter(status=current).update(status=new, updated_at=timezone.now()):
        return False
    stream.status = new
    return True


def stream_disable(*, stream: Stream) -> bool:
    """Pause a Ready stream: its token is refused and its queued messages are held (the
    workers skip them) until it is enabled. False if not Ready."""
    return _change_status(stream, Stream.Status.READY, Stream.Status.DISABLED)


@transaction.atomic
def _require_ready(stream: Stream) -> None:
    stream_type = types.find(stream.type)
    if stream_type and (problem := stream_type.ready_problem(stream)):
        raise NotReady(problem)


@transaction.atomic
def stream_enable(*, stream: Stream) -> bool:
    """Resume a Disabled stream; the messages it held go out at once. False if it was not
    Disabled; NotReady if what it needs to be Ready is missing."""
    if not _in_use(stream).select_for_update().filter(status=Stream.Status.DISABLED).exists():
        return False
    _require_ready(stream)
    if not _change_status(stream, Stream.Status.DISABLED, Stream.Status.READY):
        return False
    stream_type = types.find(stream.type)
    if stream_type:
        stream_type.release(stream)
    return True


@transaction.atomic
def stream_delete(*, stream: Stream) -> bool:
    """Hide the stream, revoke its token and forget its credentials; its queued messages are
    rejected, and its messages stay for the account's history. False if it was already
    deleted."""
    now = timezone.now()
    if not Stream.objects.filter(pk=stream.pk, deleted_at__isnull=True).update(
        deleted_at=now, token_hash=None, updated_at=now, **_NO_OLD_TOKEN
    ):
        return False
    stream.deleted_at, stream.token_hash, stream.old_token_hash = now, None, None
    stream_type = types.find(stream.type)
    if stream_type:
        stream_type.forget(stream)
    return True
