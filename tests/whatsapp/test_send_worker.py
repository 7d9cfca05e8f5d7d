"""Sending on a real Celery worker and Redis: the reliability guarantees of the outbox.

These run with REDIS_URL set (``.ci/run`` sets it); the killed-worker test also needs
PostgreSQL, which a worker in another process can share with the test.
"""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from streams.models import Stream
from streams.services import stream_token_regenerate
from tests.conftest import REQUIRE_SERVICES, unavailable
from tests.factories import APP_SECRET, StreamFactory, contact_wrote
from tests.whatsapp.fixtures import WABA_ID, fixture
from tests.workers import running_worker, wait_for_queued_tasks
from whatsapp import services as whatsapp_services
from whatsapp.graph.demo import DEMO_BUSINESS_ID
from whatsapp.models import InboundPayload, Message, WhatsAppAccount
from whatsapp.outbox.sweep import outbox_sweep
from whatsapp.testing.fake_graph import SERVICE_UNAVAILABLE, THROUGHPUT_LIMITED, UNDELIVERABLE

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SENDER = "15550001111"
RECIPIENT = "4915112345678"


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    stream = StreamFactory(account=account, name="Orders")
    business = fake_graph.business
    whatsapp_account = whatsapp_services.whatsapp_settings_save(
        stream=stream,
        business_id=business.waba_id,
        access_token=business.token,
        app_secret=APP_SECRET,
    )
    whatsapp_services.whatsapp_account_refresh(account=whatsapp_account)
    stream.token = stream_token_regenerate(stream=stream)
    # The tests send texts: the recipient has written, so their window is open.
    contact_wrote(stream, RECIPIENT)
    return stream


def _send(client, stream, *texts, sender=SENDER):
    messages = [
        {
            "internal_id": text,
            "sender": sender,
            "recipient_phone": RECIPIENT,
            "type": "text",
            "message_content": text,
        }
        for text in texts
    ]
    response = client.post(
        "/api/whatsapp/send/",
        json.dumps({"messages": messages}),
        content_type="application/json",
        HTTP_AUTHORIZATION=stream.token,
    )
    assert response.status_code == 200
    return [item["message_uuid"] for item in response.json()["messages"]]


def _statuses(client, stream, uuids):
    response = client.post(
        "/api/messages_status/",
        json.dumps({"message_uuids": uuids}),
        content_type="application/json",
        HTTP_AUTHORIZATION=stream.token,
    )
    return {item["message_uuid"]: item for item in response.json()["messages"]}


def _wait_for(client, stream, uuids, status, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = _statuses(client, stream, uuids)
        if all(item["status"] == status for item in found.values()):
            return found
        time.sleep(0.1)
    return _statuses(client, stream, uuids)


def _sent_texts(fake_graph):
    return [sent.payload["text"]["body"] for sent in fake_graph.sent]


def test_messages_are_sent_by_a_worker_after_the_request_commits(
    client, stream, fake_graph, worker
):
    uuids = _send(client, stream, "first", "second")
    found = _wait_for(client, stream, uuids, "sent")
    assert {item["status"] for item in found.values()} == {"sent"}
    assert sorted(_sent_texts(fake_graph)) == ["first", "second"]


def test_the_api_accepts_messages_with_the_broker_down_and_the_sweeper_sends_them_later(
    client,
    stream,
    fake_graph,
    broker_outage,
    settings,
):
    broker_outage.start()
    started = time.monotonic()
    uuids = _send(client, stream, "during the outage")
    assert time.monotonic() - started < 2
    assert _statuses(client, stream, uuids)[uuids[0]]["status"] == "queued"

    broker_outage.end()
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    with running_worker():
        assert outbox_sweep() == 1  # what beat runs every 30 seconds
        assert _wait_for(client, stream, uuids, "sent")[uuids[0]]["status"] == "sent"
    assert _sent_texts(fake_graph) == ["during the outage"]


def test_rate_limits_and_server_errors_from_whatsapp_are_retried_until_sent(
    client, stream, fake_graph, worker, settings
):
    settings.SEND_RETRY_BASE_SECONDS = 0.2
    fake_graph.fail_next(THROUGHPUT_LIMITED, path="/messages")
    fake_graph.fail_next(SERVICE_UNAVAILABLE, path="/messages")
    uuids = _send(client, stream, "persistent")
    assert _wait_for(client, stream, uuids, "sent")[uuids[0]]["status"] == "sent"
    message = Message.objects.get(uuid=uuids[0])
    assert message.attempts == 3
    assert [event.error_code for event in message.events.all()] == ["130429", "2", ""]


def test_a_permanent_error_from_whatsapp_fails_the_message_with_metas_code(
    client, stream, fake_graph, worker
):
    fake_graph.fail_next(UNDELIVERABLE, path="/messages")
    uuids = _send(client, stream, "to nowhere")
    found = _wait_for(client, stream, uuids, "sent_failed")[uuids[0]]
    assert found["status"] == "sent_failed"
    assert found["error"]["code"] == "131026"
    assert _sent_texts(fake_graph) == []


def test_a_disabled_stream_sends_nothing_until_enabled_then_every_message_once(
    client, owner, stream, fake_graph, redis_broker, settings
):
    uuids = _send(client, stream, *[f"held #{n}" for n in range(5)])
    client.force_login(owner)
    assert client.post(reverse("streams:disable", args=[stream.uid])).status_code == 302
    with running_worker():
        wait_for_queued_tasks()
        settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
        assert outbox_sweep() == 0  # what beat runs every 30 seconds
        assert fake_graph.sent == []
        assert set(Message.objects.values_list("status", flat=True)) == {"queued"}

        assert client.post(reverse("streams:enable", args=[stream.uid])).status_code == 302
        assert Stream.objects.get(pk=stream.pk).status == "ready"
        # Watched at the fake, not in the database: SQLite's tables are locked while the worker
        # writes.
        assert _wait(lambda: len(fake_graph.sent) == len(uuids))
        wait_for_queued_tasks()
    assert sorted(_sent_texts(fake_graph)) == [f"held #{n}" for n in range(5)]
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_a_demo_stream_reports_read_within_seconds(client, account, whatsapp_access, worker):
    stream = StreamFactory(account=account, is_demo=True)
    whatsapp_services.whatsapp_account_refresh(
        account=whatsapp_services.whatsapp_settings_save(
            stream=stream, business_id=DEMO_BUSINESS_ID
        )
    )
    stream.token = stream_token_regenerate(stream=stream)
    uuids = _send(client, stream, "hello demo", sender="15550100100")
    assert _wait_for(client, stream, uuids, "read", seconds=10)[uuids[0]]["status"] == "read"


def _worker_process(fake_graph, name="worker", pool=("--pool=solo",)):
    """A Celery worker in its own process, on the test database, as `make run` starts one."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "WHATSAPP_GRAPH_URL": fake_graph.url,
        "SEND_CLAIM_SECONDS": "2",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "textpeak",
            "worker",
            *pool,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
            f"--hostname={name}@%h",
        ],
        env=env,
        start_new_session=True,
    )


def _children(pid: int) -> list[int]:
    """The pids of a process's children (a prefork worker's pool processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while being read
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _kill(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _wait(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_a_message_whose_worker_was_killed_mid_send_is_sent_afterwards_and_none_twice(
    client,
    stream,
    fake_graph,
    redis_broker,
    settings,
):
    if connection.vendor != "postgresql":
        unavailable("a worker in another process needs PostgreSQL", required=REQUIRE_SERVICES)
    process = _worker_process(fake_graph)
    try:
        recorded = _send(client, stream, "recorded before the kill")
        assert _wait(lambda: Message.objects.get(uuid=recorded[0]).status == "sent")
        fake_graph.send_latency = 30
        in_flight = _send(client, stream, "in flight at the kill")
        assert _wait(
            lambda: len(fake_graph.requests) and Message.objects.get(uuid=in_flight[0]).claim_id
        )
        time.sleep(0.3)  # the POST to WhatsApp is under way
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert Message.objects.get(uuid=in_flight[0]).status == "queued"

    fake_graph.send_latency = 0
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    time.sleep(2.1)  # the dead worker's claim runs out
    with running_worker():
        assert outbox_sweep() == 1
        assert _wait_for(client, stream, in_flight, "sent")[in_flight[0]]["status"] == "sent"
    assert _sent_texts(fake_graph).count("recorded before the kill") == 1


def test_a_worker_stores_what_metas_callback_kept(client, account, worker):
    stream = StreamFactory(account=account, name="Inbound", setup_progress=4)
    whatsapp = whatsapp_services.whatsapp_settings_save(
        stream=stream, business_id=WABA_ID, app_secret="callback-secret"
    )
    WhatsAppAccount.objects.filter(stream=stream).update(verified_at=timezone.now())
    raw = fixture("text")
    signature = hmac.new(b"callback-secret", raw, hashlib.sha256).hexdigest()
    response = client.post(
        whatsapp_services.callback_path(whatsapp),
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": f"sha256={signature}"},
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 15
    while not Message.objects.filter(stream=stream, direction="inbound").exists():
        assert time.monotonic() < deadline, "the kept payload was not stored"
        time.sleep(0.1)
    assert not InboundPayload.objects.exists()


def test_two_groups_of_workers_keep_together_to_one_senders_limit_and_send_each_message_once(
    client, stream, fake_graph, redis_broker
):
    if connection.vendor != "postgresql":
        unavailable("workers in other processes need PostgreSQL", required=REQUIRE_SERVICES)
    stream.whatsapp.senders.update(messages_per_second=10)
    # As on two hosts: separate processes, sharing only PostgreSQL and Redis.
    groups = [_worker_process(fake_graph, name=name) for name in ("host-a", "host-b")]
    try:
        texts = [f"message {n}" for n in range(60)]
        uuids = [
            uuid
            for start in range(0, 60, 5)
            for uuid in _send(client, stream, *texts[start : start + 5])
        ]
        found = _wait_for(client, stream, uuids, "sent", seconds=30)
    finally:
        for process in groups:
            _kill(process)

    assert {item["status"] for item in found.values()} == {"sent"}
    assert sorted(_sent_texts(fake_graph)) == sorted(texts)
    per_second = {}
    for sent in fake_graph.sent:
        per_second[int(sent.at)] = per_second.get(int(sent.at), 0) + 1
    assert max(per_second.values()) <= 10


def _kill_a_prefork_child_mid_batch(client, stream, fake_graph, settings):
    """Ten messages at 5 a second, one batch whose sends are spread over two seconds; its
    prefork child is killed once it has recorded a send, and the sweeper runs after its claim
    ran out. What the fake had received, and which sends were recorded, at the kill."""
    stream.whatsapp.senders.update(messages_per_second=5)
    worker = _worker_process(fake_graph, pool=("--pool=prefork", "--concurrency=1"))
    try:
        texts = [f"paced {n}" for n in range(10)]
        uuids = _send(client, stream, *texts)
        sent = Message.objects.filter(uuid__in=uuids, status="sent")
        assert _wait(lambda: sent.exists() and _children(worker.pid))
        for child in _children(worker.pid):
            os.kill(child, signal.SIGKILL)
        time.sleep(0.2)
        received_before_kill = set(_sent_texts(fake_graph))
        recorded_before_kill = set(sent.values_list("internal_id", flat=True))
        assert recorded_before_kill
        assert len(received_before_kill) < len(texts)

        settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
        time.sleep(2.1)  # the dead child's claim runs out
        outbox_sweep()
        assert _wait(lambda: not Message.objects.filter(uuid__in=uuids, status="queued").exists())
    finally:
        _kill(worker)
    return received_before_kill, recorded_before_kill, _statuses(client, stream, uuids)


def test_a_prefork_child_killed_mid_batch_repeats_only_the_calls_it_had_not_recorded(
    client, stream, fake_graph, redis_broker, settings
):
    if connection.vendor != "postgresql":
        unavailable("a worker in another process needs PostgreSQL", required=REQUIRE_SERVICES)
    received_before, recorded_before, statuses = _kill_a_prefork_child_mid_batch(
        client, stream, fake_graph, settings
    )

    assert {item["status"] for item in statuses.values()} == {"sent"}
    received = _sent_texts(fake_graph)
    sent_twice = {text for text in received if received.count(text) > 1}
    # What the child had recorded went once; only a call answered but not yet recorded at the
    # kill (in flight) may go again.
    assert sent_twice <= received_before - recorded_before
    assert len(set(received)) == len(statuses)


def test_at_most_once_a_prefork_child_killed_mid_batch_sends_nothing_twice(
    client, stream, fake_graph, redis_broker, settings
):
    if connection.vendor != "postgresql":
        unavailable("a worker in another process needs PostgreSQL", required=REQUIRE_SERVICES)
    whatsapp_services.delivery_guarantee_set(
        account=stream.whatsapp, guarantee=WhatsAppAccount.DeliveryGuarantee.AT_MOST_ONCE
    )
    received_before, recorded_before, statuses = _kill_a_prefork_child_mid_batch(
        client, stream, fake_graph, settings
    )

    received = _sent_texts(fake_graph)
    assert len(received) == len(set(received))
    in_doubt = {uuid for uuid, item in statuses.items() if item["status"] == "unknown"}
    assert {item["status"] for item in statuses.values()} <= {"sent", "unknown"}
    # Every call made but not recorded at the kill is in doubt; none was made again.
    assert len(in_doubt) >= len(received_before - recorded_before)
    assert len(in_doubt) == len(statuses) - len(recorded_before)
