"""Delivering events to a customer's webhook, against a real local HTTP server: the request as
the preview shows it, signatures, claims, retries on the schedule, the log, the endpoint's
failure record and the sweeper."""

import hashlib
import hmac
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import StreamFactory
from textpeak.lib.outbox import claim
from webhooks import deliveries, services, tasks
from webhooks.builder import build_request
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

HEADERS = [("Authorization", "Bearer s3cret-token"), ("X-Tenant", "acme")]


def _event(number=1, **fields):
    return {
        "event": "message.received",
        "stream_id": "stream-uid",
        "message_uuid": f"00000000-0000-4000-8000-{number:012d}",
        "received_at": "2025-01-15T09:30:00Z",
        "source_number": "4915112345678",
        "destination_number": "15550001111",
        "contact_name": "Anna Schmidt",
        "type": "text",
        "text": f"Hello {number}",
        "reply_to": None,
        **fields,
    }


@pytest.fixture
def endpoint(stream, receiver):
    return services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/hook"), headers=HEADERS
    )


def _queue(stream, *events) -> list[Delivery]:
    return services.webhook_events_enqueue(stream=stream, kind="message", events=list(events))


def _send(*items) -> None:
    deliveries.deliveries_send(delivery_ids=[item.pk for item in items])


def _reload(item):
    item.refresh_from_db()
    return item


def _make_due(*items) -> None:
    Delivery.objects.filter(pk__in=[i.pk for i in items]).update(next_attempt_at=timezone.now())


def _verify(secret: str, header: str, payload: bytes) -> bool:
    """The documented scheme, computed without the code under test: any v1 may match."""
    fields = [part.split("=", 1) for part in header.split(",")]
    timestamp = next(value for name, value in fields if name == "t")
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, value in fields if name == "v1")


# The request


def test_it_posts_the_event_as_the_builder_and_preview_build_it(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event(text="Grüße 👋"))

    _send(delivery)

    [received] = receiver.requests
    signature = received.headers["X-TextPeak-Signature"]
    timestamp = int(signature.split(",")[0].removeprefix("t="))
    expected = build_request(
        method="POST",
        url=endpoint.url,
        headers=HEADERS,
        signing_secret=endpoint.signing_secret(),
        # As stored: PostgreSQL's jsonb keeps its own key order, not the event's.
        event=_reload(delivery).payload,
        delivery_id=str(delivery.uid),
        timestamp=timestamp,
    )
    assert (received.method, received.path) == ("POST", "/hook")
    assert received.body == expected.body
    assert [(name, received.headers[name]) for name, _ in expected.headers] == expected.headers
    assert abs(timestamp - time.time()) < 60


def test_it_sends_the_users_headers_and_the_delivery_id(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())

    _send(delivery)

    [received] = receiver.requests
    assert received.headers["Authorization"] == "Bearer s3cret-token"
    assert received.headers["X-Tenant"] == "acme"
    assert received.headers["X-TextPeak-Delivery"] == str(delivery.uid)
    assert received.headers["Content-Type"] == "application/json"


def test_it_signs_the_body_with_the_endpoints_secret(stream, endpoint, receiver):
    _send(*_queue(stream, _event()))

    [received] = receiver.requests
    assert _verify(
        endpoint.signing_secret(), received.headers["X-TextPeak-Signature"], received.body
    )
    assert not _verify("whsec_other", received.headers["X-TextPeak-Signature"], received.body)


def test_it_sends_a_get_with_the_events_fields_as_the_query_and_signs_the_query(stream, receiver):
    endpoint = services.webhook_save(
        stream=stream, method="GET", url=receiver.url("/hook?src=tp"), headers=HEADERS
    )
    [delivery] = _queue(stream, _event(media={"url": "https://cdn.example/a.jpg"}))

    _send(delivery)

    [received] = receiver.requests
    expected = build_request(
        method="GET",
        url=endpoint.url,
        headers=HEADERS,
        signing_secret="unused",
        event=_reload(delivery).payload,
        delivery_id=str(delivery.uid),
        timestamp=0,
    )
    assert received.method == "GET"
    assert received.query == urlsplit(expected.url).query
    fields = dict(parse_qsl(received.query))
    assert received.query.startswith("src=tp&")
    assert fields["event"] == "message.received"
    assert fields["media.url"] == "https://cdn.example/a.jpg"
    assert "reply_to" not in fields
    assert _verify(
        endpoint.signing_secret(),
        received.headers["X-TextPeak-Signature"],
        received.query.encode(),
    )


def test_it_signs_with_a_rotated_secret_from_then_on(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())
    services.webhook_rotate_secret(endpoint=endpoint)

    _send(delivery)

    [received] = receiver.requests
    header = received.headers["X-TextPeak-Signature"]
    assert _verify(_reload(endpoint).signing_secret(), header, received.body)


# Success and the log


def test_it_marks_a_delivery_answered_with_a_2xx_delivered(stream, endpoint, receiver):
    receiver.answer(204, body=b"")
    [delivery] = _queue(stream, _event())

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 204
    assert delivery.last_attempt_at is not None
    assert (delivery.claim_id, delivery.claimed_until) == (None, None)


def test_it_logs_the_attempt_with_the_request_and_the_response(stream, endpoint, receiver):
    receiver.answer(200, body=b'{"received": true}')
    [delivery] = _queue(stream, _event())

    _send(delivery)

    [attempt] = delivery.attempts_log.all()
    assert attempt.status_code == 200
    assert attempt.response_excerpt == '{"received": true}'
    assert attempt.error == ""
    assert attempt.duration_ms >= 0
    assert attempt.request.startswith("POST /hook HTTP/1.1\nHost: 127.0.0.1:")
    assert f"X-TextPeak-Delivery: {delivery.uid}" in attempt.request
    assert '"text": "Hello 1"' in attempt.request


def test_it_masks_the_users_header_values_and_the_signature_in_the_log(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())

    _send(delivery)

    [attempt] = delivery.attempts_log.all()
    [received] = receiver.requests
    digest = received.headers["X-TextPeak-Signature"].split("v1=")[1]
    assert "s3cret-token" not in attempt.request
    assert digest not in attempt.request
    assert "Authorization: ********" in attempt.request
    assert "X-Tenant: ********" in attempt.request
    assert "X-TextPeak-Signature: t=" in attempt.request
    assert "v1=********" in attempt.request


def test_it_records_a_success_on_the_endpoint(stream, endpoint, receiver):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=5)
    )

    _send(*_queue(stream, _event()))

    endpoint = _reload(endpoint)
    assert endpoint.last_success_at is not None
    assert endpoint.failing_since is None


def test_it_sends_a_batch_concurrently(stream, endpoint, receiver):
    receiver.answer_always(200, delay=0.5)
    batch = _queue(stream, *[_event(n) for n in range(20)])

    _send(*batch)

    # One at a time, 20 slow answers would take 10 s; together they overlap.
    assert receiver.most_at_once >= 10
    assert {r.headers["X-TextPeak-Delivery"] for r in receiver.requests} == {
        str(d.uid) for d in batch
    }
    assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 20


def test_it_records_a_batch_in_as_many_statements_as_one_delivery(stream, endpoint, receiver):
    def queries(first, count):
        batch = _queue(stream, *[_event(first + n) for n in range(count)])
        with CaptureQueriesContext(connection) as captured:
            _send(*batch)
        assert {_reload(d).status for d in batch} == {Delivery.Status.SUCCEEDED}
        return len(captured)

    assert queries(0, 1) == queries(1, 20)


# Claims


def test_it_sends_a_delivery_once_when_sending_runs_twice(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())

    _send(delivery)
    _send(delivery)

    assert len(receiver.requests) == 1


def _claim_elsewhere(delivery) -> None:
    """Another worker claims the delivery."""
    claim(Delivery.objects.filter(pk=delivery.pk), seconds=60)


def test_it_sends_nothing_while_another_worker_holds_the_claim(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())
    _claim_elsewhere(delivery)

    _send(delivery)

    assert receiver.requests == []
    assert _reload(delivery).status == Delivery.Status.PENDING


def test_it_takes_over_a_delivery_whose_claim_expired(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())
    _claim_elsewhere(delivery)
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )

    _send(delivery)

    assert len(receiver.requests) == 1
    assert _reload(delivery).status == Delivery.Status.SUCCEEDED


def test_a_task_also_sends_what_else_is_due_for_its_webhook(stream, endpoint, receiver):
    """Events that arrive one at a time: the first task to run delivers the others' too."""
    first, second = _queue(stream, _event(1)), _queue(stream, _event(2))

    _send(*first)

    assert len(receiver.requests) == 2
    assert {_reload(d).status for d in first + second} == {Delivery.Status.SUCCEEDED}


def test_a_task_leaves_the_deliveries_of_other_webhooks_to_their_own_tasks(
    stream, endpoint, receiver, account
):
    other = StreamFactory(account=account, name="Other", setup_progress=4)
    services.webhook_save(stream=other, method="POST", url=receiver.url("/other"), headers=[])
    [mine], [theirs] = _queue(stream, _event(1)), _queue(other, _event(2))

    _send(mine)

    assert [request.path for request in receiver.requests] == ["/hook"]
    assert _reload(theirs).status == Delivery.Status.PENDING


def test_it_does_not_send_a_delivery_before_it_is_due(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )

    _send(delivery)

    assert receiver.requests == []


# Retries


def test_it_retries_after_a_500_and_delivers_once_the_server_recovers(stream, endpoint, receiver):
    receiver.answer(500, body=b"oops")
    [delivery] = _queue(stream, _event())
    started = timezone.now()

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert 8 <= (delivery.next_attempt_at - started).total_seconds() <= 12.5
    [attempt] = delivery.attempts_log.all()
    assert (attempt.status_code, attempt.response_excerpt) == (500, "oops")
    assert attempt.error == "The webhook answered HTTP 500."
    assert _reload(endpoint).failing_since is not None

    _make_due(delivery)
    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts == 2
    assert [a.status_code for a in delivery.attempts_log.all()] == [500, 200]
    first, second = receiver.requests
    assert first.headers["X-TextPeak-Delivery"] == second.headers["X-TextPeak-Delivery"]
    assert _reload(endpoint).failing_since is None


def test_it_retries_after_a_timeout(stream, endpoint, receiver, settings):
    settings.DELIVERY_TIMEOUT_SECONDS = 0.3
    receiver.answer(200, delay=1.5)
    [delivery] = _queue(stream, _event())

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    [attempt] = delivery.attempts_log.all()
    assert attempt.status_code is None
    assert attempt.error == "Timed out waiting for 127.0.0.1 after 0.3 s."
    assert attempt.duration_ms < 1000

    _make_due(delivery)
    _send(delivery)

    assert _reload(delivery).status == Delivery.Status.SUCCEEDED


def test_it_retries_after_a_connection_error(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())
    receiver.down()

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts_log.get().error.startswith("Could not connect to 127.0.0.1")

    receiver.up()
    _make_due(delivery)
    _send(delivery)

    assert _reload(delivery).status == Delivery.Status.SUCCEEDED


def test_it_does_not_follow_a_redirect_and_counts_it_failed(stream, endpoint, receiver):
    receiver.redirect(receiver.url("/elsewhere"))
    [delivery] = _queue(stream, _event())

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code == 302
    assert delivery.attempts_log.get().error.startswith("Redirects are not followed")
    assert receiver.paths() == ["/hook"]


def test_it_reads_at_most_64_kib_of_the_response(stream, endpoint, receiver):
    receiver.endless()
    [delivery] = _queue(stream, _event())

    _send(delivery)

    attempt = _reload(delivery).attempts_log.get()
    assert attempt.status_code == 200
    assert len(attempt.response_excerpt) <= 4000


def test_it_fails_a_delivery_after_the_last_retry_of_the_schedule(
    stream, endpoint, receiver, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = (0, 0)
    receiver.answer_always(500)
    [delivery] = _queue(stream, _event())

    for _ in range(4):
        _make_due(delivery)
        _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 3
    assert delivery.attempts_log.count() == 3
    assert len(receiver.requests) == 3


def test_its_schedule_grows_from_seconds_to_hours_over_about_a_day(settings):
    schedule = settings.DELIVERY_RETRY_SCHEDULE
    assert schedule[0] == 10
    assert max(schedule) == 8 * 3600
    assert list(schedule) == sorted(schedule)
    assert 23 * 3600 < sum(schedule) < 25 * 3600
    assert deliveries.retry_delay(len(schedule) + 1) is None


def test_it_jitters_the_retry_delays(settings):
    settings.DELIVERY_RETRY_SCHEDULE = (100,)
    delays = {deliveries.retry_delay(1) for _ in range(50)}
    assert len(delays) > 1
    assert all(80 <= delay <= 120 for delay in delays)


def test_it_enqueues_a_near_retry_with_a_countdown(
    stream, endpoint, receiver, publish, django_capture_on_commit_callbacks
):
    receiver.answer(503)
    [delivery] = _queue(stream, _event())

    with django_capture_on_commit_callbacks(execute=True):
        _send(delivery)

    [call] = publish.call_args_list
    assert call.kwargs["args"] == ([delivery.pk],)
    assert 8 <= call.kwargs["countdown"] <= 12
    delivery = _reload(delivery)
    # Held for the broker's task, so the sweeper does not enqueue it again meanwhile.
    assert delivery.claim_id is None
    assert delivery.claimed_until > delivery.next_attempt_at


def test_it_leaves_a_far_retry_to_the_sweeper(
    stream, endpoint, receiver, publish, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RETRY_SCHEDULE = (3600,)
    receiver.answer(503)
    [delivery] = _queue(stream, _event())

    with django_capture_on_commit_callbacks(execute=True):
        _send(delivery)

    assert publish.call_args_list == []
    delivery = _reload(delivery)
    assert delivery.claimed_until is None
    assert 2880 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 4320


def test_it_refuses_a_webhook_resolving_to_a_private_address(stream, receiver, settings):
    endpoint = services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/hook", host="localhost"), headers=[]
    )
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    [delivery] = _queue(stream, _event())

    _send(delivery)

    assert receiver.requests == []
    attempt = _reload(delivery).attempts_log.get()
    assert "localhost resolves to" in attempt.error
    assert "only sent to public addresses" in attempt.error
    assert _reload(delivery).status == Delivery.Status.PENDING
    assert endpoint.deliveries.count() == 1


# The endpoint's failure record


def _failing_for(endpoint, duration):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - duration,
        last_success_at=timezone.now() - duration - timedelta(hours=1),
    )


def test_it_notes_when_an_endpoint_started_failing(stream, endpoint, receiver):
    receiver.answer_always(500)
    before = timezone.now()

    _send(*_queue(stream, _event()))
    first = _reload(endpoint).failing_since
    _send(*_queue(stream, _event(2)))

    assert first >= before
    assert _reload(endpoint).failing_since == first


def test_it_disables_an_endpoint_failing_without_a_success_for_three_days(
    stream, endpoint, receiver
):
    receiver.answer_always(500)
    _failing_for(endpoint, timedelta(days=3, minutes=1))
    [delivery] = _queue(stream, _event())

    _send(delivery)

    endpoint = _reload(endpoint)
    assert endpoint.enabled is False
    assert endpoint.disabled_at is not None


def test_it_keeps_an_endpoint_failing_for_less_than_three_days(stream, endpoint, receiver):
    receiver.answer_always(500)
    _failing_for(endpoint, timedelta(days=2, hours=23))

    _send(*_queue(stream, _event()))

    assert _reload(endpoint).enabled is True


def test_it_fails_pending_deliveries_of_a_disabled_endpoint_unsent(stream, endpoint, receiver):
    [delivery] = _queue(stream, _event())
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts_log.get().error == deliveries.DISABLED_ERROR
    assert receiver.requests == []


def test_a_failing_delivery_does_not_count_against_an_endpoint_that_also_succeeded(
    stream, endpoint, receiver
):
    receiver.answer(500)
    _failing_for(endpoint, timedelta(days=4))
    batch = _queue(stream, _event(1), _event(2))

    deliveries.deliveries_send(delivery_ids=[d.pk for d in batch])

    endpoint = _reload(endpoint)
    assert endpoint.enabled is True
    assert endpoint.failing_since is None


# The sweeper


def _pending(stream, *, due=True, claimed_until=None, claim_id=None, status="pending"):
    [delivery] = _queue(stream, _event())
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        next_attempt_at=now - timedelta(seconds=5) if due else now + timedelta(minutes=5),
        claimed_until=claimed_until,
        claim_id=claim_id,
    )
    return delivery


def test_the_sweeper_enqueues_due_deliveries_that_nobody_holds(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    now = timezone.now()
    long_retry = _pending(stream)
    expired_claim = _pending(
        stream, claim_id="5f0e0b8a-6f0e-4a5e-9a53-3f6e5b1a2c3d", claimed_until=now
    )
    lost_by_the_broker = _pending(stream, claimed_until=now - timedelta(seconds=1))
    _pending(stream, due=False)
    _pending(stream, claimed_until=now + timedelta(seconds=30))  # fresh: its task is on the way
    _pending(
        stream,
        claim_id="0c7a4b7e-2f1c-4bde-8f7a-8d2b4c6e1f3a",
        claimed_until=now + timedelta(minutes=2),
    )  # a worker is sending it
    _pending(stream, status="succeeded")
    _pending(stream, status="failed")

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries.deliveries_sweep() == 3

    [call] = publish.call_args_list
    assert sorted(call.kwargs["args"][0]) == sorted(
        [long_retry.pk, expired_claim.pk, lost_by_the_broker.pk]
    )


def test_the_sweeper_does_not_enqueue_a_delivery_twice_while_its_task_is_on_the_way(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    _pending(stream)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries.deliveries_sweep() == 1
        assert deliveries.deliveries_sweep() == 0


def test_the_sweeper_enqueues_in_tasks_of_a_hundred(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    batch = _queue(stream, *[_event(n) for n in range(250)])
    Delivery.objects.update(claimed_until=None)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries.deliveries_sweep() == 250

    sizes = [len(call.kwargs["args"][0]) for call in publish.call_args_list]
    assert sizes == [100, 100, 50]
    assert len(batch) == 250


def test_a_swept_delivery_is_sent_by_the_task(stream, endpoint, receiver, publish):
    delivery = _pending(stream)

    deliveries.deliveries_sweep()
    tasks.send_deliveries(delivery_ids=[delivery.pk])

    assert _reload(delivery).status == Delivery.Status.SUCCEEDED
    assert len(receiver.requests) == 1


def test_an_error_of_ours_is_retried_without_counting_against_the_endpoint(
    stream, endpoint, monkeypatch
):
    def broken(request, *, timeout):
        raise RuntimeError("a bug")

    monkeypatch.setattr(deliveries.transport, "send", broken)
    [delivery] = _queue(stream, _event())

    _send(delivery)

    delivery = _reload(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts_log.get().error.startswith("Internal error while sending")
    assert _reload(endpoint).failing_since is None
