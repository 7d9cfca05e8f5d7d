from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from textpeak.accounts import beta, members


@shared_task
def notify_beta_access_decision(request_id: int) -> None:
    """E-mail a decision. Not retried by Celery: a failure is picked up by the sweeper below."""
    beta.beta_access_notify(request_id=request_id)


@shared_task
def sweep_beta_access_notifications() -> None:
    """Re-enqueue decisions whose e-mail was not sent (broker down at review time, lost task)."""
    older_than = timezone.now() - timedelta(minutes=2)
    for request_id in beta.decisions_awaiting_notification(older_than=older_than):
        notify_beta_access_decision.delay(request_id)


@shared_task
def send_member_invitation(member_id: int, invited_by_id: int | None) -> None:
    """E-mail an invitation. Not retried: the Members page's Re-send invitation sends another."""
    members.member_invitation_send(member_id=member_id, invited_by_id=invited_by_id)
