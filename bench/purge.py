"""How long the retention purge takes on a year of old messages, and that it never holds the
tables long.

    python bench/purge.py [--messages 1000000] [--streams 20]

On PostgreSQL (see bench/setup.py; its own database, ``textpeak_bench_purge``, and Redis
database 13): fills the message table with ``--messages`` messages 91 to 455 days old, each
with two status events, spread over ``--streams`` streams, plus messages of the last 89 days
(some past the 30 days of their contents) and old ones still queued. Then runs the purge as
beat does, run after run of ``RETENTION_PURGE_SECONDS`` until one finishes, while another
thread keeps inserting messages and recording statuses as the API and the workers would.

Reports the time taken, the longest single statement (every statement the purge sends is
timed in this process with Django's ``execute_wrapper``: pg_stat_statements needs a server
restart to load), the slowest of the other thread's writes, and checks that the Info tab's
all-time figures (the selector the page renders) are the same before and after, that queued
messages are kept, and that one more run removes nothing.
"""

import argparse
import os
import re
import threading
import time
from collections import defaultdict

# A database and Redis of its own, beside the other benchmarks', set before setup reads them.
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/textpeak_bench_purge"
)
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

import setup

setup.ENV["TEXTPEAK_VAR_DIR"] = "/tmp/textpeak-bench-purge"


def _streams(count: int) -> list:
    from streams.models import Stream
    from textpeak.accounts.models import Account

    accounts = [Account.objects.create(name=f"Purge bench {n}") for n in range(count // 4 or 1)]
    return [
        Stream.objects.create(
            account=accounts[n % len(accounts)], type="whatsapp", name=f"Purge {n}", status="ready"
        )
        for n in range(count)
    ]


# Each generated message's status, direction and type follow from its number.
_MESSAGES = """
INSERT INTO whatsapp_message (
    uuid, stream_id, direction, internal_id, sender_number, phone_number_id, contact_number,
    type, payload, status, contact_name, contact_user_id, error_code, error_message, attempts,
    next_attempt_at, send_once, sent_at, created_at, updated_at)
SELECT gen_random_uuid(), (%(streams)s::bigint[])[1 + n %% %(stream_count)s::int],
    CASE WHEN n %% 10 = 0 THEN 'inbound' ELSE 'outbound' END, '', '15550001111', '',
    '4915112345678', 'text', jsonb_build_object('body', 'Your order ' || n || ' is on its way'),
    coalesce(%(status)s::text, status), '', '', '', '', 1, at, false, at, at, at
FROM (
    SELECT n, now() - %(newest)s::int * interval '1 day'
        - (n::float / %(count)s::int) * %(span)s::int * interval '1 day' AS at,
        CASE WHEN n %% 10 = 0 THEN 'received' WHEN n %% 10 < 6 THEN 'read'
             WHEN n %% 10 < 8 THEN 'delivered' WHEN n %% 10 = 8 THEN 'sent'
             ELSE 'sent_failed' END AS status
    FROM generate_series(1, %(count)s::int) AS n
) AS generated
"""

_EVENTS = """
INSERT INTO whatsapp_messageevent (message_id, status, occurred_at, error_code, error_message, note)
SELECT id, status, created_at + step * interval '1 second', '', '', ''
FROM whatsapp_message, generate_series(1, 2) AS step
WHERE status <> 'queued'
"""


def _fill(streams: list, *, count: int) -> None:
    from django.db import connection

    ids = [stream.pk for stream in streams]
    started = time.monotonic()
    with connection.cursor() as cursor:
        for rows, newest, span, status in [
            (count, 91, 364, None),  # past the 90 days of their metadata
            (count // 20, 0, 89, None),  # kept; those older than 30 days lose their contents
            (1_000, 200, 100, "queued"),  # never sent (a stream disabled since): kept
        ]:
            cursor.execute(
                _MESSAGES,
                {
                    "streams": ids,
                    "stream_count": len(ids),
                    "count": rows,
                    "newest": newest,
                    "span": span,
                    "status": status,
                },
            )
        cursor.execute(_EVENTS)
        cursor.execute("ANALYZE whatsapp_message")
        cursor.execute("ANALYZE whatsapp_messageevent")
        cursor.execute("SELECT count(*) FROM whatsapp_messageevent")
        events = cursor.fetchone()[0]
    print(
        f"  filled {count + count // 20 + 1000:,} messages and {events:,} events "
        f"in {time.monotonic() - started:.0f} s"
    )


def _figures(streams: list) -> dict:
    """The Info tab's All time column of every stream, from the selector the page renders
    (Today and 7 days count only messages the purge keeps, and move with the clock)."""
    from streams.selectors import message_statistics

    return {
        stream.pk: {row["status"]: row["total"] for row in message_statistics(stream=stream)}
        for stream in streams
    }


class Statements:
    """Every statement the purge sends, timed."""

    def __init__(self):
        self.times: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append((time.perf_counter() - started, sql))

    def by_kind(self) -> dict[str, list[float]]:
        kinds = defaultdict(list)
        for seconds, sql in self.times:
            table = re.search(r"whatsapp_[a-z]+", sql)
            kinds[f"{sql.split()[0]} {table.group() if table else ''}"].append(seconds)
        return kinds


class Traffic(threading.Thread):
    """The app's writes during the purge: a message inserted and another's status recorded,
    every 10 ms; the slowest of each is kept."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.stop = threading.Event()
        self.slowest = 0.0
        self.writes = 0

    def run(self):
        from django.db import connection
        from django.utils import timezone

        from whatsapp.models import Message

        while not self.stop.is_set():
            started = time.perf_counter()
            message = Message.objects.create(
                stream=self.stream,
                direction="outbound",
                sender_number="15550001111",
                contact_number="4915112345678",
                type="text",
                payload={"body": "new"},
                status="sent",
            )
            Message.objects.filter(pk=message.pk).update(
                status="delivered", delivered_at=timezone.now()
            )
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.writes += 1
            time.sleep(0.01)
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=20)
    args = parser.parse_args()

    setup.django_setup()
    from django.conf import settings
    from django.db import connection

    from textpeak.lib.purge import Run
    from whatsapp.models import Message, MessageDailyCount
    from whatsapp.retention import whatsapp_purge

    print(f"PostgreSQL; {args.streams} streams; purge runs of {settings.RETENTION_PURGE_SECONDS} s")
    streams = _streams(args.streams)
    _fill(streams, count=args.messages)
    before = _figures(streams)

    # The other thread's messages are new: they change no figure of the streams compared.
    traffic = Traffic(_streams(1)[0])
    traffic.start()
    statements = Statements()
    runs, removed = 0, defaultdict(int)
    started = time.monotonic()
    with connection.execute_wrapper(statements):
        while True:
            run = whatsapp_purge(run=Run())
            runs += 1
            for kind, rows in run.removed.items():
                removed[kind] += rows
            if run.finished:
                break
    elapsed = time.monotonic() - started
    traffic.stop.set()
    traffic.join()

    longest, sql = max(statements.times)
    print(
        f"  purge: {removed['messages']:,} messages deleted, {removed['contents']:,} contents "
        f"blanked in {elapsed:.1f} s ({runs} runs, {removed['messages'] / elapsed:,.0f} "
        f"messages/s)"
    )
    print(f"  {len(statements.times):,} statements; the longest {longest * 1000:.0f} ms:")
    print(f"    {' '.join(sql.split())[:160]}…")
    for kind, times in sorted(statements.by_kind().items()):
        print(
            f"    {kind:40} {len(times):6,} times, max {max(times) * 1000:6.1f} ms  "
            f"total {sum(times):6.1f} s"
        )
    print(
        f"  the app's writes during the purge: {traffic.writes:,}, the slowest "
        f"{traffic.slowest * 1000:.0f} ms"
    )

    after = _figures(streams)
    print(f"  Info tab's all-time figures of the {len(streams)} streams: ", end="")
    print("unchanged" if after == before else f"CHANGED from {before} to {after}")
    total = sum(sum(totals.values()) for totals in after.values())
    print(
        f"  all-time total {total:,} messages; {Message.objects.count():,} rows left, "
        f"{Message.objects.filter(status='queued').count():,} of them queued; "
        f"{MessageDailyCount.objects.count():,} daily counts"
    )
    again = whatsapp_purge(run=Run())
    print(f"  one more run removed: {dict(again.removed) or 'nothing'}")


if __name__ == "__main__":
    main()
