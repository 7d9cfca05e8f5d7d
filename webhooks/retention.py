"""The retention purge of webhook deliveries (README, Retention): each with its body and its
attempts, once past its account's period; a delivery still pending is never touched."""

import logging

from django.utils import timezone

from textpeak.accounts import retention
from textpeak.lib.purge import Run, delete_in_batches
from webhooks.models import Delivery, WebhookEndpoint

logger = logging.getLogger(__name__)


def deliveries_purge(*, run: Run | None = None) -> Run:
    """Delete the deliveries that have outlived their account's period, with their attempts,
    in short batches until none is left or the run's time is up. Safe to run again, or twice
    at once."""
    run = run or Run()
    cutoffs = retention.cutoffs(retention.DELIVERY, now=timezone.now())
    endpoints = WebhookEndpoint.objects.order_by("id").values_list("id", "stream__account_id")
    for endpoint_id, account_id in endpoints:
        if not run.has_time():
            break
        # Through the (endpoint, created_at) index, oldest first: each batch a short range.
        delete_in_batches(
            Delivery.objects.filter(
                endpoint_id=endpoint_id, created_at__lt=cutoffs.for_account(account_id)
            )
            .exclude(status=Delivery.Status.PENDING)
            .order_by("created_at"),
            run=run,
            kind="deliveries",
        )
    if run.removed:
        logger.info(
            "Retention purge: %d deliveries%s",
            run.removed["deliveries"],
            "" if run.finished else " (out of time; the next run goes on)",
        )
    return run
