from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from textpeak.accounts import beta


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
