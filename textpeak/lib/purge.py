"""Deleting rows in short batches, for the retention purges.

Each batch is one transaction of a few statements over at most ``BATCH`` rows, found through
an index: no statement holds a lock for long or rewrites a table, and PostgreSQL's autovacuum
gives the space back to new rows. A row another transaction holds (a worker recording a
status) is skipped, and left for the next run. A run stops at its deadline, so that it never
keeps the housekeeping worker from the sweepers for long.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

BATCH = 1000


@dataclass
class Run:
    """One purge run: its deadline, and how many rows of each kind it removed."""

    seconds: float = field(default_factory=lambda: settings.RETENTION_PURGE_SECONDS)
    removed: dict[str, int] = field(default_factory=dict)
    # False once the deadline stopped it with rows possibly left for the next run.
    finished: bool = True

    def __post_init__(self):
        self.deadline = time.monotonic() + self.seconds

    def has_time(self) -> bool:
        if time.monotonic() < self.deadline:
            return True
        self.finished = False
        return False

    def count(self, kind: str, rows: int) -> None:
        if rows:
            self.removed[kind] = self.removed.get(kind, 0) + rows


def delete_in_batches(
    rows: QuerySet,
    *,
    run: Run,
    kind: str,
    fields: tuple[str, ...] = ("pk",),
    before_delete: Callable[[list[tuple]], None] | None = None,
) -> None:
    """Delete ``rows`` (ordered, oldest first, by an indexed field) ``BATCH`` at a time until
    none is left or ``run`` is out of time. ``before_delete`` is given each batch's ``fields``
    (the first is ``pk``) in the transaction that deletes them, the rows locked."""
    while run.has_time():
        with transaction.atomic():
            batch = list(
                rows.select_for_update(skip_locked=True, of=("self",)).values_list(*fields)[:BATCH]
            )
            if batch:
                if before_delete:
                    before_delete(batch)
                # Only the keys: the collector needs no more to delete the rows' dependents.
                doomed = rows.model.objects.filter(pk__in=[row[0] for row in batch])
                doomed.only("pk").delete()
        run.count(kind, len(batch))
        if len(batch) < BATCH:
            return
