"""How long each kind of row is kept: the settings, the accounts' own periods set by support,
and the cutoffs they give the purges (``whatsapp.retention``, ``webhooks.retention``)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from textpeak.accounts.models import MESSAGE_MIN_DAYS, AccountRetention


@dataclass(frozen=True)
class Period:
    """A kind of row's retention: ``setting`` holds everyone's days, ``field`` of
    ``AccountRetention`` an account's own."""

    field: str
    setting: str
    minimum: int = 1

    @property
    def days(self) -> int:
        return getattr(settings, self.setting)


CONTENT = Period("content_days", "RETENTION_CONTENT_DAYS")
PAYLOAD = Period("payload_days", "RETENTION_PAYLOAD_DAYS")
DELIVERY = Period("delivery_days", "RETENTION_DELIVERY_DAYS")
MESSAGE = Period("message_days", "RETENTION_MESSAGE_DAYS", MESSAGE_MIN_DAYS)
PERIODS = (CONTENT, PAYLOAD, DELIVERY, MESSAGE)


@dataclass(frozen=True)
class Cutoffs:
    """A row older than its account's cutoff has outlived its period."""

    default: datetime
    by_account: dict[int, datetime]

    def for_account(self, account_id: int) -> datetime:
        return self.by_account.get(account_id, self.default)

    def expired(self, *, account: str, time: str) -> Q:
        """The rows past their cutoff: ``account`` looks up a row's account id, ``time`` is
        the field its age is told by."""
        expired = Q(**{f"{time}__lt": self.default})
        if self.by_account:
            expired &= ~Q(**{f"{account}__in": list(self.by_account)})
        for account_id, cutoff in self.by_account.items():
            expired |= Q(**{account: account_id, f"{time}__lt": cutoff})
        return expired


def cutoffs(period: Period, *, now: datetime) -> Cutoffs:
    """Each account's cutoff for ``period`` at ``now``: the setting's, or support's override."""
    overrides = AccountRetention.objects.filter(**{f"{period.field}__isnull": False})
    return Cutoffs(
        default=now - timedelta(days=period.days),
        by_account={
            account_id: now - timedelta(days=days)
            for account_id, days in overrides.values_list("account_id", period.field)
        },
    )
