"""The metrics /metrics shows: their names, their help texts, and one helper to observe each.

prometheus_client runs in its multiprocess mode (the settings point ``PROMETHEUS_MULTIPROC_DIR``
at a folder before it is first imported): each process writes its figures to files there and a
scrape adds them up (``textpeak.scrape``), so gunicorn's workers and Celery's count as one.

Labels are stream types and outcomes, never a stream, an account or a phone number: a label
value is a time series of its own for as long as Prometheus keeps data, and per-stream figures
are the console's.
"""

from collections import Counter as Tally
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

# Seconds, from a fraction of a second to the sweepers' minutes and a retry's hours.
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 14400)
# One HTTP request to a customer's webhook: at most DELIVERY_TIMEOUT_SECONDS.
_REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

API_REQUESTS = Counter(
    "textpeak_api_requests",
    "Requests to the stream APIs under /api/, by URL route name and HTTP status.",
    ["endpoint", "status"],
)
MESSAGES_ACCEPTED = Counter(
    "textpeak_messages_accepted",
    "Messages the send API accepted and queued.",
    ["stream_type"],
)
MESSAGES_REJECTED = Counter(
    "textpeak_messages_rejected",
    "Messages refused before sending: the send API's error code, or STREAM_DELETED.",
    ["stream_type", "reason"],
)
MESSAGES_SENT = Counter(
    "textpeak_messages_sent",
    "Messages WhatsApp accepted (the demo stand-in's included).",
    ["stream_type"],
)
MESSAGES_FAILED = Counter(
    "textpeak_messages_failed",
    "Messages failed for good (sent_failed), by Meta's error code.",
    ["stream_type", "error_code"],
)
SEND_LATENCY = Histogram(
    "textpeak_message_send_latency_seconds",
    "From the send API's acceptance of a message to WhatsApp's acceptance of it.",
    ["stream_type"],
    buckets=_LATENCY_BUCKETS,
)
GRAPH_CALLS = Counter(
    "textpeak_graph_api_calls",
    "Calls to Meta's Graph API, by outcome: ok, or the kind of error.",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "textpeak_webhook_attempts",
    "Attempts to deliver an event to a customer's webhook, by the status they left the "
    "delivery in: succeeded, pending (to be retried) or failed.",
    ["outcome"],
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "textpeak_webhook_attempt_duration_seconds",
    "How long one attempt to a customer's webhook took, by outcome.",
    ["outcome"],
    buckets=_REQUEST_BUCKETS,
)
WEBHOOK_LATENCY = Histogram(
    "textpeak_webhook_delivery_latency_seconds",
    "From an event's delivery being created (as Meta's callback is stored) to the customer's "
    "webhook answering it with a 2xx.",
    buckets=_LATENCY_BUCKETS,
)
SWEPT = Counter(
    "textpeak_swept",
    "Rows a sweeper enqueued again, by what was swept: each one was lost on the way (a broker "
    "outage, a killed worker) or is a retry too far away for the broker.",
    ["swept"],
)


def api_request(endpoint: str, status: int) -> None:
    API_REQUESTS.labels(endpoint, str(status)).inc()


def messages_accepted(stream_type: str, count: int) -> None:
    if count:
        MESSAGES_ACCEPTED.labels(stream_type).inc(count)


def messages_rejected(stream_type: str, reasons: Iterable[str]) -> None:
    for reason, count in Tally(reasons).items():
        MESSAGES_REJECTED.labels(stream_type, reason).inc(count)


def messages_sent(accepted: Iterable[tuple[str, datetime]], sent_at: datetime) -> None:
    """Each sent message's stream type and when it was accepted."""
    for stream_type, accepted_at in accepted:
        MESSAGES_SENT.labels(stream_type).inc()
        SEND_LATENCY.labels(stream_type).observe(max((sent_at - accepted_at).total_seconds(), 0))


def messages_failed(failures: Iterable[tuple[str, int | None]]) -> None:
    """Each failed message's stream type and Meta's error code (None when Meta gave none)."""
    for (stream_type, code), count in Tally(failures).items():
        MESSAGES_FAILED.labels(stream_type, str(code or "none")).inc(count)


def graph_call(outcome: str) -> None:
    GRAPH_CALLS.labels(outcome).inc()


def webhook_attempts(attempts: Iterable[tuple[str, float]]) -> None:
    """Each attempt's outcome and how many seconds it took."""
    for outcome, seconds in attempts:
        WEBHOOK_ATTEMPTS.labels(outcome).inc()
        WEBHOOK_ATTEMPT_DURATION.labels(outcome).observe(seconds)


def webhooks_delivered(created_at: Iterable[datetime], delivered_at: datetime) -> None:
    for created in created_at:
        WEBHOOK_LATENCY.observe(max((delivered_at - created).total_seconds(), 0.0))


def swept(what: str, count: int) -> None:
    if count:
        SWEPT.labels(what).inc(count)


class BacklogCollector:
    """What is waiting, read from the database and the broker at scrape time: figures of the
    whole installation, so they are not kept per process."""

    def collect(self):
        # The apps' models: the seams import this module while the apps are still loading.
        from textpeak import backlog

        items = GaugeMetricFamily(
            "textpeak_backlog_items",
            "Work waiting: queued messages of streams that may send, Meta payloads kept and "
            "not stored yet, pending webhook deliveries.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "textpeak_backlog_oldest_seconds",
            "How long the longest-waiting item of each kind has been due.",
            labels=["kind"],
        )
        for kind, waiting in backlog.waiting().items():
            items.add_metric([kind], waiting.count)
            oldest.add_metric([kind], waiting.oldest_seconds)
        yield items
        yield oldest
        lengths = backlog.queue_lengths()
        if lengths is not None:
            queued = GaugeMetricFamily(
                "textpeak_broker_queue_length",
                "Tasks waiting in each Celery queue of the Redis broker.",
                labels=["queue"],
            )
            for queue, length in lengths.items():
                queued.add_metric([queue], length)
            yield queued
