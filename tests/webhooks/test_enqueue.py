"""Queuing events for a stream's webhook (what the inbound code calls), redelivery, the Test
webhook button and the signing secret's rotation; and one delivery on a real worker."""

import json
import time

import pytest
from django.db import transaction
from django.utils import timezone

from tests.factories import StreamFactory
from webhooks import deliveries, services, tasks
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

MESSAGE = {"event": "message.received", "message_uuid": "m-1", "type": "text", "text": "Hi"}
STATUS = {"event": "message.status", "message_uuid": "m-2", "status": "delivered"}


@pytest.fixture
def endpoint(stream, receiver):
    return services.webhook_save(
        stream=stream, method="POST", url=receiver.url("/hook"), headers=[("X-Key", "k-s3cret")]
    )


@pytest.fixture
def published_task():
    return tasks.send_deliveries


# webhook_events_enqueue


def test_it_queues_an_incoming_message_as_a_pending_delivery(stream, endpoint):
    [delivery] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])

    assert delivery.endpoint == endpoint
    assert delivery.event == "message.received"
    assert delivery.payload == MESSAGE
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 0
    assert delivery.next_attempt_at <= timezone.now()


def test_it_queues_nothing_for_a_stream_without_a_webhook(stream):
    assert services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) == []
    assert Delivery.objects.count() == 0


def test_it_queues_nothing_for_a_disabled_webhook(stream, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)

    assert services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) == []
    assert Delivery.objects.count() == 0


def test_it_queues_a_status_only_when_the_webhook_asks_for_statuses(
    stream, endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_enqueue(stream=stream, kind="status", events=[STATUS]) == []

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(send_statuses=True)
    [delivery] = services.webhook_events_enqueue(stream=stream, kind="status", events=[STATUS])

    assert delivery.event == "message.status"
    assert Delivery.objects.count() == 1


def test_it_inserts_a_calls_deliveries_with_one_insert_and_publishes_one_task_after_commit(
    stream, endpoint, publish, django_assert_num_queries, django_capture_on_commit_callbacks
):
    events = [{**MESSAGE, "n": n} for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_num_queries(2):  # the webhook's lookup, the deliveries' INSERT
            created = services.webhook_events_enqueue(stream=stream, kind="message", events=events)
        assert publish.call_args_list == []

    assert [d.payload for d in Delivery.objects.order_by("id")] == events
    assert publish.ids() == [[d.pk for d in created]]


def test_it_queues_nothing_for_no_events(stream, endpoint, publish, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.webhook_events_enqueue(stream=stream, kind="message", events=[]) == []


def test_it_keeps_an_enabled_webhook_a_few_seconds_between_transactions(
    stream, endpoint, settings, django_capture_on_commit_callbacks, django_assert_num_queries
):
    settings.API_CACHE_SECONDS = 5
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])
    with django_assert_num_queries(1):  # the delivery's INSERT
        services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])


def test_it_sees_a_webhook_added_since_the_last_event_at_once(
    stream, settings, receiver, django_capture_on_commit_callbacks
):
    settings.API_CACHE_SECONDS = 5
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) == []
        )
    services.webhook_save(stream=stream, method="POST", url=receiver.url("/hook"), headers=[])
    assert services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) != []


def test_it_sees_a_webhook_enabled_after_an_earlier_transaction_with_the_same_stream(
    stream, endpoint, django_capture_on_commit_callbacks
):
    # The callback keeps a stream object a few seconds: what it learnt of the webhook in one
    # transaction must not outlive it.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) == []
        )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True)
    assert services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) != []


def test_it_refuses_an_unknown_kind(stream, endpoint):
    with pytest.raises(ValueError, match="kind must be one of"):
        services.webhook_events_enqueue(stream=stream, kind="reaction", events=[MESSAGE])


def test_it_queues_nothing_for_another_streams_webhook(account, stream, endpoint):
    other = StreamFactory(account=account, name="Other")

    assert services.webhook_events_enqueue(stream=other, kind="message", events=[MESSAGE]) == []


def test_it_enqueues_sending_only_after_the_transaction_commits(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.webhook_events_enqueue(
            stream=stream, kind="message", events=[MESSAGE]
        )
        assert publish.call_args_list == []

    assert publish.ids() == [[delivery.pk]]


def test_it_enqueues_a_calls_deliveries_in_tasks_of_a_hundred(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    events = [{**MESSAGE, "n": n} for n in range(250)]
    with django_capture_on_commit_callbacks(execute=True):
        created = services.webhook_events_enqueue(stream=stream, kind="message", events=events)

    batches = publish.ids()
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert [pk for batch in batches for pk in batch] == [d.pk for d in created]


def test_it_enqueues_what_a_transaction_kept_after_a_savepoint_rolled_back(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [kept] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])
        try:
            with transaction.atomic():
                services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])
                raise RuntimeError("the inbound batch failed halfway")
        except RuntimeError:
            pass
        [after] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])

    assert Delivery.objects.count() == 2
    published = [pk for batch in publish.ids() for pk in batch]
    assert sorted(published) == sorted([kept.pk, after.pk])


def test_it_enqueues_again_in_the_next_transaction(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [first] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])
    with django_capture_on_commit_callbacks(execute=True):
        [second] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])

    assert publish.ids() == [[first.pk], [second.pk]]


# Redeliver


def test_it_redelivers_as_a_new_delivery_keeping_the_original_in_the_log(
    stream, endpoint, receiver, publish, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = ()
    receiver.answer(500)
    [original] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])
    deliveries.deliveries_send(delivery_ids=[original.pk])
    original.refresh_from_db()
    assert original.status == Delivery.Status.FAILED

    redelivery = services.delivery_redeliver(delivery=original)
    deliveries.deliveries_send(delivery_ids=[redelivery.pk])

    original.refresh_from_db()
    redelivery.refresh_from_db()
    assert original.status == Delivery.Status.FAILED
    assert original.attempts_log.count() == 1
    assert redelivery.status == Delivery.Status.SUCCEEDED
    assert (redelivery.event, redelivery.payload) == (original.event, original.payload)
    assert redelivery.uid != original.uid
    first, second = receiver.requests
    assert first.body == second.body
    assert second.headers["X-TextPeak-Delivery"] == str(redelivery.uid)
    assert list(endpoint.deliveries.order_by("created_at", "id")) == [original, redelivery]


def test_it_redelivers_a_delivered_event_too(stream, endpoint, receiver, publish):
    [original] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])
    deliveries.deliveries_send(delivery_ids=[original.pk])

    redelivery = services.delivery_redeliver(delivery=original)
    deliveries.deliveries_send(delivery_ids=[redelivery.pk])

    assert len(receiver.requests) == 2


def test_it_enqueues_a_redelivery_after_commit(
    stream, endpoint, publish, django_capture_on_commit_callbacks
):
    [original] = services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE])

    with django_capture_on_commit_callbacks(execute=True):
        redelivery = services.delivery_redeliver(delivery=original)

    assert publish.ids() == [[redelivery.pk]]


# Test webhook


def test_the_test_webhook_sends_the_preview_sample_now_and_returns_the_attempt(
    stream, endpoint, receiver
):
    attempt = services.webhook_test(endpoint=endpoint)

    assert attempt.pk is not None
    assert attempt.status_code == 200
    assert attempt.response_excerpt == "ok"
    assert "X-Key: ********" in attempt.request
    [received] = receiver.requests
    preview = services.webhook_preview(stream=stream)
    assert json.loads(received.body) == json.loads(preview.body)
    assert received.body == preview.body
    assert received.headers["X-Key"] == "k-s3cret"
    assert received.headers["X-TextPeak-Delivery"] == str(attempt.delivery.uid)
    delivery = attempt.delivery
    assert delivery.event == services.TEST_EVENT
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts == 1


def test_the_test_webhook_shows_a_failure_and_does_not_retry_it(stream, endpoint, receiver):
    receiver.answer(500, body=b"boom")

    attempt = services.webhook_test(endpoint=endpoint)

    assert (attempt.status_code, attempt.response_excerpt) == (500, "boom")
    assert attempt.error == "The webhook answered HTTP 500."
    assert attempt.delivery.status == Delivery.Status.FAILED
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_the_test_webhook_reports_an_unreachable_server(stream, endpoint, receiver):
    receiver.down()

    attempt = services.webhook_test(endpoint=endpoint)

    assert attempt.status_code is None
    assert attempt.error.startswith("Could not connect to 127.0.0.1")


def test_the_test_webhook_tries_a_disabled_webhook(stream, endpoint, receiver):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    endpoint.refresh_from_db()

    attempt = services.webhook_test(endpoint=endpoint)

    assert attempt.status_code == 200


# Rotating the secret, enabling again


def test_it_rotates_the_signing_secret(stream, endpoint):
    before = endpoint.signing_secret()

    services.webhook_rotate_secret(endpoint=endpoint)

    endpoint.refresh_from_db()
    assert endpoint.signing_secret() != before
    assert endpoint.signing_secret().startswith("whsec_")


def test_it_enables_a_disabled_webhook_with_a_clean_record(stream, endpoint):
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_at=now, failing_since=now
    )
    endpoint.refresh_from_db()

    services.webhook_enable(endpoint=endpoint)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_at, endpoint.failing_since) == (True, None, None)
    assert services.webhook_events_enqueue(stream=stream, kind="message", events=[MESSAGE]) != []


# On a real worker and Redis


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_an_event_queued_in_a_transaction(stream, endpoint, receiver, worker):
    with transaction.atomic():
        [delivery] = services.webhook_events_enqueue(
            stream=stream, kind="message", events=[MESSAGE]
        )

    [received] = receiver.wait_for(1)
    assert received.headers["X-TextPeak-Delivery"] == str(delivery.uid)
    for _ in range(50):
        delivery.refresh_from_db()
        if delivery.status == Delivery.Status.SUCCEEDED:
            break
        time.sleep(0.1)
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_saving_the_webhook_sets_send_statuses_only_when_given(stream, endpoint, receiver):
    url = receiver.url("/hook")
    services.webhook_save(stream=stream, method="POST", url=url, headers=[], send_statuses=True)
    services.webhook_save(stream=stream, method="POST", url=url, headers=[])
    endpoint.refresh_from_db()
    assert endpoint.send_statuses is True

    services.webhook_save(stream=stream, method="POST", url=url, headers=[], send_statuses=False)
    endpoint.refresh_from_db()
    assert endpoint.send_statuses is False
