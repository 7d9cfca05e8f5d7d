"""Correlated logs: each request's id (``textpeak.requestid``), the ids a line is about
(``textpeak.logcontext``) in both formats, and their way into Celery tasks."""

import logging
import time

import pytest
from celery.app.trace import trace_task
from celery.signals import before_task_publish

from tests.logs import configured_formatter
from textpeak import logcontext
from textpeak.celery import app as celery_app
from textpeak.lib.tasks import Coalescer
from whatsapp import tasks

HEALTH = "/healthz"
logger = logging.getLogger(__name__)


def _record(message="Something happened", **extra) -> logging.LogRecord:
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    logcontext.ContextFilter().filter(record)
    return record


# The request id


def test_it_answers_each_request_with_a_new_id(client):
    first, second = client.get(HEALTH), client.get(HEALTH)
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_it_keeps_the_id_a_trusted_proxy_sends(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    response = client.get(HEALTH, HTTP_X_REQUEST_ID="edge-4f1c:2")
    assert response["X-Request-ID"] == "edge-4f1c:2"


def test_it_makes_its_own_id_when_the_peer_is_no_trusted_proxy(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = client.get(HEALTH, HTTP_X_REQUEST_ID="chosen-by-the-client")
    assert response["X-Request-ID"] != "chosen-by-the-client"


@pytest.mark.parametrize(
    "given", ["two words", "line\nbreak", "x" * 129, 'quote"d', "ünïcode"], ids=repr
)
def test_it_makes_its_own_id_when_a_proxys_is_not_plain_or_too_long(client, settings, given):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    response = client.get(HEALTH, HTTP_X_REQUEST_ID=given)
    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_requests_lines_carry_its_id(client, json_log):
    response = client.get("/no-such-page/")
    [line] = [line for line in json_log.lines if line["name"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"]


def test_no_id_outlives_its_request(client):
    client.get(HEALTH)
    assert logcontext.current() == {}


# The formats


def test_a_json_line_is_one_object_with_the_ids_known():
    token = logcontext.start({"request_id": "r-1", "stream_uid": "s-1"})
    try:
        line = configured_formatter("json").format(_record(message_uuid="m-1"))
    finally:
        logcontext.end(token)
    assert "\n" not in line
    assert '"request_id": "r-1"' in line
    assert '"stream_uid": "s-1"' in line
    assert '"message_uuid": "m-1"' in line


def test_a_text_line_keeps_its_layout_and_ends_with_the_ids_known():
    token = logcontext.start({"request_id": "r-1"})
    try:
        line = configured_formatter("text").format(_record())
    finally:
        logcontext.end(token)
    assert line.endswith(" INFO tests.test_logs Something happened [request_id=r-1]")


def test_a_text_line_about_nothing_known_is_as_before():
    line = configured_formatter("text").format(_record())
    assert line.endswith(" INFO tests.test_logs Something happened")


def test_a_line_naming_its_own_message_keeps_it():
    token = logcontext.start({"message_uuid": "m-of-the-work"})
    try:
        record = _record(**logcontext.about(message_uuid="m-of-the-line"))
    finally:
        logcontext.end(token)
    assert record.message_uuid == "m-of-the-line"


# Into Celery tasks

_seen: list[dict] = []


@celery_app.task
def _note_log_ids():
    _seen.append(logcontext.current())


@pytest.fixture
def published_headers():
    """The headers of each task published during the test."""
    published = []

    def note(headers=None, **kwargs):
        published.append(dict(headers))

    before_task_publish.connect(note, weak=False)
    yield published
    before_task_publish.disconnect(note)


def test_a_task_is_published_with_the_request_id_and_stream_uid(published_headers):
    token = logcontext.start({"request_id": "r-1", "stream_uid": "s-1", "message_uuid": "m-1"})
    try:
        _note_log_ids.apply_async(retry=False)
    finally:
        logcontext.end(token)
    assert published_headers[-1]["log_ids"] == {"request_id": "r-1", "stream_uid": "s-1"}


def test_a_worker_runs_a_task_with_the_ids_of_its_headers_and_keeps_none_after():
    _seen.clear()
    ids = {"request_id": "r-1", "stream_uid": "s-1"}
    trace_task(_note_log_ids, "task-1", (), {}, request={"log_ids": ids}, app=celery_app)
    assert _seen == [ids]
    assert logcontext.current() == {}


def test_a_task_run_eagerly_keeps_its_callers_ids():
    _seen.clear()
    token = logcontext.start({"request_id": "r-1"})
    try:
        _note_log_ids.apply()
        after = logcontext.current()
    finally:
        logcontext.end(token)
    assert _seen == [{"request_id": "r-1"}]
    assert after == {"request_id": "r-1"}


@pytest.fixture
def published_ids(publish):
    """The log ids each publish of ``send_messages`` ran under."""
    seen = []

    def note(*args, **kwargs):
        seen.append(logcontext.current())
        publish.called_event.set()

    publish.side_effect = note
    return seen


def _hand_over(coalescer: Coalescer, ids: list, log_ids: dict) -> None:
    """``ids`` handed to the coalescer by a request with these log ids."""
    token = logcontext.start(log_ids)
    try:
        coalescer.add(tasks.send_messages, ids, 100, None)
    finally:
        logcontext.end(token)


def _wait_for(publish, count: int) -> None:
    deadline = time.monotonic() + 5
    while publish.call_count < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_coalescer_publishes_a_requests_ids_with_its_log_ids(publish, published_ids, settings):
    settings.TASK_COALESCE_SECONDS = 30
    _hand_over(Coalescer(), [1, 2], {"request_id": "r-1", "stream_uid": "s-1"})
    assert publish.called_event.wait(5)
    assert published_ids == [{"request_id": "r-1", "stream_uid": "s-1"}]


def test_the_coalescer_publishes_the_ids_of_several_requests_with_no_log_ids(
    publish, published_ids, settings
):
    settings.TASK_COALESCE_SECONDS = 0.3
    coalescer = Coalescer()
    _hand_over(coalescer, [1], {"request_id": "r-1"})
    _wait_for(publish, 1)
    _hand_over(coalescer, [2], {"request_id": "r-2"})
    _hand_over(coalescer, [3], {"request_id": "r-3"})
    _wait_for(publish, 2)
    assert publish.ids() == [[1], [2, 3]]
    assert published_ids == [{"request_id": "r-1"}, {}]


def test_the_coalescer_gives_each_batch_the_log_ids_of_where_its_ids_came_from(
    publish, published_ids, settings
):
    settings.TASK_COALESCE_SECONDS = 0.3
    coalescer = Coalescer()
    coalescer.add(tasks.send_messages, [0], 2, None)
    _wait_for(publish, 1)
    token = logcontext.start({"request_id": "r-1"})
    coalescer.add(tasks.send_messages, [1, 2, 3], 2, None)
    logcontext.end(token)
    token = logcontext.start({"request_id": "r-2"})
    coalescer.add(tasks.send_messages, [4], 2, None)
    logcontext.end(token)
    _wait_for(publish, 3)
    assert publish.ids() == [[0], [1, 2], [3, 4]]
    assert published_ids[1:] == [{"request_id": "r-1"}, {}]
