from celery import shared_task
from django.conf import settings
from django.utils import timezone

from whatsapp import sending
from whatsapp.statuses import StatusUpdate, status_apply

# What the demo's WhatsApp reports after accepting a message, one step per delay.
DEMO_STATUSES = ("delivered", "read")


@shared_task(acks_late=True)
def send_messages(message_ids: list[int]) -> None:
    """Send queued messages. Idempotent: rows are claimed, so a redelivered task sends nothing
    twice. Not retried by Celery: retries are rows with a due time (countdown or sweeper)."""
    sending.messages_send(message_ids=message_ids)


@shared_task
def sweep_outbox() -> None:
    """Beat: re-enqueue overdue queued messages (broker outage, killed worker)."""
    sending.outbox_sweep()


@shared_task(bind=True, max_retries=10)
def simulate_demo_statuses(self, wamid: str, step: int = 0) -> None:
    """The demo's stand-in for Meta's status webhooks: delivered, then read, a moment apart,
    through the same status code path as Meta's."""
    applied = status_apply(
        StatusUpdate(wamid=wamid, status=DEMO_STATUSES[step], timestamp=timezone.now())
    )
    if not applied and step == 0:
        # The worker that sent it has not recorded the wamid yet.
        raise self.retry(countdown=settings.DEMO_STATUS_DELAY_SECONDS)
    if step + 1 < len(DEMO_STATUSES):
        simulate_demo_statuses.apply_async(
            (wamid, step + 1), countdown=settings.DEMO_STATUS_DELAY_SECONDS
        )
