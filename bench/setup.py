"""What the benchmarks share: a production-like environment on this machine's PostgreSQL and
Redis, Django set up in this process, and a Ready stream with a token; the app's processes
(gunicorn, Celery's worker and beat), the fake Graph API and a customer's webhook receiver,
each in a process of its own; Meta's signed webhook bodies; wrk.

The benchmarks use their own database (``textpeak_bench``) and Redis database (15), so they
never touch development or test data. BENCH_DATABASE_URL and BENCH_REDIS_URL choose others,
and BENCH_WEB_PORT and BENCH_FAKE_PORT other ports, so that two benchmarks can run at once.
"""

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import importlib.util
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/textpeak_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")

ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "textpeak.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "TEXTPEAK_ENCRYPTION_KEYS": "0b6mN1zPOfvH8Yv0gjMpn5JERorZTnTrhsVNkOtQG-k=",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "LOG_LEVEL": "WARNING",
    # The benchmark is the only client: the per-stream request limit would only measure itself.
    "STREAM_API_REQUESTS_PER_SECOND": "1000000",
    "TEXTPEAK_VAR_DIR": "/tmp/textpeak-bench",
}


def require(*tools: str) -> None:
    """Stop before anything starts, with one line saying how to get what this benchmark needs
    and this machine lacks (exit status 2). ``tools``: names in ``TOOLS``; the project's .venv
    is always needed (the other checks use its packages)."""
    for group in (("venv",), tools):
        missing = [how for ready, how in map(TOOLS.get, group) if not ready()]
        if missing:
            print("Missing: " + "; ".join(missing), file=sys.stderr)
            raise SystemExit(2)


def _address(url: str) -> str:
    """``url``'s host and port, without the credentials it may hold."""
    return urlsplit(url).netloc.rpartition("@")[2]


def _venv_ready() -> bool:
    packages = all(importlib.util.find_spec(name) for name in ("django", "psycopg", "redis"))
    return packages and (ROOT / ".venv/bin/gunicorn").exists()


def _postgresql_answers() -> bool:
    import psycopg

    try:
        psycopg.connect(_admin_url(), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def _redis_answers() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
    return True


# What a benchmark may need: whether this machine has it, and how to get it.
TOOLS = {
    "venv": (
        _venv_ready,
        "the project's packages (make install, then run the benchmark with .venv/bin/python)",
    ),
    "wrk": (lambda: shutil.which("wrk") is not None, "wrk (apt-get install wrk)"),
    "postgresql": (
        _postgresql_answers,
        f"PostgreSQL at {_address(DATABASE_URL)} (apt-get install postgresql, then "
        "service postgresql start; or set BENCH_DATABASE_URL)",
    ),
    "redis": (
        _redis_answers,
        f"Redis at {_address(REDIS_URL)} (apt-get install redis-server, then "
        "service redis-server start; or set BENCH_REDIS_URL)",
    ),
}


def _admin_url() -> str:
    """The benchmark's PostgreSQL server, at the database every server has."""
    return DATABASE_URL.rsplit("/", 1)[0] + "/postgres"


def create_database() -> None:
    """A new, empty benchmark database for every run: results do not depend on earlier runs."""
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    create_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


# A real stream is Ready only with the app secret Meta signs its webhooks with.
BENCH_APP_SECRET = "bench-app-secret"


def ready_stream(*, name: str, business=None, app_secret: str = BENCH_APP_SECRET):
    """A Ready stream of a fresh account with WhatsApp access, set up through the services
    the wizard uses: a demo stream, or one on the fake Graph API's ``business`` (with
    ``app_secret``, which Meta's webhooks to it are signed with). Returns ``(stream, token)``."""
    from streams import services as streams
    from textpeak.accounts.models import Account, BetaAccessRequest, Feature
    from whatsapp import services as whatsapp
    from whatsapp.graph.demo import DEMO_BUSINESS_ID

    account = Account.objects.create(name=f"Bench {name} {time.time():.0f}")
    BetaAccessRequest.objects.create(
        account=account, feature=Feature.WHATSAPP_STREAMS, status="approved"
    )
    stream = streams.stream_save_details(
        account=account, type="whatsapp", name=name, is_demo=business is None
    )
    if business is None:
        whatsapp_account = whatsapp.whatsapp_settings_save(
            stream=stream, business_id=DEMO_BUSINESS_ID
        )
    else:
        whatsapp_account = whatsapp.whatsapp_settings_save(
            stream=stream,
            business_id=business.waba_id,
            access_token=business.token,
            app_secret=app_secret,
        )
    whatsapp.whatsapp_account_refresh(account=whatsapp_account)
    return stream, streams.stream_activate(stream=stream, steps_done=4)


def recipient(number: int) -> str:
    """A recipient of its own for each message of a benchmark: Meta's pair limit keeps a
    sender's messages to one recipient ``SEND_PAIR_SECONDS`` apart, which would measure only
    itself."""
    return f"49151{number:08d}"


def meta_body(*, wamid: str, text: str, waba_id: str = "102000000000001") -> bytes:
    """A body of Meta's webhook with one text message, as Meta posts it to a callback."""
    message = {
        "from": "4915112345678",
        "id": wamid,
        "timestamp": "1736933400",
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100100", "phone_number_id": "100000000000001"},
        "contacts": [{"profile": {"name": "Anna Schmidt"}, "wa_id": "4915112345678"}],
        "messages": [message],
    }
    entry = {"id": waba_id, "changes": [{"value": value, "field": "messages"}]}
    payload = {"object": "whatsapp_business_account", "entry": [entry]}
    return json.dumps(payload, separators=(",", ":")).encode()


def meta_signature(body: bytes, app_secret: str = BENCH_APP_SECRET) -> str:
    """The X-Hub-Signature-256 Meta sends ``body`` with."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def start(command: list[str], *, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**ENV, **(env or {})},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def refuse_taken_port(port: int) -> None:
    """Stop before starting a server on ``port`` if something listens there already: it would
    answer in the new one's place and be measured instead."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"Port {port} is in use: stop what listens there first")


def wait_for_http(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()  # noqa: S310 (loopback only)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


# Load from wrk (Debian's package): compiled, so the load generator takes little of the two
# cores the server needs.


def wrk(url: str, script: str = "", *, seconds: int, connections: int):
    """Drive ``url`` for ``seconds``; returns requests/s, p50 and p99 in ms, non-2xx count."""
    return _wrk_parse(_wrk_output(url, script, seconds=seconds, connections=connections))


def _wrk_output(url: str, script: str, *, seconds: int, connections: int) -> str:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[-1:-1] = ["-s", script]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _wrk_parse(output: str) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and the count of non-2xx answers."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, _ms(p50), _ms(p99), int(non_2xx.group(1)) if non_2xx else 0


def _ms(match) -> float:
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


# The web benchmarks: gunicorn as docker-compose.yml runs it (its access log aside), each
# figure beside the trivial endpoint's in the same run.

WEB_PORT = int(os.environ.get("BENCH_WEB_PORT", "8077"))
WEB_URL = f"http://127.0.0.1:{WEB_PORT}"
TRIVIAL = "/healthz?live"


def web_arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=3)
    return parser.parse_args()


@contextmanager
def web_server(workers: int):
    """gunicorn on ``WEB_URL``, up and warmed up, stopped on leaving; yields its process."""
    refuse_taken_port(WEB_PORT)
    web = start(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "textpeak.wsgi",
            f"--bind=127.0.0.1:{WEB_PORT}",
            f"--workers={workers}",
        ]
    )
    try:
        wait_for_http(WEB_URL + TRIVIAL)
        wrk(WEB_URL + TRIVIAL, seconds=2, connections=4)
        yield web
    finally:
        stop(web)


def print_figures(args: argparse.Namespace, figures: dict[str, tuple]) -> None:
    """One line of ``wrk``'s figures per label."""
    print(
        f"gunicorn, {args.web_workers} workers; wrk, {args.connections} connections, "
        f"{args.seconds} s each; PostgreSQL + Redis"
    )
    for label, (rate, p50, p99, errors) in figures.items():
        print(
            f"  {label:30} {rate:8,.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  non-2xx {errors}"
        )


# Celery as docker-compose.yml runs it.


def start_worker(*, concurrency: int, pool: str = "prefork", options: tuple = ()):
    return start(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "textpeak",
            "worker",
            "--loglevel=WARNING",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            *options,
        ]
    )


def start_beat(name: str):
    """Beat (the sweepers), its schedule file named ``name`` under TEXTPEAK_VAR_DIR."""
    os.makedirs(ENV["TEXTPEAK_VAR_DIR"], exist_ok=True)
    return start(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "textpeak",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={ENV['TEXTPEAK_VAR_DIR']}/{name}",
        ]
    )


# The fake Graph API in a process of its own (as Meta is not inside the workers), with one
# business whose sends it reads out at SENT_PATH.

FAKE_PORT = int(os.environ.get("BENCH_FAKE_PORT", "8093"))
FAKE_URL = f"http://127.0.0.1:{FAKE_PORT}"


class FakeBusiness:
    """The fake's business, as ``ready_stream`` takes it."""

    waba_id, token = "102000000000001", "bench-token"


def start_fake_graph(*, send_latency: float) -> subprocess.Popen:
    """The fake, answering sends after ``send_latency`` s, up; the app's processes started
    from now on (and this one's Django, if set up after) call it as the Graph API."""
    refuse_taken_port(FAKE_PORT)
    fake = start(
        [
            str(ROOT / ".venv/bin/python"),
            "-m",
            "whatsapp.testing.fake_graph",
            f"--port={FAKE_PORT}",
            f"--send-latency={send_latency}",
            f"--waba-id={FakeBusiness.waba_id}",
            f"--token={FakeBusiness.token}",
        ]
    )
    ENV["WHATSAPP_GRAPH_URL"] = FAKE_URL
    wait_for_http(FAKE_URL + "/_fake/sent")
    return fake


def fake_sent(*, after: int = 0) -> list[dict]:
    """The sends the fake accepted after the first ``after``: wamid, to, type, text, and ``at``
    (``time.time()`` of its arrival, before the send latency)."""
    url = f"{FAKE_URL}/_fake/sent?after={after}"
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (loopback only)
        return json.load(answer)["sent"]


# A customer's webhook receiver (a separate process, so it does not share a GIL with anything
# measured): asyncio, HTTP/1.1 keep-alive.


def receiver_main(port: int, latency: float, control) -> None:
    """Serve until told to stop; commands on ``control``: ("mode", "up"|"503"|"refuse"),
    ("stats",) → dict, ("arrivals", after) → the (text, time.time()) of each delivery answered
    2xx after the first ``after``, ("reset",), ("stop",)."""
    state = {"mode": "up", "requests": 0, "statuses": Counter()}
    answered_ok: Counter = Counter()
    arrivals: list[tuple[str, float]] = []
    connections: set = set()

    async def handle(reader, writer):
        connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, delivery, body = 0, b"", b""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"x-textpeak-delivery":
                        delivery = value.strip()
                if length:
                    body = await reader.readexactly(length)
                arrived = time.time()
                state["requests"] += 1
                if state["mode"] == "503":
                    status = 503
                else:
                    await asyncio.sleep(latency)
                    status = 200
                state["statuses"][status] += 1
                if status == 200:
                    answered_ok[delivery] += 1
                    arrivals.append((_event_text(body), arrived))
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
                elif command[0] == "arrivals":
                    control.send(arrivals[command[1] :])
                elif command[0] == "reset":
                    answered_ok.clear()
                    arrivals.clear()
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


def _event_text(body: bytes) -> str:
    """The ``text`` of a delivery's event: what a benchmark tells its messages apart by."""
    try:
        event = json.loads(body)
    except ValueError:
        return ""
    return (event.get("text") or "") if isinstance(event, dict) else ""


class ReceiverProcess:
    """The receiver on ``port``, answering each request after ``latency`` s."""

    def __init__(self, port: int, latency: float):
        refuse_taken_port(port)
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(
            target=receiver_main, args=(port, latency, child), daemon=True
        )
        self.process.start()
        wait_for_port(port)

    def ask(self, *command):
        self._control.send(command)
        return self._control.recv()

    def stop(self):
        if self.process.is_alive():
            with contextlib.suppress(EOFError, OSError):
                self.ask("stop")
            self.process.join(5)


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Nothing listens on port {port} after {seconds} s")
