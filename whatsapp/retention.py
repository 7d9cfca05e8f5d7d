"""The retention purge of WhatsApp rows (README, Retention): Meta payloads that failed every
attempt, messages past their period (each counted first in its stream's daily totals) and the
contents of messages past theirs. A message still queued or claimed, and a payload still being
tried, are never touched."""

import logging
from collections import Counter
from datetime import datetime
from functools import partial

from celery import shared_task
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from streams.models import Stream
from textpeak.accounts import retention
from textpeak.lib.purge import BATCH, Run, delete_in_batches
from whatsapp.models import (
    IN_FLIGHT_STATUS,
    ContentPurge,
    InboundPayload,
    Message,
    MessageDailyCount,
)
from whatsapp.types import WhatsAppStreamType

logger = logging.getLogger(__name__)


def whatsapp_purge(*, run: Run | None = None) -> Run:
    """Remove what has outlived its account's period, in short batches, until nothing is left
    or the run's time is up. Safe to run again, or twice at once: a message is counted in the
    transaction that deletes it, and rows another run holds are skipped."""
    run = run or Run()
    now = timezone.now()
    payloads = retention.cutoffs(retention.PAYLOAD, now=now)
    delete_in_batches(
        InboundPayload.objects.filter(
            payloads.expired(account="stream__account_id", time="received_at"),
            attempts__gte=InboundPayload.MAX_ATTEMPTS,
        ).order_by("received_at"),
        run=run,
        kind="payloads",
    )
    messages = retention.cutoffs(retention.MESSAGE, now=now)
    contents = retention.cutoffs(retention.CONTENT, now=now)
    blanked = dict(ContentPurge.objects.values_list("stream_id", "blanked_before"))
    streams = Stream.objects.filter(type=WhatsAppStreamType.slug).order_by("id")
    for stream_id, account_id in streams.values_list("id", "account_id"):
        if not run.has_time():
            break
        # Through the (stream, created_at) index, oldest first: each batch a short range.
        delete_in_batches(
            Message.objects.filter(
                stream_id=stream_id, created_at__lt=messages.for_account(account_id)
            )
            .exclude(status=IN_FLIGHT_STATUS)
            .order_by("created_at"),
            run=run,
            kind="messages",
            fields=("pk", "created_at", "direction", "status", "pricing_category"),
            before_delete=partial(_count_days, stream_id),
        )
        _blank_contents(
            stream_id,
            since=blanked.get(stream_id),
            before=contents.for_account(account_id),
            run=run,
        )
    if run.removed:
        logger.info(
            "Retention purge: %s%s",
            ", ".join(f"{rows} {kind}" for kind, rows in run.removed.items()),
            "" if run.finished else " (out of time; the next run goes on)",
        )
    return run


def _count_days(stream_id: int, rows: list[tuple]) -> None:
    """Add the messages about to be deleted to their stream's daily counts: one statement
    whose rows add to those already there (an UPSERT the ORM cannot write)."""
    counts = Counter(
        (timezone.localdate(created_at), direction, status, category)
        for _, created_at, direction, status, category in rows
    )
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = MessageDailyCount._meta
    day = meta.get_field("day")
    table = quote(meta.db_table)
    columns = [
        quote(meta.get_field(name).column)
        for name in ("stream", "day", "direction", "status", "pricing_category")
    ]
    messages = quote(meta.get_field("messages").column)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(counts))
    # Names from the model, quoted; the values are parameters.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, {messages}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({', '.join(columns)}) "
        f"DO UPDATE SET {messages} = {table}.{messages} + excluded.{messages}"
    )
    params = []
    for (date, direction, status, category), number in counts.items():
        day_value = day.get_db_prep_value(date, connection)
        params += [stream_id, day_value, direction, status, category, number]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _blank_contents(stream_id: int, *, since: datetime | None, before: datetime, run: Run) -> None:
    """Blank the contents of the stream's messages created from ``since`` until ``before``,
    oldest first, and note how far it came: each run starts where the last one stopped rather
    than read again the rows it blanked."""
    if since is not None and since >= before:
        return
    unblanked = (
        Message.objects.filter(stream_id=stream_id, created_at__lt=before)
        .exclude(status=IN_FLIGHT_STATUS)
        .exclude(payload={})
        .order_by("created_at")
    )
    reached = since
    while run.has_time():
        rows = unblanked if reached is None else unblanked.filter(created_at__gte=reached)
        batch = list(rows.values_list("pk", "created_at")[:BATCH])
        # Queued since it was read: its contents are still to be sent.
        blanked = (
            Message.objects.filter(pk__in=[pk for pk, _ in batch])
            .exclude(status=IN_FLIGHT_STATUS)
            .update(payload={})
        )
        run.count("contents", blanked)
        if len(batch) < BATCH:
            reached = before
            break
        reached = batch[-1][1]
    if reached != since:
        ContentPurge.objects.bulk_create(
            [ContentPurge(stream_id=stream_id, blanked_before=reached)],
            update_conflicts=True,
            unique_fields=["stream"],
            update_fields=["blanked_before"],
        )


@shared_task(name="whatsapp.tasks.purge_expired_messages")
def purge_expired_messages() -> None:
    """Beat: purge the WhatsApp rows past their retention, for ``RETENTION_PURGE_SECONDS``."""
    whatsapp_purge()
