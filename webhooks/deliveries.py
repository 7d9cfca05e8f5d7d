"""Delivering events to customers' webhooks: claim, send, record, retry, sweep.

A delivery is a row first and a task second (``textpeak.lib.outbox``). ``send_deliveries``
tasks carry up to ``outbox.BATCH_SIZE`` ids; `deliveries_send` claims the ones still pending and
due (so two workers never send the same delivery at once), sends them concurrently through
`webhooks.transport` (``DELIVERY_THREADS`` threads), and records every attempt with the exact
request sent, its user header values and signature masked.

2xx is success. Anything else (a 3xx too: redirects are not followed), a timeout or a connection
error is retried after ``DELIVERY_RETRY_SCHEDULE[n]`` seconds (±20 % jitter, drawn per batch:
the deliveries of one batch were sent together anyway), about a day in all; after the last
retry the delivery is failed. Retries up to ``outbox.MAX_COUNTDOWN`` away wait in the
broker as a countdown; later ones are rows that `deliveries_sweep` (beat, every 30 s) enqueues
when they are due. An endpoint whose deliveries have failed without a single success for
``WEBHOOK_DISABLE_AFTER_DAYS`` is disabled; its pending deliveries are failed unsent as they
come due.

``claimed_until`` says until when a pending delivery belongs to someone else than the sweeper:
with a ``claim_id``, to the worker sending it; without, to the broker, which holds a task for it
(a new delivery, a countdown retry, one the sweeper enqueued). The sweeper takes only due
deliveries whose ``claimed_until`` is empty or past, so it re-enqueues what the broker lost or a
killed worker left, and a long retry as soon as it is due.
"""

import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from textpeak import logcontext, metrics
from textpeak.lib import outbox
from textpeak.lib.threads import run_each
from webhooks import transport
from webhooks.builder import build_request
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

logger = logging.getLogger(__name__)

JITTER = 0.2
# An endpoint's last_success_at is refreshed at most this often, so concurrent workers
# delivering to one busy endpoint do not all queue for its row.
SUCCESS_STAMP_SECONDS = 10
DISABLED_ERROR = "Not sent: the webhook is disabled."


def deliveries_enqueue(delivery_ids: Iterable[int], *, countdown: float = 0) -> None:
    """Enqueue sending of these deliveries after the current transaction commits, in tasks of
    ``outbox.BATCH_SIZE``."""
    from webhooks.tasks import send_deliveries

    outbox.enqueue(send_deliveries, delivery_ids, countdown=countdown)


def broker_hold(now: datetime, *, countdown: float = 0) -> datetime:
    """The ``claimed_until`` of a delivery whose task is in the broker: the sweeper leaves it
    alone until the task has had time to run."""
    return now + timedelta(seconds=countdown + settings.DELIVERY_SWEEP_AFTER_SECONDS)


def retry_delay(attempts: int) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones, or None: give up."""
    schedule = settings.DELIVERY_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (jitter)


@dataclass
class Outcome:
    """What one attempt of a delivery came to."""

    delivery: Delivery
    started_at: datetime
    duration_ms: int = 0
    request_text: str = ""
    status_code: int | None = None
    response_excerpt: str = ""
    error: str = ""
    # False when the delivery must not be tried again (its webhook is disabled).
    retryable: bool = True
    # False for a failure of ours, which must not count towards disabling the webhook.
    endpoint_fault: bool = True

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def attempt(self) -> DeliveryAttempt:
        return DeliveryAttempt(
            delivery=self.delivery,
            started_at=self.started_at,
            duration_ms=self.duration_ms,
            status_code=self.status_code,
            response_excerpt=self.response_excerpt,
            error=self.error,
            request=self.request_text,
        )


@dataclass(frozen=True)
class Signing:
    """An endpoint's decrypted settings, read once per batch."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    secret: str
    # The secret a rotation replaced, while it still signs (a batch is sent within seconds).
    previous_secret: str = ""


def signing_for(endpoint: WebhookEndpoint) -> Signing:
    return Signing(
        method=endpoint.method,
        url=endpoint.url,
        headers=endpoint.headers(),
        secret=endpoint.signing_secret(),
        previous_secret=endpoint.previous_signing_secret(),
    )


def attempt_send(delivery: Delivery, signing: Signing, *, timeout: float) -> Outcome:
    """Build and send one delivery's request now; never raises."""
    started_at = timezone.now()
    started = time.monotonic()
    outcome = Outcome(delivery=delivery, started_at=started_at)
    try:
        request = build_request(
            method=signing.method,
            url=signing.url,
            headers=signing.headers,
            signing_secret=signing.secret,
            previous_secret=signing.previous_secret,
            event=delivery.payload,
            delivery_id=str(delivery.uid),
            timestamp=int(started_at.timestamp()),
        )
        # As sent, but for the customer's header values and the signature's digest.
        outcome.request_text = request.masked().as_text()
        response = transport.send(request, timeout=timeout)
    except transport.DeliveryError as error:
        outcome.error = error.message
    except Exception:
        # One delivery's surprise must not lose what the rest of the batch did.
        logger.exception("Delivery %s failed unexpectedly", delivery.uid)
        outcome.error = "Internal error while sending; it will be retried."
        outcome.endpoint_fault = False
    else:
        outcome.status_code = response.status_code
        outcome.response_excerpt = response.body_excerpt
        if 300 <= response.status_code < 400:
            outcome.error = "Redirects are not followed: answer the webhook URL with a 2xx."
        elif not 200 <= response.status_code < 300:
            outcome.error = f"The webhook answered HTTP {response.status_code}."
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    return outcome


def _claim_deliveries(delivery_ids: list[int]) -> list[Delivery]:
    """Take the deliveries that are pending, due and not held by another worker: the given
    ones, and up to a batch of what else is due for their webhooks."""
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    claimed = outbox.claim_with_more(
        due, delivery_ids, sharing="endpoint_id", seconds=settings.DELIVERY_CLAIM_SECONDS
    )
    return list(claimed.select_related("endpoint"))


def deliveries_send(*, delivery_ids: list[int]) -> None:
    """Send the given deliveries that are still pending and due; safe to run twice."""
    deliveries = _claim_deliveries(delivery_ids)
    if not deliveries:
        return
    now = timezone.now()
    signings: dict[int, Signing | None] = {}
    outcomes: list[Outcome] = []
    to_send: list[Delivery] = []
    for delivery in deliveries:
        endpoint = delivery.endpoint
        if not endpoint.enabled:
            outcomes.append(
                Outcome(delivery=delivery, started_at=now, error=DISABLED_ERROR, retryable=False)
            )
            continue
        if endpoint.pk not in signings:
            try:
                signings[endpoint.pk] = signing_for(endpoint)
            except Exception:
                # E.g. the key its headers were encrypted with was removed: keep retrying.
                logger.exception("Webhook %s: its settings could not be decrypted", endpoint.pk)
                signings[endpoint.pk] = None
        if signings[endpoint.pk] is None:
            outcomes.append(
                Outcome(
                    delivery=delivery,
                    started_at=now,
                    error="Internal error: the webhook's settings could not be read.",
                    endpoint_fault=False,
                )
            )
            continue
        to_send.append(delivery)
    if to_send:
        timeout = settings.DELIVERY_TIMEOUT_SECONDS
        outcomes += run_each(
            "deliver",
            max(settings.DELIVERY_THREADS, 1),
            lambda d: attempt_send(d, signings[d.endpoint_id], timeout=timeout),
            to_send,
        )
    _record(outcomes)


def _record(outcomes: list[Outcome]) -> None:
    """Write the attempts and the new state of the deliveries still held by this claim, in one
    transaction: a webhook removed meanwhile, or a claim that ran out and went to another
    worker, must not make the batch's other outcomes unrecordable."""
    lost = outbox.record(outcomes, row=lambda outcome: outcome.delivery, write=_record_held)
    if lost:
        logger.warning("%d delivery outcomes not recorded: row gone or claimed again", lost)


def _classify(outcome: Outcome) -> Delivery.Status:
    """The status an attempt leaves its delivery in."""
    if outcome.succeeded:
        return Delivery.Status.SUCCEEDED
    attempts = outcome.delivery.attempts + 1
    if outcome.retryable and attempts <= len(settings.DELIVERY_RETRY_SCHEDULE):
        return Delivery.Status.PENDING
    return Delivery.Status.FAILED


def _record_held(outcomes: list[Outcome]) -> None:
    """Write the attempts, the deliveries' new state and their endpoints' record.

    Deliveries that end up alike (delivered with the same status code; retried after the
    same number of attempts; failed) are updated by one statement each, a few per batch:
    `bulk_update` costs far more. So a batch's retries share one jittered delay, and
    ``last_attempt_at`` is when the batch was recorded (each attempt keeps its own start)."""
    now = timezone.now()
    by_status: dict[Delivery.Status, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        status = _classify(outcome)
        by_status[status].append(outcome)
        _log(outcome, status)
    DeliveryAttempt.objects.bulk_create([outcome.attempt() for outcome in outcomes])
    _write_retries(by_status[Delivery.Status.PENDING], now)
    _write_ended(by_status[Delivery.Status.SUCCEEDED], Delivery.Status.SUCCEEDED, now)
    _write_ended(by_status[Delivery.Status.FAILED], Delivery.Status.FAILED, now)
    _note_endpoints(outcomes, now)
    metrics.webhook_attempts(
        (status, outcome.duration_ms / 1000)
        for status, group in by_status.items()
        for outcome in group
    )
    metrics.webhooks_delivered(
        [outcome.delivery.created_at for outcome in by_status[Delivery.Status.SUCCEEDED]], now
    )


def _log(outcome: Outcome, status: Delivery.Status) -> None:
    """A line per attempt, naming the message its event is about: a message's uuid finds its
    deliveries in the logs."""
    delivery, event = outcome.delivery, outcome.delivery.payload
    logger.info(
        "Webhook delivery %s of %s to webhook %s: %s, %s",
        delivery.uid,
        delivery.event,
        delivery.endpoint_id,
        f"HTTP {outcome.status_code}" if outcome.status_code else outcome.error,
        status,
        extra=logcontext.about(
            stream_uid=event.get("stream_id"), message_uuid=event.get("message_uuid")
        ),
    )


def _alike(outcomes: list[Outcome]) -> dict[tuple[int, int | None], list[int]]:
    """The deliveries' ids by their count of attempts with this one and its status code."""
    groups = defaultdict(list)
    for outcome in outcomes:
        delivery = outcome.delivery
        groups[(delivery.attempts + 1, outcome.status_code)].append(delivery.pk)
    return groups


def _attempted(attempts: int, status_code: int | None, now: datetime) -> dict:
    """What every attempt writes on its delivery, which it leaves unclaimed."""
    return {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_attempt_at": now,
        "claim_id": None,
        "claimed_until": None,
    }


def _write_retries(outcomes: list[Outcome], now: datetime) -> None:
    """Pending again, due after a jittered delay: from a countdown in the broker when the
    delay is short, else from the sweeper."""
    groups = _alike(outcomes)
    delays = {attempts: retry_delay(attempts) for attempts, _ in groups}
    for (attempts, status_code), ids in groups.items():
        delay = delays[attempts]
        changes = _attempted(attempts, status_code, now)
        changes["next_attempt_at"] = now + timedelta(seconds=delay)
        if delay <= outbox.MAX_COUNTDOWN:
            # Rounded up: the task runs when they are all due.
            countdown = math.ceil(delay)
            changes["claimed_until"] = broker_hold(now, countdown=countdown)
            deliveries_enqueue(ids, countdown=countdown)
        Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.PENDING, **changes)


def _write_ended(outcomes: list[Outcome], status: Delivery.Status, now: datetime) -> None:
    """Delivered, or failed for good: tried no more."""
    for (attempts, status_code), ids in _alike(outcomes).items():
        Delivery.objects.filter(pk__in=ids).update(
            status=status, **_attempted(attempts, status_code, now)
        )


def _note_endpoints(outcomes: list[Outcome], now: datetime) -> None:
    """An endpoint that answered a delivery with a 2xx works; one that only failed its
    deliveries, through its own fault, is failing."""
    succeeded = {outcome.delivery.endpoint_id for outcome in outcomes if outcome.succeeded}
    failed = {
        outcome.delivery.endpoint_id
        for outcome in outcomes
        if not outcome.succeeded and outcome.retryable and outcome.endpoint_fault
    }
    failed -= succeeded
    if succeeded:
        WebhookEndpoint.objects.filter(id__in=succeeded).filter(
            Q(failing_since__isnull=False)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - timedelta(seconds=SUCCESS_STAMP_SECONDS))
        ).update(last_success_at=now, failing_since=None)
    if failed:
        _note_failures(failed, now)


def _note_failures(endpoint_ids: set[int], now: datetime) -> None:
    """Mark when the endpoints started failing, and disable those failing for too long."""
    WebhookEndpoint.objects.filter(id__in=endpoint_ids, failing_since__isnull=True).update(
        failing_since=now
    )
    cutoff = now - timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
    to_disable = list(
        WebhookEndpoint.objects.filter(
            id__in=endpoint_ids, enabled=True, failing_since__lte=cutoff
        ).values_list("id", flat=True)
    )
    if to_disable:
        WebhookEndpoint.objects.filter(id__in=to_disable, enabled=True).update(
            enabled=False, disabled_at=now
        )
        logger.warning(
            "Disabled webhooks %s: failing without a success for %d days",
            to_disable,
            settings.WEBHOOK_DISABLE_AFTER_DAYS,
        )


def deliveries_sweep() -> int:
    """Enqueue pending deliveries that are due and that no worker or broker task holds: long
    retries, and what the broker lost or a killed worker left. Returns how many."""
    now = timezone.now()
    ids = outbox.sweep(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now),
        now=now,
        limit=settings.DELIVERY_SWEEP_LIMIT,
        enqueue=deliveries_enqueue,
        # Held for the broker, so the next sweeps leave them to the tasks enqueued here.
        claim_id=None,
        claimed_until=broker_hold(now),
    )
    metrics.swept("deliveries", len(ids))
    if ids:
        logger.info("Webhook sweep enqueued %d due deliveries", len(ids))
    return len(ids)
