"""Handing rows to one worker: the sends and customer deliveries use the same claim.

A row is free when it has no ``claim_id`` or its ``claimed_until`` has passed (its worker died).
One conditional UPDATE marks the free rows with a new ``claim_id``, so two workers can never
hold the same row, and only the worker whose claim is still on a row records its outcome.
"""

import uuid
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone


def claim(rows: QuerySet, *, seconds: float, **changes) -> QuerySet:
    """Claim the free rows among ``rows`` for ``seconds``, applying ``changes`` in the same
    UPDATE; returns the rows claimed (none when another worker holds them all)."""
    now = timezone.now()
    claim_id = uuid.uuid4()
    claimed = rows.filter(Q(claim_id__isnull=True) | Q(claimed_until__lt=now)).update(
        claim_id=claim_id, claimed_until=now + timedelta(seconds=seconds), **changes
    )
    return rows.model.objects.filter(claim_id=claim_id) if claimed else rows.none()
