"""manage.py rotate_encryption_keys: the step between adding a new encryption key in front of
TEXTPEAK_ENCRYPTION_KEYS and removing the old one (README: Rotating the encryption key)."""

from collections import Counter

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from textpeak.lib import crypto

REENCRYPTED, CURRENT, EMPTY = "re-encrypted", "already under the first key", "empty"
UNREADABLE = "unreadable"


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of TEXTPEAK_ENCRYPTION_KEYS, "
        "so the keys after it can be removed. Safe to run again, and while the site runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=500, help="rows per transaction (default 500)"
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        unreadable = []
        for label, fields in crypto.ENCRYPTED_FIELDS.items():
            counts = _rotate(apps.get_model(label), fields, batch_size, unreadable)
            for field in fields:
                done = counts[field]
                line = ", ".join(
                    f"{done[outcome]} {outcome}" for outcome in (REENCRYPTED, CURRENT, EMPTY)
                )
                if done[UNREADABLE]:
                    line += f", {done[UNREADABLE]} {UNREADABLE}"
                self.stdout.write(f"{label}.{field}: {line}")
        if unreadable:
            shown = ", ".join(unreadable[:10]) + (", …" if len(unreadable) > 10 else "")
            raise CommandError(
                f"{len(unreadable)} values could not be decrypted with any key (was a key "
                f"removed too early?): {shown}"
            )


def _rotate(model, fields: tuple[str, ...], batch_size: int, unreadable: list[str]) -> dict:
    """Re-encrypt ``fields`` of every row of ``model``, a batch of rows per transaction in
    primary-key order; the rows of a batch are locked, so an edit made meanwhile is not lost."""
    counts = {field: Counter() for field in fields}
    rows = model._base_manager.order_by("pk").only("pk", *fields)
    last_pk = None
    while True:
        with transaction.atomic():
            batch = rows.select_for_update()
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            batch = list(batch[:batch_size])
            if not batch:
                return counts
            changed = []
            for row in batch:
                outcomes = [_reencrypt(row, field, unreadable) for field in fields]
                for field, outcome in zip(fields, outcomes, strict=True):
                    counts[field][outcome] += 1
                if REENCRYPTED in outcomes:
                    changed.append(row)
            model._base_manager.bulk_update(changed, fields)
        last_pk = batch[-1].pk


def _reencrypt(row, field: str, unreadable: list[str]) -> str:
    token = getattr(row, field)
    if not token:
        return EMPTY
    try:
        new = crypto.reencrypt(token)
    except InvalidToken:
        unreadable.append(f"{row._meta.label}.{field} of pk {row.pk}")
        return UNREADABLE
    if new is None:
        return CURRENT
    setattr(row, field, new)
    return REENCRYPTED
