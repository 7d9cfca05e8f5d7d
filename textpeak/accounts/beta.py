"""The beta feature gate: the one place that decides whether an account may use a beta feature.

Members ask for access (``beta_access_request``), support staff decide (``beta_access_review``),
and views and APIs ask ``has_access`` or call ``require_access``.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
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


def has_access(*, account: Account, feature: str) -> bool:
    return BetaAccessRequest.objects.filter(
        account=account, feature=feature, status=Status.APPROVED
    ).exists()


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
    from textpeak.accounts.tasks import notify_beta_access_decision

    with transaction.atomic():
        pending = list(
            BetaAccessRequest.objects.select_for_update().filter(
                id__in=request_ids, status=Status.PENDING
            )
        )
        now = timezone.now()
        for access_request in pending:
            access_request.status = Status.APPROVED if approve else Status.REJECTED
            access_request.reviewed_by = reviewer
            access_request.reviewed_at = now
            if note:
                access_request.note = note
            access_request.save(update_fields=["status", "reviewed_by", "reviewed_at", "note"])
            enqueue_on_commit(notify_beta_access_decision, access_request.id)
    return len(pending)


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
    """Decisions reviewed before ``older_than`` whose e-mail has not gone out; after three days
    of failures an e-mail is given up (the member still sees the decision in the console)."""
    return list(
        BetaAccessRequest.objects.exclude(status=Status.PENDING)
        .filter(
            notified_at=None,
            reviewed_at__lt=older_than,
            reviewed_at__gt=timezone.now() - timedelta(days=3),
        )
        .values_list("id", flat=True)[:500]
    )


def require_access(*, account: Account, feature: str) -> None:
    """Raise PermissionDenied, with a message for the member, unless the account has access."""
    if not has_access(account=account, feature=feature):
        raise PermissionDenied(
            f"{Feature(feature).label} are in beta and your account does not have access yet. "
            "Ask for it with Request Access in the Create Stream API pop-up of the Streams API "
            "page."
        )
