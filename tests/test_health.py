from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import whatsapp_stream
from textpeak import health
from textpeak.celery import app as celery_app
from whatsapp import tasks as whatsapp_tasks
from whatsapp.models import Message
from whatsapp.outbox.accept import messages_accept

pytestmark = pytest.mark.django_db


def test_it_reports_the_database_and_broker_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_it_needs_no_login(client):
    assert client.get("/healthz").status_code == 200


def test_it_answers_503_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_it_answers_the_liveness_probe_without_checking_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz?live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- /healthz?detail: where work waits, for operators only

TOKEN = "health-token-for-the-tests-0123456789"


@pytest.fixture
def operator(settings):
    """The bearer token of /metrics, which /healthz?detail answers too."""
    settings.METRICS_TOKEN = TOKEN
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def workers(monkeypatch):
    """Workers the broker's ping reaches: ``workers.seen`` names those that answer."""

    class Workers:
        seen: list[str] = []

    monkeypatch.setattr(
        celery_app.control,
        "ping",
        lambda timeout: [{name: {"ok": "pong"}} for name in Workers.seen],
    )
    return Workers


def _detail(client, operator) -> dict:
    response = client.get("/healthz?detail", headers=operator)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_refuses_the_detail_without_the_token_and_still_answers_the_plain_check(
    client, operator
):
    assert client.get("/healthz?detail").status_code == 403
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_it_keeps_the_plain_checks_beside_the_detail(client, operator, workers):
    body = _detail(client, operator)
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")


def test_it_shows_an_empty_backlog_ok(client, operator, workers):
    backlog = _detail(client, operator)["detail"]["backlog"]
    assert backlog["messages"] == {"count": 0, "oldest_seconds": 0.0, "state": "ok"}
    assert backlog["payloads"]["state"] == backlog["deliveries"]["state"] == "ok"


def test_it_shows_messages_waiting_too_long_late(
    client, operator, workers, account, whatsapp_access
):
    stream = whatsapp_stream(account=account)
    text = {"sender": "15550100100", "recipient_phone": "4915112345678", "type": "text"}
    messages_accept(stream=stream, items=[{**text, "message_content": "Hi"}])
    due = timezone.now() - timedelta(seconds=health.LATE_AFTER_SECONDS["messages"] + 60)
    Message.objects.update(next_attempt_at=due)
    messages = _detail(client, operator)["detail"]["backlog"]["messages"]
    assert messages["count"] == 1
    assert messages["state"] == "late"


def test_it_names_the_workers_that_answer_the_ping(client, operator, workers):
    workers.seen = ["sending@web-1", "inbound@web-1"]
    assert _detail(client, operator)["detail"]["workers"] == {
        "seen": ["inbound@web-1", "sending@web-1"],
        "state": "ok",
    }


def test_it_shows_the_workers_late_when_none_answers(client, operator, workers):
    assert _detail(client, operator)["detail"]["workers"] == {"seen": [], "state": "late"}


def test_it_shows_beat_late_before_its_first_run(client, operator, workers):
    assert _detail(client, operator)["detail"]["beat"] == {"seconds_ago": None, "state": "late"}


def test_it_shows_beat_ok_after_a_periodic_task_ran(client, operator, workers, publish):
    whatsapp_tasks.sweep_outbox.apply()
    beat = _detail(client, operator)["detail"]["beat"]
    assert beat["state"] == "ok"
    assert beat["seconds_ago"] < health.LATE_BEAT_SECONDS


def test_it_shows_no_queue_lengths_on_the_filesystem_broker(client, operator, workers, settings):
    settings.REDIS_URL = None
    assert _detail(client, operator)["detail"]["queues"] is None


@pytest.mark.redis
def test_it_shows_each_queue_length_on_redis(client, operator, workers, redis_broker, settings):
    names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    redis_broker.rpush(names[0], "a task", "another")
    queues = _detail(client, operator)["detail"]["queues"]
    assert queues[names[0]] == {"length": 2, "state": "ok"}
    assert {name: queues[name]["length"] for name in names[1:]} == dict.fromkeys(names[1:], 0)
