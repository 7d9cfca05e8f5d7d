"""``make serve``: docker-compose.yml's topology on this machine (Procfile.serve), kept matching
it, and run end to end on PostgreSQL and Redis."""

import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests
import yaml
from django.conf import settings

from tests.conftest import REQUIRE_SERVICES, unavailable
from textpeak.env import env_str
from textpeak.queues import KINDS

ROOT = Path(__file__).resolve().parents[1]
# Where each process listens and keeps beat's schedule differ on purpose (Procfile.serve says why).
LOCAL_OPTIONS = ("--bind=", "--schedule=")


def _compose_commands() -> dict[str, list[str]]:
    """The command of each docker-compose service that runs the app, but the one-off migration
    (a step of ``make serve``)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {
        name: service["command"]
        for name, service in services.items()
        if service.get("image") == "textpeak" and name != "migrate"
    }


def _procfile_commands() -> dict[str, list[str]]:
    commands = {}
    for line in (ROOT / "Procfile.serve").read_text().splitlines():
        if line and not line.startswith("#"):
            name, command = line.split(":", 1)
            program, *arguments = shlex.split(command)
            commands[name] = [program.removeprefix(".venv/bin/"), *arguments]
    return commands


def _without_local_options(command: list[str]) -> list[str]:
    return [argument for argument in command if not argument.startswith(LOCAL_OPTIONS)]


def _queues(commands: dict[str, list[str]]) -> list[str]:
    return sorted(
        command[command.index("-Q") + 1] for command in commands.values() if "-Q" in command
    )


def test_procfile_serve_runs_each_compose_service_with_its_options():
    compose, procfile = _compose_commands(), _procfile_commands()
    assert sorted(procfile) == sorted(compose)
    for name, command in compose.items():
        assert _without_local_options(procfile[name]) == _without_local_options(command), name


def test_both_run_a_worker_for_every_queue():
    assert _queues(_procfile_commands()) == _queues(_compose_commands()) == sorted(KINDS)


# The end-to-end run: `make serve` as a person starts it, on a database and a Redis database
# of its own, with none of the suite's settings in its environment.

SERVE_DATABASE = "textpeak_serve_test"
SERVE_REDIS_DB = 12
MARKER = "TEXTPEAK_SERVE_TEST"
# tests/settings.py's values, and make's own from a `make test` around the suite.
SUITE_ONLY = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "TEXTPEAK_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
)
DEMO_STREAM = """
from streams.services import stream_token_regenerate
from tests.factories import grant_whatsapp_access, whatsapp_stream
from textpeak.accounts.models import Account
account = Account.objects.get(name="Demo Co")
grant_whatsapp_access(account)
print(stream_token_regenerate(stream=whatsapp_stream(account=account)))
"""


@dataclass
class Served:
    url: str
    env: dict
    log: Path

    def demo_token(self) -> str:
        """A token of a new Demo Sending stream of the demo account, made as ``make serve``'s
        processes would (its secrets are the ones make serve generated)."""
        secret_key, encryption_key = (
            (Path(self.env["TEXTPEAK_VAR_DIR"]) / "serve-secrets").read_text().split()
        )
        shell = subprocess.run(
            [".venv/bin/python", "manage.py", "shell", "-c", DEMO_STREAM],
            cwd=ROOT,
            env={
                **self.env,
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": secret_key,
                "TEXTPEAK_ENCRYPTION_KEYS": encryption_key,
            },
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return shell.stdout.split()[-1]

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def _service_urls() -> tuple[str, str]:
    database_url, redis_url = env_str("DATABASE_URL", ""), settings.REDIS_URL
    if not (database_url.startswith("postgres") and redis_url):
        unavailable(
            "make serve needs DATABASE_URL (PostgreSQL) and REDIS_URL", required=REQUIRE_SERVICES
        )
    return (
        urlsplit(database_url)._replace(path=f"/{SERVE_DATABASE}").geturl(),
        urlsplit(redis_url)._replace(path=f"/{SERVE_REDIS_DB}").geturl(),
    )


def _recreate_database(database_url: str, *, create: bool) -> None:
    admin_url = urlsplit(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{SERVE_DATABASE}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{SERVE_DATABASE}"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _marked_processes(marker: str) -> list[int]:
    """The processes, ours or orphaned, whose environment carries ``marker``."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass  # gone meanwhile
    return found


def _wait_for_healthz(served: Served, make: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert make.poll() is None, f"make serve stopped:\n{served.log_tail()}"
        try:
            if requests.get(served.url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or still loading the app
        time.sleep(0.3)
    pytest.fail(f"/healthz did not answer 200 within {seconds} s:\n{served.log_tail()}")


def _stop(make: subprocess.Popen, marker: str, seconds: float = 20) -> list[int]:
    """SIGTERM to make's process group (make and honcho; honcho stops the processes it
    started, each in a session of its own); returns those still running after ``seconds``,
    killed."""
    if make.poll() is None:
        os.killpg(make.pid, signal.SIGTERM)
    make.wait(seconds)
    deadline = time.monotonic() + seconds
    while (left := _marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@contextmanager
def _make_serve(tmp_path):
    database_url, redis_url = _service_urls()
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).flushdb()
    except redis.RedisError as error:
        unavailable(f"Redis at {redis_url} is unreachable: {error}", required=True)
    _recreate_database(database_url, create=True)
    make_program = shutil.which("make") or unavailable("make is not installed", required=True)
    marker, port = uuid.uuid4().hex, _free_port()
    env = {name: value for name, value in os.environ.items() if name not in SUITE_ONLY}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TEXTPEAK_VAR_DIR": str(tmp_path),
            # One process of each kind: the machine is shared, and one demo message is sent.
            "WEB_WORKERS": "1",
            "SENDING_CONCURRENCY": "1",
            "INBOUND_CONCURRENCY": "1",
            "DELIVERIES_CONCURRENCY": "1",
            MARKER: marker,
        }
    )
    served = Served(url=f"http://127.0.0.1:{port}", env=env, log=tmp_path / "serve.log")
    with served.log.open("wb") as log:
        # -o: the suite runs in a .venv already set up, which make would otherwise reinstall.
        make = subprocess.Popen(
            [make_program, "-o", ".venv/.installed", "serve", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_healthz(served, make)
        yield served
    finally:
        left = _stop(make, marker)
        _recreate_database(database_url, create=False)
    assert left == [], f"processes left running after make serve stopped:\n{served.log_tail()}"


def _status(served: Served, token: str, message_uuid: str) -> str:
    answer = requests.post(
        served.url + "/api/messages_status/",
        json={"message_uuids": [message_uuid]},
        headers={"Authorization": token},
        timeout=5,
    )
    return answer.json()["messages"][0]["status"]


def _wait_for_status(served, token, message_uuid, status: str, seconds: float = 20) -> list[str]:
    """The statuses seen until ``status`` (or ``seconds``), each once."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while (not seen or seen[-1] != status) and time.monotonic() < deadline:
        current = _status(served, token, message_uuid)
        if not seen or seen[-1] != current:
            seen.append(current)
        time.sleep(0.2)
    return seen


@pytest.mark.redis
def test_make_serve_sends_a_demo_message_end_to_end_and_stops_every_process(tmp_path):
    with _make_serve(tmp_path) as served:
        health = requests.get(served.url + "/healthz", timeout=5).json()
        assert health["status"] == "ok"
        login = requests.get(served.url + "/login/", timeout=5)
        assert login.status_code == 200
        token = served.demo_token()
        accepted = requests.post(
            served.url + "/api/whatsapp/send/",
            json={
                "messages": [
                    {
                        "sender": "15550100100",
                        "recipient_phone": "4915112345678",
                        "type": "text",
                        "message_content": "Hello from make serve",
                    }
                ]
            },
            headers={"Authorization": token},
            timeout=5,
        ).json()
        message_uuid = accepted["messages"][0]["message_uuid"]
        # Sent by the sending worker; delivered and read are the demo's statuses, stored by
        # the inbound worker.
        seen = _wait_for_status(served, token, message_uuid, "read")
        assert seen[-1] == "read", f"statuses seen: {seen}\n{served.log_tail()}"
