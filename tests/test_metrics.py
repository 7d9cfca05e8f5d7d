"""/metrics: the Prometheus scrape of what every process counted and of what waits, answered
only with METRICS_TOKEN as a bearer token or to an address in METRICS_ALLOWED_IPS.

The tests' processes count into one folder for the whole run, so each test compares the
figures before and after what it does."""

import hashlib
import hmac
import ipaddress
import json
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from streams.services import stream_delete, stream_token_regenerate
from tests.factories import APP_SECRET, contact_wrote, whatsapp_stream
from tests.whatsapp.fixtures import fixture
from textpeak import metrics, metrics_files
from webhooks import services as webhook_services
from webhooks.deliveries import deliveries_send
from webhooks.models import Delivery
from whatsapp import services as whatsapp_services
from whatsapp import tasks
from whatsapp.inbound.callback import SIGNATURE_PREFIX
from whatsapp.inbound.payloads import payloads_store, payloads_sweep
from whatsapp.models import InboundPayload, Message, WhatsAppAccount
from whatsapp.outbox.send import messages_send
from whatsapp.outbox.sweep import outbox_sweep
from whatsapp.testing import fake_graph as graph

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-the-tests-0123456789"
SENDER = "15550001111"  # the fake business's number
DEMO_SENDER = "15550100100"  # whatsapp.graph.demo.DEMO_SENDERS
RECIPIENT = "4915112345678"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ()
    settings.TRUSTED_PROXIES = []


class Figures:
    """One scrape's samples, read by name and labels."""

    def __init__(self, text: str):
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def __call__(self, name: str, **labels) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client) -> Figures:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    return Figures(response.content.decode())


def _send_api(client, stream, messages) -> dict:
    token = stream_token_regenerate(stream=stream)
    response = client.post(
        "/api/whatsapp/send/",
        json.dumps({"messages": messages}),
        content_type="application/json",
        headers={"Authorization": token},
    )
    assert response.status_code == 200, response.content
    return response.json()


def _text(sender: str) -> dict:
    return {"sender": sender, "recipient_phone": RECIPIENT, "type": "text", "message_content": "Hi"}


def _send_queued() -> None:
    """What a sending worker does with the task the API enqueued."""
    messages_send(message_ids=list(Message.objects.values_list("pk", flat=True)))


# -- what the seams count


def test_a_demo_send_counts_the_request_the_message_and_its_latency(
    client, account, whatsapp_access, monkeypatch
):
    # The demo's statuses that follow a send are not this test's.
    monkeypatch.setattr(tasks.simulate_demo_statuses, "apply_async", mock.Mock())
    stream = whatsapp_stream(account=account)
    before = scrape(client)
    _send_api(client, stream, [_text(DEMO_SENDER)])
    _send_queued()
    after = scrape(client)

    def moved(name, **labels):
        return after(name, **labels) - before(name, **labels)

    assert moved("textpeak_api_requests_total", endpoint="api_send", status="200") == 1
    assert moved("textpeak_messages_accepted_total", stream_type="whatsapp") == 1
    assert moved("textpeak_messages_sent_total", stream_type="whatsapp") == 1
    assert moved("textpeak_message_send_latency_seconds_count", stream_type="whatsapp") == 1
    assert moved("textpeak_message_send_latency_seconds_bucket", stream_type="whatsapp", le="+Inf")


def test_it_counts_a_refused_message_by_its_error_code(client, account, whatsapp_access):
    stream = whatsapp_stream(account=account)
    before = scrape(client)
    _send_api(client, stream, [_text("15559999999")])
    after = scrape(client)
    labels = {"stream_type": "whatsapp", "reason": "UNKNOWN_SENDER"}
    assert after("textpeak_messages_rejected_total", **labels) == (
        before("textpeak_messages_rejected_total", **labels) + 1
    )


def test_it_counts_an_api_request_refused_before_its_view_by_its_route(client):
    before = scrape(client)
    response = client.post("/api/whatsapp/send/", "{}", content_type="application/json")
    assert response.status_code == 403
    labels = {"endpoint": "api_send", "status": "403"}
    assert scrape(client)("textpeak_api_requests_total", **labels) == (
        before("textpeak_api_requests_total", **labels) + 1
    )


def test_it_counts_graph_api_calls_and_a_failed_message_by_metas_code(
    client, account, whatsapp_access, fake_graph
):
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    contact_wrote(stream, RECIPIENT)
    _send_api(client, stream, [_text(SENDER)])
    before = scrape(client)
    fake_graph.fail_next(graph.UNDELIVERABLE, path="/messages")
    _send_queued()
    after = scrape(client)
    failed = {"stream_type": "whatsapp", "error_code": "131026"}
    assert after("textpeak_messages_failed_total", **failed) == (
        before("textpeak_messages_failed_total", **failed) + 1
    )
    assert after("textpeak_graph_api_calls_total", outcome="InvalidParameter") == (
        before("textpeak_graph_api_calls_total", outcome="InvalidParameter") + 1
    )
    # Setting the stream up asked WhatsApp for its account, numbers and templates.
    assert after("textpeak_graph_api_calls_total", outcome="ok") >= 3


def _signed_post(client, stream, raw: bytes):
    signature = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        whatsapp_services.callback_path(WhatsAppAccount.objects.get(stream=stream)),
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": SIGNATURE_PREFIX + signature},
    )


def test_a_meta_callback_delivered_to_the_webhook_counts_the_attempt_and_its_latency(
    client, account, whatsapp_access, fake_graph, receiver
):
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    WhatsAppAccount.objects.filter(stream=stream).update(verified_at=timezone.now())
    webhook_services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/hook"), headers=[]
    )
    before = scrape(client)
    assert _signed_post(client, stream, fixture("text")).status_code == 200
    payloads_store(payload_ids=list(InboundPayload.objects.values_list("pk", flat=True)))
    deliveries_send(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))
    after = scrape(client)

    def moved(name, **labels):
        return after(name, **labels) - before(name, **labels)

    assert len(receiver.requests) == 1
    assert moved("textpeak_webhook_attempts_total", outcome="succeeded") == 1
    assert moved("textpeak_webhook_attempt_duration_seconds_count", outcome="succeeded") == 1
    assert moved("textpeak_webhook_delivery_latency_seconds_count") == 1


def test_it_counts_what_a_sweeper_enqueued_again(client, account, whatsapp_access):
    stream = whatsapp_stream(account=account)
    _send_api(client, stream, [_text(DEMO_SENDER)])
    Message.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    before = scrape(client)
    assert outbox_sweep() == 1
    assert scrape(client)("textpeak_swept_total", swept="messages") == (
        before("textpeak_swept_total", swept="messages") + 1
    )


def test_it_counts_the_meta_bodies_a_sweeper_enqueued_again(client, account, whatsapp_access):
    stream = whatsapp_stream(account=account)
    InboundPayload.objects.create(
        stream=stream, body=fixture("text"), received_at=timezone.now() - timedelta(minutes=10)
    )
    before = scrape(client)
    assert payloads_sweep() == 1
    assert scrape(client)("textpeak_swept_total", swept="payloads") == (
        before("textpeak_swept_total", swept="payloads") + 1
    )


def test_it_counts_the_messages_a_deleted_stream_never_sent_as_rejected(
    client, account, whatsapp_access
):
    stream = whatsapp_stream(account=account)
    _send_api(client, stream, [_text(DEMO_SENDER), _text(DEMO_SENDER)])
    labels = {"stream_type": "whatsapp", "reason": "STREAM_DELETED"}
    before = scrape(client)
    stream_delete(stream=stream)
    assert scrape(client)("textpeak_messages_rejected_total", **labels) == (
        before("textpeak_messages_rejected_total", **labels) + 2
    )


def test_it_shows_the_backlog_and_how_long_its_oldest_has_waited(client, account, whatsapp_access):
    stream = whatsapp_stream(account=account)
    _send_api(client, stream, [_text(DEMO_SENDER), _text(DEMO_SENDER)])
    Message.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    figures = scrape(client)
    assert figures("textpeak_backlog_items", kind="messages") == 2
    assert 600 <= figures("textpeak_backlog_oldest_seconds", kind="messages") < 700
    assert figures("textpeak_backlog_items", kind="deliveries") == 0
    assert figures("textpeak_backlog_oldest_seconds", kind="payloads") == 0


def test_it_never_labels_a_figure_with_a_stream_an_account_or_a_number(
    client, account, whatsapp_access, monkeypatch
):
    monkeypatch.setattr(tasks.simulate_demo_statuses, "apply_async", mock.Mock())
    stream = whatsapp_stream(account=account)
    _send_api(client, stream, [_text(DEMO_SENDER), _text("15559999999")])
    _send_queued()
    label_values = {value for _, labels in scrape(client).samples for _, value in labels}
    for value in (str(stream.uid), str(stream.pk), str(account.pk), DEMO_SENDER, RECIPIENT):
        assert value not in label_values


# -- who may scrape


def test_it_refuses_a_scrape_without_the_token(client):
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"textpeak_" not in response.content


def test_it_refuses_a_scrape_with_another_token(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 403


def test_it_is_closed_when_neither_a_token_nor_addresses_are_set(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 403
    assert b"Closed" in response.content


def test_it_answers_a_scrape_with_the_token_in_prometheus_text_format(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE textpeak_webhook_delivery_latency_seconds histogram" in response.content


def test_it_answers_a_scrape_from_an_allowed_address(client, settings):
    settings.METRICS_ALLOWED_IPS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_it_refuses_an_allowed_address_forwarded_by_an_untrusted_peer(client, settings):
    settings.METRICS_ALLOWED_IPS = (ipaddress.ip_network("10.0.0.0/8"),)
    response = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", headers={"X-Forwarded-For": "10.1.2.3"}
    )
    assert response.status_code == 403


def test_it_answers_an_allowed_address_forwarded_by_a_trusted_proxy(client, settings):
    settings.METRICS_ALLOWED_IPS = (ipaddress.ip_network("10.0.0.0/8"),)
    settings.TRUSTED_PROXIES = ["192.0.2.1"]
    response = client.get(
        "/metrics", REMOTE_ADDR="192.0.2.1", headers={"X-Forwarded-For": "10.1.2.3"}
    )
    assert response.status_code == 200


# -- the processes' files


def test_a_scrape_adds_up_the_figures_of_every_hosts_folder(client, account, whatsapp_access):
    """Containers keep their files apart (a folder each under METRICS_DIR) and /metrics reads
    them all: here another host's folder holds the same figures as this one's."""
    stream = whatsapp_stream(account=account)
    _send_api(client, stream, [_text("15559999999")])
    labels = {"stream_type": "whatsapp", "reason": "UNKNOWN_SENDER"}
    here = scrape(client)("textpeak_messages_rejected_total", **labels)
    assert here >= 1
    other = Path(settings.METRICS_DIR) / "another-host"
    shutil.copytree(settings.PROMETHEUS_MULTIPROC_DIR, other)
    try:
        assert scrape(client)("textpeak_messages_rejected_total", **labels) == 2 * here
    finally:
        shutil.rmtree(other)


def test_a_process_group_starting_removes_the_files_of_ended_processes(settings, tmp_path):
    settings.PROMETHEUS_MULTIPROC_DIR = tmp_path
    ended = tmp_path / "counter_999999999.db"
    ended.write_bytes(b"")
    running = tmp_path / f"counter_{os.getpid()}.db"
    running.write_bytes(b"")
    assert metrics_files.remove_stale() == [ended]
    assert running.exists()


@pytest.mark.redis
def test_it_shows_the_broker_queue_lengths_on_redis(client, redis_broker, settings):
    name = settings.CELERY_TASK_QUEUES[0].name
    redis_broker.rpush(name, "a task")
    assert scrape(client)("textpeak_broker_queue_length", queue=name) == 1


def test_the_sample_dashboard_charts_only_metrics_that_exist():
    dashboard = json.loads((Path(settings.BASE_DIR) / "deploy/grafana-dashboard.json").read_text())
    charted = {
        re.sub(r"_(bucket|total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"textpeak_\w+", target["expr"])
    }
    defined = {
        family.name
        for metric in vars(metrics).values()
        if isinstance(metric, Counter | Histogram)
        for family in metric.describe()
    }
    # What waits, and the broker's queues, which only Redis has.
    defined |= {family.name for family in metrics.BacklogCollector().collect()}
    defined.add("textpeak_broker_queue_length")
    assert charted - defined == set()
