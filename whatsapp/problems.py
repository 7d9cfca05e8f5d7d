"""A stream's credential problems: recorded when found, cleared when a check finds them gone,
and each told once to the account's admins by e-mail.

A problem is a row (``CredentialProblem``): its stream Needs attention while it exists. Found
again while it exists, it is the same problem and nobody is written to again; cleared and found
again, it is a new row and a new e-mail. ``token_rejected_at`` follows the token problem, for
the code that holds a refused token's work (the catalogue refresh).
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from textpeak.accounts.members import admin_emails
from textpeak.lib.tasks import enqueue_on_commit
from whatsapp.models import CredentialProblem, WhatsAppAccount

logger = logging.getLogger(__name__)

Kind = CredentialProblem.Kind


def problems_record(
    *, account: WhatsAppAccount, checked: Iterable[str], found: dict[str, str]
) -> None:
    """What a check saw: the ``checked`` kinds not ``found`` are cleared, the ``found`` ones
    (kind → detail) recorded, each new one e-mailed after commit."""
    now = timezone.now()
    cleared = set(checked) - set(found)
    with transaction.atomic():
        account.problems.filter(kind__in=cleared).delete()
        for kind, detail in found.items():
            _flag(account.pk, kind, detail=detail, at=now)
        fields = {"health_checked_at": now}
        if Kind.TOKEN_REJECTED in found:
            fields["token_rejected_at"] = now
        elif Kind.TOKEN_REJECTED in cleared:
            fields["token_rejected_at"] = None
        WhatsAppAccount.objects.filter(pk=account.pk).update(**fields)


def tokens_rejected(*, account_ids: Iterable[int], at: datetime) -> None:
    """Meta refused these accounts' tokens (a 190 during a send or a refresh)."""
    account_ids = set(account_ids)
    with transaction.atomic():
        WhatsAppAccount.objects.filter(pk__in=account_ids).update(token_rejected_at=at)
        for account_id in account_ids:
            _flag(account_id, Kind.TOKEN_REJECTED, detail="", at=at)


def token_accepted(*, account: WhatsAppAccount) -> None:
    """Meta answered with the account's token: whatever refused it before is over."""
    account.problems.filter(kind=Kind.TOKEN_REJECTED).delete()


def _flag(account_id: int, kind: str, *, detail: str, at: datetime) -> None:
    problem, created = CredentialProblem.objects.get_or_create(
        whatsapp_account_id=account_id, kind=kind, defaults={"detail": detail, "detected_at": at}
    )
    if created:
        enqueue_on_commit(notify_credential_problem, problem.pk)
    elif problem.detail != detail:
        CredentialProblem.objects.filter(pk=problem.pk).update(detail=detail)


@shared_task(name="whatsapp.tasks.notify_credential_problem")
def notify_credential_problem(problem_id: int) -> None:
    """E-mail a new problem. Not retried by Celery: the daily check enqueues it again."""
    credential_problem_notify(problem_id=problem_id)


def credential_problem_notify(*, problem_id: int) -> None:
    """E-mail the account's admins about the problem, once: not if it was cleared meanwhile."""
    with transaction.atomic():
        problem = (
            CredentialProblem.objects.select_for_update(of=("self",))
            .select_related("whatsapp_account__stream__account")
            .filter(pk=problem_id, notified_at=None)
            .first()
        )
        if problem is None:
            return
        stream = problem.whatsapp_account.stream
        recipients = admin_emails(account=stream.account)
        if recipients:
            context = {
                "problem": problem,
                "stream": stream,
                "tab_url": settings.SITE_URL
                + reverse("streams:tab", args=[stream.uid, "whatsapp"]),
            }
            send_mail(
                subject=" ".join(
                    render_to_string(
                        "whatsapp/email/credential_problem_subject.txt", context
                    ).split()
                ),
                message=render_to_string("whatsapp/email/credential_problem.txt", context),
                from_email=None,
                recipient_list=recipients,
            )
        problem.notified_at = timezone.now()
        problem.save(update_fields=["notified_at"])


def problems_awaiting_notification() -> list[int]:
    """Problems whose e-mail has not gone out (a lost task, a mail server down), found over a
    few minutes ago and less than three days ago."""
    now = timezone.now()
    return list(
        CredentialProblem.objects.filter(
            notified_at=None,
            detected_at__lt=now - timedelta(minutes=5),
            detected_at__gt=now - timedelta(days=3),
        ).values_list("pk", flat=True)[:500]
    )
