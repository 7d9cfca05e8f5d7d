"""Customer webhook deliveries: throughput to an endpoint answering in 50 ms, then recovery
after the endpoint was down.

    .venv/bin/python bench/deliveries.py [--deliveries 20000] [--processes 6] [--threads 32]
        [--latency-ms 50] [--down-seconds 20] [--down-mode 503|refuse]

On PostgreSQL and Redis db 15 with production settings (see bench/setup.py). A receiver
process (asyncio, HTTP/1.1 keep-alive) answers every request after ``--latency-ms`` and counts
the X-TextPeak-Delivery ids it answered with a 2xx. Celery workers (prefork, ``--processes``
processes, DELIVERY_THREADS=``--threads``) and beat (the sweeper) run as subprocesses.

Phase 1: ``--deliveries`` due deliveries are enqueued (tasks of 100); deliveries/s is counted
from the enqueue until none is pending. Target: >= 1,000/s.
Phase 2: as many again, with the receiver down for ``--down-seconds`` (answering 503, or
refusing connections) and back; a short retry schedule (DELIVERY_RETRY_SCHEDULE below) instead
of the production one, so the bench takes minutes, not hours. Target: all delivered, none
answered with a 2xx twice.
"""

import argparse
import os
import time

import setup

PORT = 8078
# Retries 1, 2, 4, then every 5 s for a while: ~2 minutes of retries in all.
BENCH_RETRY_SCHEDULE = "1,2,4" + ",5" * 24


# The bench


def _event(number: int, stream_uid: str) -> dict:
    return {
        "event": "message.received",
        "stream_id": stream_uid,
        "message_uuid": f"00000000-0000-4000-8000-{number:012d}",
        "conversation_uuid": "8a1e4c7d-2b5f-4e9a-b3c6-7d0f1e2a5b8c",
        "received_at": "2025-01-15T09:30:00Z",
        "source_number": "4915112345678",
        "destination_number": "15550100100",
        "contact_name": "Anna Schmidt",
        "type": "text",
        "text": f"Hi! Is my order #{number} on its way?",
        "reply_to": None,
    }


def _create(endpoint, count: int, first: int) -> list[int]:
    from django.utils import timezone

    from webhooks.deliveries import broker_hold
    from webhooks.models import Delivery

    now = timezone.now()
    uid = str(endpoint.stream.uid)
    rows = [
        Delivery(
            endpoint=endpoint,
            event="message.received",
            payload=_event(first + n, uid),
            next_attempt_at=now,
            claimed_until=broker_hold(now),
            created_at=now,
        )
        for n in range(count)
    ]
    Delivery.objects.bulk_create(rows, batch_size=2000)
    return [row.pk for row in rows]


def _wait_until_done(ids: list[int], started: float, *, timeout: float, on_tick=None) -> float:
    """Seconds from ``started`` until none of ``ids`` is pending."""
    from webhooks.models import Delivery

    first, last = min(ids), max(ids)
    while time.monotonic() - started < timeout:
        pending = Delivery.objects.filter(
            id__gte=first, id__lte=last, status=Delivery.Status.PENDING
        ).count()
        if on_tick:
            on_tick(time.monotonic() - started, pending)
        if not pending:
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"Deliveries still pending after {timeout:.0f} s")


def _summary(ids: list[int]) -> dict:
    from django.db.models import Avg, Count, Max

    from webhooks.models import Delivery, DeliveryAttempt

    rows = Delivery.objects.filter(id__gte=min(ids), id__lte=max(ids))
    by_status = dict(rows.values_list("status").annotate(Count("id")))
    attempts = rows.aggregate(avg=Avg("attempts"), max=Max("attempts"))
    logged = DeliveryAttempt.objects.filter(delivery__in=rows).count()
    return {"status": by_status, "attempts": attempts, "logged_attempts": logged}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=6, help="Celery prefork processes")
    parser.add_argument("--threads", type=int, default=32, help="DELIVERY_THREADS")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--down-seconds", type=int, default=20)
    parser.add_argument("--down-mode", choices=["503", "refuse"], default="503")
    parser.add_argument("--skip-phase2", action="store_true")
    args = parser.parse_args()
    setup.require("postgresql", "redis")

    worker_env = {
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver is on 127.0.0.1
        "DELIVERY_THREADS": str(args.threads),
        "DELIVERY_RETRY_SCHEDULE": BENCH_RETRY_SCHEDULE,
    }
    setup.ENV.update(worker_env)
    setup.django_setup()

    from streams.models import Stream
    from textpeak.accounts.models import Account
    from webhooks import services
    from webhooks.deliveries import deliveries_enqueue

    receiver = setup.ReceiverProcess(PORT, args.latency_ms / 1000)
    account = Account.objects.create(name=f"Bench deliveries {time.time():.0f}")
    stream = Stream.objects.create(account=account, type="whatsapp", name="Deliveries bench")
    endpoint = services.webhook_save(
        stream=stream,
        method="POST",
        url=f"http://127.0.0.1:{PORT}/hooks/textpeak",
        headers=[("Authorization", "Bearer bench-token")],
    )
    workers = setup.start_worker(
        concurrency=args.processes, options=("--without-gossip", "--without-mingle")
    )
    beat = setup.start_beat("celerybeat-deliveries")
    try:
        # Warm-up: workers started, connection pools and database connections open.
        warmup = _create(endpoint, 400, first=10_000_000)
        deliveries_enqueue(warmup)
        _wait_until_done(warmup, time.monotonic(), timeout=120)
        receiver.ask("reset")

        # Phase 1
        ids = _create(endpoint, args.deliveries, first=0)
        started = time.monotonic()
        deliveries_enqueue(ids)
        seconds = _wait_until_done(ids, started, timeout=600)
        one = receiver.ask("stats")
        one_summary = _summary(ids)
        rate = args.deliveries / seconds

        # Phase 2
        two = two_summary = None
        if not args.skip_phase2:
            receiver.ask("reset")
            ids = _create(endpoint, args.deliveries, first=args.deliveries)
            receiver.ask("mode", args.down_mode)
            started = time.monotonic()
            deliveries_enqueue(ids)
            back = {}

            def tick(elapsed, pending):
                if not back and elapsed >= args.down_seconds:
                    receiver.ask("mode", "up")
                    back["at"], back["pending"] = elapsed, pending

            total = _wait_until_done(ids, started, timeout=900, on_tick=tick)
            two = receiver.ask("stats")
            two_summary = _summary(ids)
    finally:
        setup.stop(beat)
        setup.stop(workers)
        receiver.stop()

    print(
        f"Celery prefork x{args.processes}, DELIVERY_THREADS={args.threads}; receiver answers "
        f"after {args.latency_ms} ms (asyncio, keep-alive); PostgreSQL + Redis; "
        f"{os.cpu_count()} CPUs"
    )
    print(f"Phase 1: {args.deliveries:,} due deliveries")
    print(f"  all delivered in {seconds:.1f} s: {rate:,.0f} deliveries/s (target >= 1,000)")
    print(
        f"  receiver: {one['requests']:,} requests, {one['ok_ids']:,} ids answered 2xx, "
        f"{one['ok_twice']} answered 2xx twice"
    )
    print(f"  database: {one_summary}")
    if two is not None:
        print(
            f"Phase 2: {args.deliveries:,} deliveries, receiver down ({args.down_mode}) for "
            f"{back['at']:.1f} s ({back['pending']:,} still pending then), retry schedule "
            f"{BENCH_RETRY_SCHEDULE.split(',')[:5]}... s"
        )
        print(
            f"  all delivered {total:.1f} s after the enqueue, "
            f"{total - back['at']:.1f} s after the receiver came back"
        )
        print(
            f"  receiver: {two['requests']:,} requests {two['statuses']}, "
            f"{two['ok_ids']:,} ids answered 2xx, {two['ok_twice']} answered 2xx twice"
        )
        print(f"  database: {two_summary}")


if __name__ == "__main__":
    main()
