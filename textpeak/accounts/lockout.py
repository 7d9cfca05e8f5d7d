"""Login lockouts: which one holds for an e-mail and a client address.

django-axes records each failed login as an access attempt (one row per e-mail, address and user
agent, counting its failures) on the console login and on /admin/login/, refuses a login while
``get_failures`` reaches its failure limit, resets the e-mail and address pair on success and
forgets rows older than the cool-off. Its own limits on an address alone or on an e-mail alone
count failures under the one limit, so one person mistyping five times would lock out a whole
office. The limits that catch spraying count *different* e-mails from an address and different
addresses for an e-mail, each with its own limit, over the same rows: support lifts any lockout by
deleting them.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from textpeak.accounts.models import normalise_email

# Addresses an e-mail logged in from this recently stay open to it when the e-mail is locked out
# for being tried from many addresses: a sprayer cannot lock the real person out where they work.
KNOWN_ADDRESS_DAYS = 30


class Kind(models.TextChoices):
    EMAIL_AND_ADDRESS = "email_and_address", "This e-mail from this address"
    ADDRESS = "address", "Many e-mails from this address"
    EMAIL = "email", "This e-mail from many addresses"


@dataclass(frozen=True)
class Lockout:
    kind: Kind
    ends_at: datetime

    def minutes_left(self, *, now: datetime) -> int:
        return max(1, math.ceil((self.ends_at - now).total_seconds() / 60))


def login_identity(request, credentials=None) -> str:
    """Axes asks for the e-mail of a login through this hook: the one the product compares."""
    email = credentials.get("username") if credentials else request.POST.get("username")
    # An access attempt holds 255 characters; lower-casing a few letters lengthens them.
    return normalise_email(email or "")[:255]


def login_lockout(*, email: str, address: str, at: datetime | None = None) -> Lockout | None:
    """The lockout that refuses this e-mail from this address; the longest if several hold."""
    at = at or timezone.now()
    cooloff = settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.filter(attempt_time__gte=at - cooloff)
    lockouts = []

    pair = recent.filter(username=email, ip_address=address).order_by("-attempt_time")
    # A row counts one failure or more: the newest `limit` rows are always enough.
    limit = settings.AXES_FAILURE_LIMIT
    failures = pair.values_list("attempt_time", "failures_since_start")[:limit]
    if lifted_at := _lifted_at(failures, limit, cooloff):
        lockouts.append(Lockout(Kind.EMAIL_AND_ADDRESS, lifted_at))

    emails = recent.filter(ip_address=address).values("username")
    if lifted_at := _lifted_at_by_count(emails, settings.LOGIN_ADDRESS_FAILURE_LIMIT, cooloff):
        lockouts.append(Lockout(Kind.ADDRESS, lifted_at))

    addresses = recent.filter(username=email).values("ip_address")
    if (
        lifted_at := _lifted_at_by_count(addresses, settings.LOGIN_ACCOUNT_FAILURE_LIMIT, cooloff)
    ) and not _logged_in_from(email=email, address=address, at=at):
        lockouts.append(Lockout(Kind.EMAIL, lifted_at))

    return max(lockouts, key=lambda lockout: lockout.ends_at, default=None)


def _lifted_at(failures, limit: int, cooloff: timedelta) -> datetime | None:
    """When the newest failures (time and count, newest first) stop adding up to the limit, if
    they reach it: each leaves the count a cool-off after its time."""
    total = 0
    for attempt_time, count in failures:
        total += count
        if total >= limit:
            return attempt_time + cooloff
    return None


def _lifted_at_by_count(attempts, limit: int, cooloff: timedelta) -> datetime | None:
    """The same for different values (e-mails, addresses), each counted once from its latest
    failure: the lockout ends when the limit-th newest leaves."""
    latest = attempts.annotate(latest=Max("attempt_time")).order_by("-latest")
    nth = list(latest.values_list("latest", flat=True)[limit - 1 : limit])
    return nth[0] + cooloff if nth else None


def _logged_in_from(*, email: str, address: str, at: datetime) -> bool:
    since = at - timedelta(days=KNOWN_ADDRESS_DAYS)
    logins = AccessLog.objects.filter(ip_address=address, attempt_time__gte=since)
    # The log keeps the e-mail as the user's row spells it, which may predate normalising.
    return logins.filter(username__iexact=email).exists()


def login_lockout_clear(*, emails: set[str], addresses: set[str]) -> int:
    """Forget every failure for these e-mails and from these addresses, which lifts every kind
    of lockout on them; answers how many access attempts were deleted."""
    with transaction.atomic():
        attempts = AccessAttempt.objects.filter(
            models.Q(username__in=emails) | models.Q(ip_address__in=addresses)
        )
        deleted, _ = attempts.delete()
    return deleted


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler deciding with ``login_lockout`` instead of its single limit."""

    def get_failures(self, request, credentials=None) -> int:
        # Axes calls this before checking a password and after each failure, and compares the
        # answer with its failure limit. Its lockout response gets only the request: keep the
        # lockout found for the page to explain.
        request.login_lockout = login_lockout(
            email=login_identity(request, credentials),
            address=request.axes_ip_address,
            at=request.axes_attempt_time,
        )
        return settings.AXES_FAILURE_LIMIT if request.login_lockout else 0
