"""The beta feature gate: the one place that decides whether an account may use a beta feature.

Members ask for access (``beta_access_request``), support staff decide (``beta_access_review``)
and may withdraw an approval (``beta_access_revoke``); views and APIs ask ``has_access`` or call
``require_access``, and the sending workers filter on ``accounts_with_access``.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from textpeak.accounts.models import Account, BetaAccessRequest, Feature, User
from textpeak.lib.tasks import enqueue_on_commit

Status = BetaAccessRequest.Status


def latest_request(*, account: Account, feature: str) -> BetaAccessRequest | None:
    """The newest request: pending, approved, or the last rejection (with its note)."""
    return (
        BetaAccessRequest.objects.filter(account=account, feature=feature)
        .order_by("-created_at", "-id")
        .first()
    )


def accounts_with_access(*, feature: str) -> QuerySet:
    """The ids of the accounts with access to ``feature``, as a subquery."""
    return BetaAccessRequest.objects.filter(feature=feature, status=Status.APPROVED).values(
        "account_id"
    )


def has_access(*, account: Account, feature: str) -> bool:
    return accounts_with_access(feature=feature).filter(account=account).exists()


def beta_access_request(
    *, account: Account, feature: str, user: User
) -> tuple[BetaAccessRequest, bool]:
    """Record a request unless one is open already; return the open request and if it is new."""
    open_requests = BetaAccessRequest.objects.filter(
        account=account, feature=feature, status__in=[Status.PENDING, Status.APPROVED]
    )
    existing = open_requests.first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            created = BetaAccessRequest.objects.create(
                account=account, feature=feature, requested_by=user
            )
    except IntegrityError:
        # Two members clicked at the same moment; the database kept exactly one.
        return open_requests.get(), False
    return created, True


def beta_access_review(
    *, request_ids: list[int], reviewer: User, approve: bool, note: str = ""
) -> int:
    """Approve or reject pending requests; each requester is e-mailed after commit."""
    return _decide(
        request_ids=request_ids,
        current=Status.PENDING,
        new=Status.APPROVED if approve else Status.REJECTED,
        reviewed_by=reviewer,
        reviewed_at=timezone.now(),
        **({"note": note} if note else {}),
    )


def beta_access_revoke(*, request_ids: list[int], reviewer: User, note: str) -> int:
    """Withdraw approved requests: the account loses the feature at once (its console pages
    and API refuse it, its queued messages are held) and may ask again. Each requester is
    e-mailed the note after commit."""
    return _decide(
        request_ids=request_ids,
        current=Status.APPROVED,
        new=Status.REVOKED,
        # Replaces the approval's note: the account is shown why its access ended.
        note=note,
        revoked_by=reviewer,
        revoked_at=timezone.now(),
        # The approval's e-mail went out; this decision needs its own.
        notified_at=None,
    )


def _decide(*, request_ids: list[int], current: str, new: str, **changes) -> int:
    """Move the requests that are ``current`` to ``new``, each requester e-mailed after commit;
    the others are left as they are. Returns how many changed."""
    from textpeak.accounts.tasks import notify_beta_access_decision

    with transaction.atomic():
        requests = list(
            BetaAccessRequest.objects.select_for_update().filter(id__in=request_ids, status=current)
        )
        for access_request in requests:
            access_request.status = new
            for field, value in changes.items():
                setattr(access_request, field, value)
            access_request.save(update_fields=["status", *changes])
            enqueue_on_commit(notify_beta_access_decision, access_request.id)
    return len(requests)


def beta_access_notify(*, request_id: int) -> None:
    """E-mail the requester about the decision, once. Safe to call again after it has run."""
    with transaction.atomic():
        access_request = (
            BetaAccessRequest.objects.select_for_update(of=("self",))
            .select_related("account", "requested_by")
            .filter(id=request_id, notified_at=None)
            .exclude(status=Status.PENDING)
            .first()
        )
        if access_request is None:
            return
        if access_request.requested_by and access_request.requested_by.is_active:
            context = {
                "access_request": access_request,
                "feature": Feature(access_request.feature).label,
                "approved": access_request.status == Status.APPROVED,
                "revoked": access_request.status == Status.REVOKED,
                "streams_url": settings.SITE_URL + reverse("streams:list"),
            }
            send_mail(
                subject=render_to_string("accounts/email/beta_decision_subject.txt", context)
                .strip()
                .replace("\n", " "),
                message=render_to_string("accounts/email/beta_decision.txt", context),
                from_email=None,
                recipient_list=[access_request.requested_by.email],
            )
        access_request.notified_at = timezone.now()
        access_request.save(update_fields=["notified_at"])


def decisions_awaiting_notification(*, older_than: datetime) -> list[int]:
    """Decisions (reviews and revocations) made before ``older_than`` whose e-mail has not gone
    out; after three days of failures an e-mail is given up (the member still sees the decision
    in the console)."""
    return list(
        BetaAccessRequest.objects.exclude(status=Status.PENDING)
        .annotate(decided_at=Coalesce("revoked_at", "reviewed_at"))
        .filter(
            notified_at=None,
            decided_at__lt=older_than,
            decided_at__gt=timezone.now() - timedelta(days=3),
        )
        .values_list("id", flat=True)[:500]
    )


def require_access(*, account: Account, feature: str) -> None:
    """Raise PermissionDenied, with a message for the member, unless the account has access."""
    if has_access(account=account, feature=feature):
        return
    label = Feature(feature).label
    ask = "Ask for it with Request Access in the Create Stream API pop-up of the Streams API page."
    last = latest_request(account=account, feature=feature)
    if last and last.status == Status.REVOKED:
        note = f" Note from our team: “{last.note}”" if last.note else ""
        raise PermissionDenied(f"Your account's access to {label} was withdrawn.{note} {ask}")
    raise PermissionDenied(f"{label} are in beta and your account does not have access yet. {ask}")
