"""What the benchmarks share: a production-like environment on this machine's PostgreSQL and
Redis, Django set up in this process, and a Ready stream with a token.

The benchmarks use their own database (``textpeak_bench``) and Redis database (15), so they
never touch development or test data.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

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


def create_database() -> None:
    """A new, empty benchmark database for every run: results do not depend on earlier runs."""
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
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

WEB_PORT = 8077
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
    """gunicorn on ``WEB_URL``, up and warmed up, stopped on leaving."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", WEB_PORT)) == 0:
            # Another server would answer in this one's place and be measured instead.
            raise SystemExit(f"Port {WEB_PORT} is in use: stop what listens there first")
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
        yield
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
