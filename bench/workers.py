"""How fast the sending workers drain a backlog, and that they keep to a sender's rate limit.

    python bench/workers.py [--messages 20000] [--concurrency 4] [--limited 800] [--paired 100]

On PostgreSQL and Redis (see bench/setup.py), with the fake Graph API in a process of its own
(as Meta is not inside the workers) answering every send after 50 ms: queues
``--messages`` messages for one sender whose limit is 1,000/s, starts Celery workers as
docker-compose.yml does, and reports messages/s until none is queued.
Then queues ``--limited`` more with the limit at 80/s. Reports, for both phases, the most sends
the fake saw in one second of the clock (how the limit counts) and in any sliding second, and
checks that nothing is left queued and nothing was sent twice. Each of these messages has a
recipient of its own.

Last, ``--paired`` messages to 10 recipients at 1,000/s: Meta's pair limit (one message to a
recipient every ``SEND_PAIR_SECONDS``, 6) sets their pace. Reports the time taken beside the
pair limit's least, the shortest gap between two sends to one recipient, and the failed.
"""

import argparse
import itertools
import math
import statistics
import time
from collections import Counter

import setup


def _queue(stream, count: int, label: str, *, recipients: int = 0) -> list[int]:
    """``count`` queued messages, each to a recipient of its own, or spread over
    ``recipients``."""
    from whatsapp.models import Message

    sender = stream.whatsapp.senders.get()
    rows = [
        Message(
            stream=stream,
            direction=Message.Direction.OUTBOUND,
            sender_number=sender.number,
            phone_number_id=sender.phone_number_id,
            contact_number=setup.recipient(n % recipients if recipients else n),
            type="text",
            payload={"body": f"{label}-{n}", "preview_url": False},
            status=Message.Status.QUEUED,
        )
        for n in range(count)
    ]
    return [row.pk for row in Message.objects.bulk_create(rows, batch_size=2000)]


def _sent(label: str) -> list[dict]:
    """What the fake accepted for this phase: text and arrival time of each send."""
    return [s for s in setup.fake_sent() if (s["text"] or "").startswith(label)]


def _drain(stream, ids: list[int], label: str, limit: str) -> None:
    from textpeak.lib.outbox import BATCH_SIZE
    from whatsapp.models import Message
    from whatsapp.tasks import send_messages

    started = time.monotonic()
    for start in range(0, len(ids), BATCH_SIZE):
        send_messages.delay(ids[start : start + BATCH_SIZE])
    # The phase's ids are consecutive (one bulk insert). A range, not the list: the polling
    # would otherwise build a 20,000-parameter query five times a second, and its CPU would be
    # taken from the workers being measured.
    phase = Message.objects.filter(pk__range=(ids[0], ids[-1]))
    queued = phase.filter(status=Message.Status.QUEUED)
    while queued.exists() and time.monotonic() - started < 600:
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    sent_at = _sent(label)
    bodies = Counter(s["text"] for s in sent_at)
    arrivals = sorted(s["at"] for s in sent_at)
    left = queued.count()
    twice = sum(1 for n in bodies.values() if n > 1)
    sent = phase.filter(status=Message.Status.SENT).count()
    rate = len(ids) / elapsed
    # The rate WhatsApp sees: sends between the first and the last to arrive at the fake, and
    # in each whole second of the clock between them (the first and last are partly idle).
    arriving = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0
    per_second = sorted(Counter(int(at) for at in arrivals).items())
    whole = sorted(count for _, count in per_second[1:-1]) or [0]
    print(
        f"  {label}: {len(ids):,} messages in {elapsed:.1f} s = {rate:,.0f} messages/s; "
        f"arriving at {arriving:,.0f}/s; whole seconds of the clock: median "
        f"{statistics.median(whole):,.0f}, lowest {whole[0]:,}; sent {sent:,}, "
        f"left queued {left}, sent twice {twice}"
    )
    # How a limit of so many "per second" counts: in one second of the clock; and, for
    # comparison, in any sliding second.
    clock = max((count for _, count in per_second), default=0)
    print(
        f"  limited to {limit}: at most {clock} sends in any second of the clock "
        f"({_busiest_sliding(arrivals)} in a sliding second)"
    )


def _drain_paired(stream, count: int, recipients: int) -> None:
    from django.conf import settings

    from whatsapp.models import Message
    from whatsapp.tasks import send_messages

    ids = _queue(stream, count, "paired", recipients=recipients)
    started = time.monotonic()
    send_messages.delay(ids)
    phase = Message.objects.filter(pk__range=(ids[0], ids[-1]))
    queued = phase.filter(status=Message.Status.QUEUED)
    while queued.exists() and time.monotonic() - started < 3600:
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    arrivals: dict[str, list[float]] = {}
    for sent in _sent("paired"):
        arrivals.setdefault(sent["to"], []).append(sent["at"])
    gaps = [b - a for times in arrivals.values() for a, b in itertools.pairwise(sorted(times))]
    interval = settings.SEND_PAIR_SECONDS
    least = (math.ceil(count / recipients) - 1) * interval
    failed = phase.filter(status=Message.Status.SENT_FAILED).count()
    print(
        f"  paired: {count:,} messages to {recipients} recipients in {elapsed:.1f} s (the pair "
        f"limit's least: {least} s); shortest gap to one recipient {min(gaps, default=0):.2f} s "
        f"(limit {interval} s); sent {sum(map(len, arrivals.values())):,}, failed {failed}, "
        f"left queued {queued.count()}"
    )


def _busiest_sliding(times: list[float]) -> int:
    busiest, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--limited", type=int, default=800)
    parser.add_argument("--paired", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    setup.require("postgresql", "redis")

    fake = setup.start_fake_graph(send_latency=args.latency)
    setup.django_setup()
    stream, _ = setup.ready_stream(name="workers bench", business=setup.FakeBusiness())
    workers = setup.start_worker(concurrency=args.concurrency, pool=args.pool)
    try:
        time.sleep(4)  # the workers connect to the broker
        print(
            f"Celery {args.pool} pool, concurrency {args.concurrency}; fake Graph API "
            f"answering sends after {args.latency * 1000:.0f} ms; PostgreSQL + Redis"
        )
        stream.whatsapp.senders.update(messages_per_second=1000)
        _drain(stream, _queue(stream, args.messages, "fast"), "fast", "1,000/s")
        stream.whatsapp.senders.update(messages_per_second=80)
        time.sleep(11)  # the catalogue and the limiter forget the old rate
        _drain(stream, _queue(stream, args.limited, "limited"), "limited", "80/s")
        if args.paired:
            stream.whatsapp.senders.update(messages_per_second=1000)
            time.sleep(11)
            _drain_paired(stream, args.paired, recipients=10)
    finally:
        setup.stop(workers)
        setup.stop(fake)


if __name__ == "__main__":
    main()
