"""End-to-end latency of both flows, one message at a time, at steady rates, and the CPU each
kind of process spends on a message.

    .venv/bin/python bench/e2e.py [--flow send|inbound|both] [--rates 20,100,200,400]
        [--seconds 10] [--wait 60] [--blast] [--blast-messages 20000]

The stack as in production, on PostgreSQL and Redis (see bench/setup.py): gunicorn with 3
sync workers, ``celery worker --pool=prefork --concurrency=4``, beat, DJANGO_DEBUG=false; the
fake Graph API in a process of its own, answering sends after 50 ms; every sender limited to
1,000/s; a customer's webhook receiver (asyncio, keep-alive) answering after 50 ms.

- send: 1-message text requests to POST /api/whatsapp/send/, each with its own text, until the
  fake Graph API receives that message's send.
- inbound: Meta-signed callbacks with one text message each, until the customer's webhook
  receives that message's delivery.

Requests go out open loop, each at its scheduled time whatever is still unanswered (on a new
connection: gunicorn's sync workers close each after its answer), and latency counts from that
time (the request's start), so that a queue in front of the server is measured, not hidden.
After each rate the bench waits until every message arrived, or until none did for ``--wait``
s, and says how many are missing. Each rate's line: the rate asked; done/s, the requests
answered 200 a second (from the first request's start to the last answer); the latency's
p50/p90/p99/max; the answer's own p50/p99 ("200"); CPU ms per message of each kind, from
utime+stime in /proc of its every process, sampled from the first request until the last
arrival: web (gunicorn's master and workers), worker (Celery's worker, its pool processes, and
beat), pg (the postmaster, its background processes and the backends of the bench's database),
redis, fake, and bench (this driver and the receiver); the machine's busy %, the part of it
that none of those took (other people's work), and the 1-minute load average before the rate.
The trivial endpoint's rate (wrk on ``/healthz?live``) is measured once at the start.

``--blast``: the isolation case, after the rates (alone with ``--rates ""``):
``--blast-messages`` messages queued through the API on stream A, whose sender is limited to
80/s; while that backlog waits, a 1-message send on stream B every 2 s and an inbound message
on stream C every 2 s, 10 each; their latencies. A's backlog is then dropped (its rows deleted
and the queue purged), not drained.
"""

import argparse
import asyncio
import functools
import itertools
import json
import math
import os
import threading
import time
from dataclasses import dataclass

import setup

RECEIVER_PORT = int(os.environ.get("BENCH_RECEIVER_PORT", "8079"))
# The send flows' recipients, in turn: at 400 messages/s each is written to every 25 s, well
# apart for Meta's pair limit.
RECIPIENTS = 10_000


# Process kinds and their CPU

KINDS = ("web", "worker", "postgres", "redis", "fake", "bench")
_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """A process's name, process group and CPU ticks (utime + stime); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            line = stat.read()
    except OSError:
        return None
    name = line[line.index("(") + 1 : line.rindex(")")]
    fields = line[line.rindex(")") + 2 :].split()
    return name, int(fields[2]), int(fields[11]) + int(fields[12])


def _postgres_is_ours(pid: int, database: str) -> bool:
    """The postmaster and the server's background processes work for every database; of the
    backends (titled "[cluster: ]user database host(port) state"), only the bench's count."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            title = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return False
    words = title.split(": ")[-1].split()
    is_backend = len(words) >= 3 and ("(" in words[2] or words[2] == "[local]")
    return not is_backend or words[1] == database


class CPUMeter:
    """Samples the CPU of each kind's processes every ``interval`` s while running, so that
    a process that ends in between (a PostgreSQL backend past CONN_MAX_AGE) still counts up to
    its last sample."""

    def __init__(self, groups: dict[int, str], bench_pids: set[int], *, interval: float = 0.25):
        self._groups = groups  # process group → kind
        self._bench = bench_pids
        self._database = setup.DATABASE_URL.rsplit("/", 1)[1]
        self._interval = interval
        self._kinds: dict[int, str | None] = {}  # pid → its kind, once found
        self._first: dict[int, int] = {}  # pid → ticks when the window opened (0 if born after)
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _kind(self, pid: int, name: str, group: int) -> str | None:
        if group in self._groups:
            return self._groups[group]
        if pid in self._bench:
            return "bench"
        if name == "postgres":
            return "postgres" if _postgres_is_ours(pid, self._database) else None
        if name.startswith("redis-server"):
            return "redis"
        return None

    def _sample(self, *, opening: bool = False) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if pid in self._kinds and self._kinds[pid] is None:
                continue
            stat = _stat(pid)
            if stat is None:
                continue
            name, group, ticks = stat
            if pid not in self._kinds:
                self._kinds[pid] = self._kind(pid, name, group)
                if self._kinds[pid] is None:
                    continue
                self._first[pid] = ticks if opening else 0
            self._last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> "CPUMeter":
        self._machine = _machine_ticks()
        self._sample(opening=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        busy, total = _machine_ticks()
        self.busy_ticks = busy - self._machine[0]
        self.total_ticks = total - self._machine[1]

    def seconds(self) -> dict[str, float]:
        """CPU seconds of each kind in the window."""
        spent = dict.fromkeys(KINDS, 0.0)
        for pid, kind in self._kinds.items():
            if kind is not None:
                spent[kind] += (self._last[pid] - self._first[pid]) / _TICK
        return spent

    def busy(self) -> tuple[float, float]:
        """The machine's busy %, and the % of it that none of the kinds took."""
        total = self.total_ticks or 1
        ours = sum(self.seconds().values()) * _TICK
        return 100 * self.busy_ticks / total, 100 * max(self.busy_ticks - ours, 0) / total


def _machine_ticks() -> tuple[int, int]:
    """Busy and total ticks of all cores since boot (/proc/stat; idle and iowait are idle)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


# Open-loop HTTP


@dataclass
class Request:
    key: str  # what the message is told apart by where it arrives
    path: str
    body: bytes
    headers: dict[str, str]
    offset: float  # seconds after the start at which it goes out
    at: float = 0.0  # time.time() it was due to go out
    status: int = 0  # 0: no answer
    answered: float = 0.0  # time.time() of the answer's status line


# Longer than any queue a rate here builds in front of gunicorn: a request still unanswered
# then counts as not answered.
ANSWER_TIMEOUT = 120.0


async def _post(request: Request) -> None:
    try:
        await asyncio.wait_for(_exchange(request), ANSWER_TIMEOUT)
    except TimeoutError:
        request.status = 0


async def _exchange(request: Request) -> None:
    head = (
        f"POST {request.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Length: {len(request.body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
        + "\r\n"
    )
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", setup.WEB_PORT)
    except OSError:
        return
    try:
        writer.write(head.encode() + request.body)
        status_line = await reader.readline()
        request.answered = time.time()
        await reader.read()
        request.status = int(status_line.split()[1]) if status_line else 0
    except (OSError, IndexError, ValueError):
        request.status = 0
    finally:
        writer.close()


async def _drive(requests: list[Request]) -> float:
    """Send each request at its offset from now, whatever is still unanswered; the most the
    client was late for one, in seconds."""
    start = time.time() + 0.1
    late = 0.0
    tasks = []
    for request in sorted(requests, key=lambda r: r.offset):
        request.at = start + request.offset
        wait = request.at - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            late = max(late, -wait)
        tasks.append(asyncio.create_task(_post(request)))
    await asyncio.gather(*tasks)
    return late


def drive(requests: list[Request]) -> float:
    return asyncio.run(_drive(requests))


async def _post_all(requests: list[Request], *, at_once: int) -> None:
    """Closed loop, ``at_once`` requests in flight: for queueing a backlog."""
    pending = iter(requests)

    async def client():
        for request in pending:
            request.at = time.time()
            await _post(request)

    await asyncio.gather(*(client() for _ in range(at_once)))


# The flows: what a message is sent as, and where it is seen to arrive


class FakeSends:
    """The sends the fake Graph API received, each read once: ``(text, time.time())``."""

    def __init__(self):
        self._read = 0

    def new(self) -> list[tuple[str, float]]:
        sent = setup.fake_sent(after=self._read)
        self._read += len(sent)
        return [(s["text"] or "", s["at"]) for s in sent]


class Deliveries:
    """The deliveries the customer's webhook received, each read once: ``(text, time.time())``."""

    def __init__(self, receiver: setup.ReceiverProcess):
        self._receiver = receiver
        self._read = 0

    def new(self) -> list[tuple[str, float]]:
        arrived = self._receiver.ask("arrivals", self._read)
        self._read += len(arrived)
        return arrived


class Flow:
    """Requests of one message each, told apart by their text, and where they arrive."""

    def __init__(self, name: str, arrivals: FakeSends | Deliveries):
        self.name = name
        self._arrivals = arrivals

    def request(self, key: str, offset: float) -> Request:
        raise NotImplementedError

    def wait(self, requests: list[Request], *, timeout: float) -> dict[str, float]:
        """time.time() each request's message arrived at, waiting until all have, or until
        none arrived for ``timeout`` s. Arrivals of other requests are passed over."""
        pending = {r.key for r in requests if r.status == 200}
        arrived: dict[str, float] = {}
        quiet_since = time.monotonic()
        while pending and time.monotonic() - quiet_since < timeout:
            time.sleep(0.25)
            for key, at in self._arrivals.new():
                if key in pending:
                    pending.discard(key)
                    arrived[key] = at
                    quiet_since = time.monotonic()
        return arrived


class SendFlow(Flow):
    """Text messages to the send API, arriving at the fake Graph API."""

    def __init__(self, name: str, stream, token: str, arrivals: FakeSends):
        super().__init__(name, arrivals)
        self._sender = stream.whatsapp.senders.get().number
        self._headers = {"Content-Type": "application/json", "Authorization": token}
        self._recipients = itertools.count()

    def request(self, key: str, offset: float) -> Request:
        return self.batch([key], offset)

    def batch(self, keys: list[str], offset: float = 0.0) -> Request:
        messages = [
            {
                "sender": self._sender,
                "recipient_phone": setup.recipient(next(self._recipients) % RECIPIENTS),
                "type": "text",
                "message_content": key,
            }
            for key in keys
        ]
        body = json.dumps({"messages": messages}).encode()
        return Request(keys[0], "/api/whatsapp/send/", body, self._headers, offset)


# Every inbound message has its own wamid, whatever its stream: none is taken for a retry.
_wamids = itertools.count(1)


class InboundFlow(Flow):
    """Meta's callbacks with one text message, arriving at the customer's webhook."""

    def __init__(self, name: str, stream, arrivals: Deliveries):
        from whatsapp.services import callback_path

        super().__init__(name, arrivals)
        self._path = callback_path(stream.whatsapp)

    def request(self, key: str, offset: float) -> Request:
        body = setup.meta_body(wamid=f"wamid.E2E{next(_wamids):012d}", text=key)
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": setup.meta_signature(body),
        }
        return Request(key, self._path, body, headers, offset)


# One rate of one flow


@dataclass
class Row:
    rate: float
    load: float  # the machine's 1-minute load average before the rate
    requests: list[Request]
    arrived: dict[str, float]
    late: float
    cpu: dict[str, float]  # CPU seconds of each kind
    busy: float
    others: float


def run_rate(flow: Flow, rate: float, seconds: float, meter, *, wait: float) -> Row:
    """``flow`` at ``rate`` for ``seconds``, measured with ``meter()``."""
    count = max(round(rate * seconds), 1)
    requests = [flow.request(f"e2e {flow.name} {rate:g}/s #{n}", n / rate) for n in range(count)]
    load = os.getloadavg()[0]
    with meter() as cpu:
        late = drive(requests)
        arrived = flow.wait(requests, timeout=wait)
    busy, others = cpu.busy()
    return Row(rate, load, requests, arrived, late, cpu.seconds(), busy, others)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(math.ceil(fraction * len(ordered)) - 1, 0))]


def latencies(requests: list[Request], arrived: dict[str, float]) -> list[float]:
    """Milliseconds from each request's start until its message arrived."""
    return [(arrived[r.key] - r.at) * 1000 for r in requests if r.key in arrived]


def print_table(flow: Flow, rows: list[Row], destination: str) -> None:
    print(
        f"\n{flow.name}: 1-message requests → {destination}; latency from the request's "
        "start, ms; CPU ms per message"
    )
    print(
        f"  {'asked/s':>7} {'done/s':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} "
        f"{'200 p50':>7} {'200 p99':>7} | {'web':>5} {'worker':>6} {'pg':>5} {'redis':>5} "
        f"{'fake':>5} {'bench':>5} | {'busy%':>5} {'other%':>6} {'load':>4} | missing"
    )
    for row in rows:
        ok = [r for r in row.requests if r.status == 200]
        answers = [(r.answered - r.at) * 1000 for r in ok]
        ms = latencies(row.requests, row.arrived)
        # Messages answered 200 per second, from the first request's start to the last answer.
        elapsed = max((r.answered for r in ok), default=0) - row.requests[0].at
        done = len(ok) / elapsed if elapsed > 0 else 0.0
        per = {kind: 1000 * s / len(row.requests) for kind, s in row.cpu.items()}
        missing = len(row.requests) - len(row.arrived)
        refused = len(row.requests) - len(ok)
        note = f"{missing}" + (f" ({refused} not answered 200)" if refused else "")
        if row.late > 0.05:
            note += f"; client up to {row.late * 1000:.0f} ms late"
        print(
            f"  {row.rate:7g} {done:7.0f} {_percentile(ms, 0.5):7.0f} {_percentile(ms, 0.9):7.0f} "
            f"{_percentile(ms, 0.99):7.0f} {max(ms, default=math.nan):7.0f} "
            f"{_percentile(answers, 0.5):7.1f} {_percentile(answers, 0.99):7.1f} | "
            f"{per['web']:5.1f} {per['worker']:6.1f} {per['postgres']:5.1f} {per['redis']:5.1f} "
            f"{per['fake']:5.1f} {per['bench']:5.1f} | {row.busy:5.0f} {row.others:6.0f} "
            f"{row.load:4.1f} | {note}"
        )


# The isolation case


def blast(args, flows: dict[str, Flow], stream_a, meter) -> None:
    """A's backlog queued; B's sends and C's inbound messages timed while it waits."""
    from textpeak.celery import app
    from whatsapp.models import Message

    a, b, c = flows["A"], flows["B"], flows["C"]
    per_request = 100
    backlog = [
        a.batch([f"blast #{n + i}" for i in range(per_request)])
        for n in range(0, args.blast_messages, per_request)
    ]
    started = time.monotonic()
    asyncio.run(_post_all(backlog, at_once=args.web_workers))
    queued_in = time.monotonic() - started
    refused = sum(1 for r in backlog if r.status != 200)
    load = os.getloadavg()[0]
    probes_b = [b.request(f"blast B #{n}", 2.0 * n) for n in range(10)]
    probes_c = [c.request(f"blast C #{n}", 2.0 * n + 1) for n in range(10)]
    with meter() as cpu:
        drive(probes_b + probes_c)
        arrived_b = b.wait(probes_b, timeout=args.wait)
        arrived_c = c.wait(probes_c, timeout=args.wait)
    busy, others = cpu.busy()
    elapsed = time.monotonic() - started
    sent_a = Message.objects.filter(stream=stream_a, status=Message.Status.SENT).count()

    print(
        f"\nblast: {args.blast_messages:,} messages queued on stream A (sender limit 80/s) in "
        f"{queued_in:.1f} s ({refused} requests not answered 200); then, load {load:.1f}, "
        f"machine {busy:.0f}% busy, {others:.0f}% by others"
    )
    for label, probes, arrived, destination in (
        ("B's 1-message sends (limit 1,000/s)", probes_b, arrived_b, "the fake Graph API"),
        ("C's inbound messages", probes_c, arrived_c, "the customer's webhook"),
    ):
        ms = latencies(probes, arrived)
        print(
            f"  {label} → {destination}, one every 2 s: p50 {_percentile(ms, 0.5):,.0f} ms, "
            f"max {max(ms, default=math.nan):,.0f} ms; missing {len(probes) - len(arrived)}"
        )
    purged = app.control.purge()
    left = _delete_queued(stream_a)
    print(
        f"  by then ({elapsed:.0f} s after A's first request) A had sent {sent_a:,}; then "
        f"dropped: {purged} queued tasks purged, {left:,} queued rows deleted"
    )


def _delete_queued(stream) -> int:
    """Delete the stream's queued messages; how many. A worker still sending one of them
    may record its event meanwhile, which fails the delete: it is tried again."""
    from django.db import IntegrityError

    from whatsapp.models import Message

    for _ in range(10):
        try:
            queued = Message.objects.filter(stream=stream, status=Message.Status.QUEUED)
            return queued.delete()[1].get("whatsapp.Message", 0)
        except IntegrityError:
            time.sleep(1)
    raise SystemExit("Stream A's queued messages could not be deleted")


# The bench


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", choices=("send", "inbound", "both"), default="both")
    parser.add_argument("--rates", default="20,100,200,400", help="messages/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10, help="seconds at each rate")
    parser.add_argument(
        "--wait", type=float, default=60, help="seconds with no arrival before giving up"
    )
    parser.add_argument("--blast", action="store_true", help="also run the isolation case")
    parser.add_argument("--blast-messages", type=int, default=20_000)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="Celery prefork processes")
    parser.add_argument("--send-latency", type=float, default=0.05, help="the fake's, s")
    parser.add_argument("--webhook-latency", type=float, default=0.05, help="the receiver's, s")
    parser.add_argument("--trivial-seconds", type=int, default=10)
    args = parser.parse_args()
    args.rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    return args


def _streams() -> dict:
    """The streams, each of its own account: one per flow and A, B, C for the blast."""
    from django.utils import timezone

    from webhooks.services import webhook_save
    from whatsapp.service_window import contacts_wrote

    streams = {}
    for name, limit, inbound in (
        ("send", 1000, False),
        ("inbound", 1000, True),
        ("A", 80, False),
        ("B", 1000, False),
        ("C", 1000, True),
    ):
        stream, token = setup.ready_stream(name=f"e2e {name}", business=setup.FakeBusiness())
        stream.whatsapp.senders.update(messages_per_second=limit)
        # The flows send texts, which need their recipients to have written first.
        now = timezone.now()
        contacts_wrote(
            stream=stream, written=[(setup.recipient(n), now) for n in range(RECIPIENTS)]
        )
        if inbound:
            webhook_save(
                stream=stream,
                method="POST",
                url=f"http://127.0.0.1:{RECEIVER_PORT}/hooks/textpeak",
                headers=[("Authorization", "Bearer bench-token")],
            )
        streams[name] = (stream, token)
    return streams


def main():
    args = _arguments()
    setup.require("wrk", "postgresql", "redis")
    started = time.time()
    fake = setup.start_fake_graph(send_latency=args.send_latency)
    # The customer's webhook receiver is on 127.0.0.1.
    setup.ENV["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"
    processes = [fake]
    receiver = None
    try:
        setup.django_setup()
        streams = _streams()
        receiver = setup.ReceiverProcess(RECEIVER_PORT, args.webhook_latency)
        with setup.web_server(args.web_workers) as web:
            worker = setup.start_worker(concurrency=args.concurrency)
            beat = setup.start_beat("celerybeat-e2e")
            processes += [worker, beat]
            sends, deliveries = FakeSends(), Deliveries(receiver)
            flows = {
                "send": SendFlow("send", *streams["send"], sends),
                "inbound": InboundFlow("inbound", streams["inbound"][0], deliveries),
                "A": SendFlow("A", *streams["A"], sends),
                "B": SendFlow("B", *streams["B"], sends),
                "C": InboundFlow("C", streams["C"][0], deliveries),
            }
            groups = {web.pid: "web", worker.pid: "worker", beat.pid: "worker", fake.pid: "fake"}
            meter = functools.partial(CPUMeter, groups, {os.getpid(), receiver.process.pid})
            _measure(args, flows, meter, streams["A"][0])
    finally:
        for process in reversed(processes):
            setup.stop(process)
        if receiver is not None:
            receiver.stop()
    print(f"\n(bench took {time.time() - started:.0f} s)")


def _measure(args, flows: dict[str, Flow], meter, stream_a) -> None:
    # Warm-up: the worker's pool up, connections to PostgreSQL, Redis and the fake open.
    for name in ("send", "inbound"):
        requests = [flows[name].request(f"warm-up {name} #{n}", n / 10) for n in range(20)]
        drive(requests)
        if len(flows[name].wait(requests, timeout=60)) < len(requests):
            raise SystemExit(f"The warm-up's {name} messages did not all arrive")
    trivial = setup.wrk(setup.WEB_URL + setup.TRIVIAL, seconds=args.trivial_seconds, connections=32)
    print(
        f"gunicorn {args.web_workers} sync workers, Celery prefork x{args.concurrency} and beat, "
        f"PostgreSQL + Redis; fake Graph API answering sends after {args.send_latency * 1000:.0f}"
        f" ms; webhook receiver answering after {args.webhook_latency * 1000:.0f} ms; "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"trivial endpoint (GET {setup.TRIVIAL}, wrk, 32 connections, {args.trivial_seconds} s): "
        f"{trivial[0]:,.0f} req/s, p50 {trivial[1]:.1f} ms, p99 {trivial[2]:.1f} ms; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    destinations = {"send": "the fake Graph API", "inbound": "the customer's webhook"}
    names = ("send", "inbound") if args.flow == "both" else (args.flow,)
    for name in names if args.rates else ():
        rows = [
            run_rate(flows[name], rate, args.seconds, meter, wait=args.wait) for rate in args.rates
        ]
        print_table(flows[name], rows, destinations[name])
    if args.blast:
        blast(args, flows, stream_a, meter)


if __name__ == "__main__":
    main()
