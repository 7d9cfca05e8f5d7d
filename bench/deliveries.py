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
import asyncio
import contextlib
import multiprocessing
import os
import threading
import time
from collections import Counter

import setup

PORT = 8078
# Retries 1, 2, 4, then every 5 s for a while: ~2 minutes of retries in all.
BENCH_RETRY_SCHEDULE = "1,2,4" + ",5" * 24


# The receiver (a separate process, so it does not share a GIL with anything measured)


def receiver_main(port: int, latency: float, control) -> None:
    """Serve until told to stop; commands on ``control``: ("mode", "up"|"503"|"refuse"),
    ("stats",) → dict, ("stop",)."""
    state = {"mode": "up", "requests": 0, "statuses": Counter()}
    answered_ok: Counter = Counter()
    connections: set = set()

    async def handle(reader, writer):
        connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, delivery = 0, b""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"x-textpeak-delivery":
                        delivery = value.strip()
                if length:
                    await reader.readexactly(length)
                state["requests"] += 1
                if state["mode"] == "503":
                    status = 503
                else:
                    await asyncio.sleep(latency)
                    status = 200
                state["statuses"][status] += 1
                if status == 200:
                    answered_ok[delivery] += 1
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                else:
                    writer.write(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown"
                    )
                await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
            ConnectionError,
        ):
            pass
        finally:
            connections.discard(writer)
            writer.close()

    async def main():
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        servers = [server]
        done = loop.create_future()

        async def set_mode(mode):
            state["mode"] = mode
            if mode == "refuse" and servers:
                servers.pop().close()
                for writer in list(connections):
                    writer.transport.abort()
            elif mode != "refuse" and not servers:
                servers.append(
                    await asyncio.start_server(
                        handle, "127.0.0.1", port, backlog=1024, reuse_address=True
                    )
                )

        def listen():
            while True:
                command = control.recv()
                if command[0] == "mode":
                    asyncio.run_coroutine_threadsafe(set_mode(command[1]), loop).result()
                    control.send("ok")
                elif command[0] == "stats":
                    duplicates = sum(1 for count in answered_ok.values() if count > 1)
                    control.send(
                        {
                            "requests": state["requests"],
                            "statuses": dict(state["statuses"]),
                            "ok_ids": len(answered_ok),
                            "ok_twice": duplicates,
                        }
                    )
                elif command[0] == "reset":
                    answered_ok.clear()
                    state["requests"] = 0
                    state["statuses"].clear()
                    control.send("ok")
                else:
                    asyncio.run_coroutine_threadsafe(set_mode("refuse"), loop).result()
                    control.send("ok")
                    loop.call_soon_threadsafe(done.set_result, None)
                    return

        threading.Thread(target=listen, daemon=True).start()
        await done

    asyncio.run(main())


class ReceiverProcess:
    def __init__(self, port: int, latency: float):
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(
            target=receiver_main, args=(port, latency, child), daemon=True
        )
        self.process.start()

    def ask(self, *command):
        self._control.send(command)
        return self._control.recv()

    def stop(self):
        if self.process.is_alive():
            with contextlib.suppress(EOFError, OSError):
                self.ask("stop")
            self.process.join(5)


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

    worker_env = {
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver is on 127.0.0.1
        "DELIVERY_THREADS": str(args.threads),
        "DELIVERY_RETRY_SCHEDULE": BENCH_RETRY_SCHEDULE,
    }
    setup.ENV.update(worker_env)
    os.makedirs(setup.ENV["TEXTPEAK_VAR_DIR"], exist_ok=True)
    setup.django_setup()

    from streams.models import Stream
    from textpeak.accounts.models import Account
    from webhooks import services
    from webhooks.deliveries import deliveries_enqueue

    receiver = ReceiverProcess(PORT, args.latency_ms / 1000)
    account = Account.objects.create(name=f"Bench deliveries {time.time():.0f}")
    stream = Stream.objects.create(account=account, type="whatsapp", name="Deliveries bench")
    endpoint = services.webhook_save(
        stream=stream,
        method="POST",
        url=f"http://127.0.0.1:{PORT}/hooks/textpeak",
        headers=[("Authorization", "Bearer bench-token")],
    )
    celery = str(setup.ROOT / ".venv/bin/celery")
    workers = setup.start(
        [
            celery,
            "-A",
            "textpeak",
            "worker",
            "--pool=prefork",
            f"--concurrency={args.processes}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ]
    )
    beat = setup.start(
        [
            celery,
            "-A",
            "textpeak",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={setup.ENV['TEXTPEAK_VAR_DIR']}/celerybeat-deliveries",
        ]
    )
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
