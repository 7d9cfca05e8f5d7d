from celery import shared_task

from webhooks import deliveries, retention


@shared_task(acks_late=True)
def send_deliveries(delivery_ids: list[int]) -> None:
    """Send pending webhook deliveries. Idempotent: rows are claimed, and only pending, due
    ones are sent, so a task run twice sends nothing twice. Not retried by Celery: retries are
    rows with a due time (a countdown task or the sweeper)."""
    deliveries.deliveries_send(delivery_ids=delivery_ids)


@shared_task
def sweep_deliveries() -> None:
    """Beat: enqueue deliveries due for a retry, or lost by the broker or a killed worker."""
    deliveries.deliveries_sweep()


@shared_task
def purge_expired_deliveries() -> None:
    """Beat: delete the deliveries past their retention, for ``RETENTION_PURGE_SECONDS``."""
    retention.deliveries_purge()
