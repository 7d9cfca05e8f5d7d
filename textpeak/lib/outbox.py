"""Rows that workers claim, work on and record: the mechanics the sends and deliveries share.

Work is a row first and a task second. A service inserts the rows and ``enqueue``s their ids
once they are committed, `BATCH_SIZE` ids a task. The task's worker ``claim``s its rows, does
the work outside any transaction, and ``record``s the outcomes of the rows its claim still
holds; ``sweep`` enqueues again whatever the broker lost, a killed worker left, or a retry too
far away for a countdown.

A row is free when it has no ``claim_id`` or its ``claimed_until`` has passed (its worker died).
One conditional UPDATE marks the free rows with a new ``claim_id``, so two workers can never
hold the same row, and only the worker whose claim is still on a row records its outcome.

The rows' model has ``claim_id``, ``claimed_until`` and ``next_attempt_at``; which rows are due
and what an outcome means stay with each outbox.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from celery import Task
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from textpeak.lib.tasks import enqueue_ids_on_commit

T = TypeVar("T")

# Row ids a task at most: one worker's batch.
BATCH_SIZE = 100
# Retries closer than this wait in the broker (a countdown); later ones wait for the sweeper.
MAX_COUNTDOWN = 60.0


def enqueue(task: Task, ids: Iterable, *, countdown: float = 0) -> None:
    """Enqueue ``task`` for the rows ``ids`` after the current transaction commits, in tasks of
    `BATCH_SIZE`, to run ``countdown`` seconds later if given."""
    enqueue_ids_on_commit(task, list(ids), batch_size=BATCH_SIZE, countdown=countdown)


def free(rows: QuerySet) -> QuerySet:
    """The rows among ``rows`` that no worker holds."""
    return rows.filter(Q(claim_id__isnull=True) | Q(claimed_until__lt=timezone.now()))


def claim(rows: QuerySet, *, seconds: float, **changes) -> QuerySet:
    """Claim the free rows among ``rows`` for ``seconds``, applying ``changes`` in the same
    UPDATE; returns the rows claimed (none when another worker holds them all)."""
    claim_id = uuid.uuid4()
    claimed = free(rows).update(
        claim_id=claim_id, claimed_until=timezone.now() + timedelta(seconds=seconds), **changes
    )
    return rows.model.objects.filter(claim_id=claim_id) if claimed else rows.none()


def claim_with_more(
    due: QuerySet, ids: Iterable, *, sharing: str, seconds: float, **changes
) -> QuerySet:
    """``claim`` the rows of ``due`` among ``ids``, and up to `BATCH_SIZE` more of ``due`` that
    share their ``sharing`` field (their stream, their webhook), the longest due first.

    Work that arrives one row at a time is enqueued a task a row: the first of those tasks to
    reach a worker takes what the others enqueued since, so the rows share one claim, one
    batch of calls and one recording, and the later tasks find nothing left to do."""
    ids = list(ids)
    kin = due.model.objects.filter(id__in=ids).values(sharing)
    # Only free ones: the longest due are often those another worker is working on now.
    more = free(due.filter(**{f"{sharing}__in": kin})).order_by("next_attempt_at")
    return claim(
        due.filter(Q(id__in=ids) | Q(id__in=more.values("id")[:BATCH_SIZE])),
        seconds=seconds,
        **changes,
    )


def record(
    outcomes: Sequence[T], *, row: Callable[[T], Model], write: Callable[[list[T]], None]
) -> int:
    """In one transaction, lock the rows of ``outcomes`` (``row(outcome)``, as claimed) that
    are still held by their claim, and ``write`` those rows' outcomes; returns how many
    outcomes were not written.

    A row gone meanwhile, or claimed again, must not make the batch's other outcomes
    unrecordable: its outcome is left out, and the lock keeps the row as checked until the
    outcomes are written (SELECT … FOR UPDATE)."""
    if not outcomes:
        return 0
    rows = [row(outcome) for outcome in outcomes]
    model = rows[0]._meta.model
    with transaction.atomic():
        held = set(
            model.objects.select_for_update()
            .filter(pk__in=[r.pk for r in rows], claim_id__in={r.claim_id for r in rows})
            .values_list("pk", "claim_id")
        )
        kept = [
            outcome for outcome, r in zip(outcomes, rows, strict=True) if (r.pk, r.claim_id) in held
        ]
        if kept:
            write(kept)
    return len(outcomes) - len(kept)


def sweep(
    rows: QuerySet, *, now: datetime, limit: int, enqueue: Callable[[list], None], **changes
) -> list:
    """``enqueue`` the ids of ``rows`` (the due ones) that no worker or broker task holds, at
    most ``limit``, the longest due first, and give them ``changes``; returns the ids.

    Rows locked by a sweep running at the same time are left to it."""
    with transaction.atomic():
        ids = list(
            rows.select_for_update(skip_locked=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        rows.model.objects.filter(id__in=ids).update(**changes)
        enqueue(ids)
    return ids
