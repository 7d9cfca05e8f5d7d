"""Meta's callback URL, ``/webhooks/whatsapp/<callback key>/``: verification (GET), and webhooks
(POST) checked against the app secret, parsed and stored in one transaction, then 200.

Also the two other ways into the same code: the demo transport's simulated statuses and replies,
and the hourly refresh of senders and templates (Meta sends no template events to per-account
callback overrides).
"""

import hashlib
import hmac
import json
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from tests.factories import SentMessageFactory, StreamFactory, contact_wrote
from tests.whatsapp.fixtures import (
    CONTACT,
    OUR_NUMBER,
    OUT_WAMID,
    OUT_WAMID_2,
    PHONE_NUMBER_ID,
    WABA_ID,
    fixture,
)
from webhooks import services as webhook_services
from webhooks.models import Delivery
from whatsapp import services, tasks
from whatsapp.graph.demo import DEMO_BUSINESS_ID
from whatsapp.graph.errors import AuthError, TemporaryError
from whatsapp.inbound.callback import CALLBACK_MAX_BODY_BYTES
from whatsapp.inbound.parse import parse
from whatsapp.inbound.payloads import payloads_store, payloads_sweep
from whatsapp.inbound.store import store
from whatsapp.models import (
    InboundPayload,
    Message,
    PendingStatus,
    Sender,
    Template,
    WhatsAppAccount,
)
from whatsapp.outbox.accept import messages_accept
from whatsapp.outbox.send import messages_send

pytestmark = pytest.mark.django_db

APP_SECRET = "0f4c2e9b7d1a4c8e9b7f2a4d6e8c0b1f"
DEMO_SENDER = "15550100100"  # whatsapp.graph.demo.DEMO_SENDERS

MESSAGE_FIXTURES = [
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive_button_reply",
    "interactive_list_reply",
    "interactive_nfm_reply",
    "button",
    "reaction",
    "reaction_removal",
    "order",
    "system",
    "unsupported",
    "unknown_type",
    "hidden_number",
    "millisecond_timestamp",
]


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def stream(account):
    """A Ready stream whose WhatsApp settings have an app secret."""
    stream = StreamFactory(account=account, name="Orders", setup_progress=4)
    services.whatsapp_settings_save(stream=stream, business_id=WABA_ID, app_secret=APP_SECRET)
    _verified(stream)
    return stream


def _verified(stream):
    """WhatsApp confirmed the stream's Business ID (the callback speaks for no other)."""
    WhatsAppAccount.objects.filter(stream=stream).update(verified_at=timezone.now())


def _url(stream) -> str:
    return services.callback_path(WhatsAppAccount.objects.get(stream=stream))


def post_only(client, stream, raw: bytes, *, signature: str | None = None, **headers):
    """POST as Meta does: the raw body, signed with the stream's app secret unless told."""
    if signature is None:
        signature = sign(raw)
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return client.post(_url(stream), data=raw, content_type="application/json", headers=headers)


def post(client, stream, raw: bytes, **options):
    """POST as Meta does, then store what the callback kept, as the worker does."""
    response = post_only(client, stream, raw, **options)
    payloads_store(payload_ids=list(InboundPayload.objects.values_list("pk", flat=True)))
    return response


# -- verification


def _verify(client, stream, token):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": token}
    return client.get(_url(stream), query)


def test_it_answers_metas_verification_with_the_challenge(client, stream):
    response = _verify(client, stream, WhatsAppAccount.objects.get(stream=stream).verify_token)
    assert (response.status_code, response.content) == (200, b"1158201444")


def test_it_refuses_a_wrong_verify_token(client, stream):
    response = _verify(client, stream, "not-the-token")
    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_it_finds_a_stream_it_has_just_seen_without_asking_the_database(
    client, settings, stream, django_assert_num_queries
):
    settings.API_CACHE_SECONDS = 5
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "not-the-token"}
    url = _url(stream)
    assert client.get(url, query).status_code == 403
    with django_assert_num_queries(0):
        assert client.get(url, query).status_code == 403


# -- kept at once, stored by a worker


@pytest.fixture
def published_task():
    """The callback hands payloads to ``store_payloads``."""
    return tasks.store_payloads


def _kept_ids() -> list[int]:
    return list(InboundPayload.objects.order_by("pk").values_list("pk", flat=True))


def test_it_keeps_the_body_as_it_came_and_hands_it_to_a_worker(
    client, stream, publish, django_capture_on_commit_callbacks
):
    raw = fixture("text")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_only(client, stream, raw)
    assert response.status_code == 200
    [payload] = InboundPayload.objects.all()
    assert bytes(payload.body) == raw
    assert not Message.objects.exists()
    [call] = publish.call_args_list
    assert call.kwargs["args"] == ([payload.pk],)


def test_a_kept_body_is_stored_once_however_often_its_task_runs(client, stream, enqueued):
    post_only(client, stream, fixture("text"))
    ids = _kept_ids()
    payloads_store(payload_ids=ids)
    payloads_store(payload_ids=ids)
    assert Message.objects.filter(direction="inbound").count() == 1
    assert len(enqueued) == 1
    assert not InboundPayload.objects.exists()


def test_a_body_that_fails_to_store_is_kept_for_another_attempt_and_the_rest_are_stored(
    client, stream, enqueued, monkeypatch
):
    post_only(client, stream, fixture("text"))
    post_only(client, stream, fixture("image"))
    first, second = _kept_ids()
    real_store = store

    def store_failing_once(**kwargs):
        monkeypatch.setattr("whatsapp.inbound.payloads.store", real_store)
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("whatsapp.inbound.payloads.store", store_failing_once)
    payloads_store(payload_ids=[first, second])

    kept = InboundPayload.objects.get()
    assert (kept.pk, kept.attempts) == (first, 1)
    assert "database hiccup" in kept.last_error
    assert Message.objects.get(direction="inbound").type == "image"


def test_it_gives_up_on_a_body_after_its_last_attempt_and_keeps_it_for_support(
    client, stream, enqueued
):
    post_only(client, stream, fixture("text"))
    InboundPayload.objects.update(attempts=InboundPayload.MAX_ATTEMPTS)
    payloads_store(payload_ids=_kept_ids())
    assert not Message.objects.exists()
    assert InboundPayload.objects.count() == 1


def test_the_sweeper_enqueues_the_bodies_waiting_too_long(
    client, stream, settings, publish, django_capture_on_commit_callbacks
):
    settings.INBOUND_SWEEP_AFTER_SECONDS = 60
    post_only(client, stream, fixture("text"))
    post_only(client, stream, fixture("image"))
    post_only(client, stream, fixture("video"))
    waiting, _fresh, given_up = _kept_ids()
    InboundPayload.objects.filter(pk__in=[waiting, given_up]).update(
        received_at=timezone.now() - timedelta(seconds=61)
    )
    InboundPayload.objects.filter(pk=given_up).update(attempts=InboundPayload.MAX_ATTEMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        assert payloads_sweep() == 1
    assert [call.kwargs["args"] for call in publish.call_args_list] == [([waiting],)]


def test_support_sees_a_body_that_failed_with_its_error_in_admin(client, stream, support_client):
    post_only(client, stream, fixture("text"))
    InboundPayload.objects.update(attempts=InboundPayload.MAX_ATTEMPTS, last_error="boom")
    payload = InboundPayload.objects.get()
    page = support_client.get(
        reverse("admin:whatsapp_inboundpayload_change", args=[payload.pk])
    ).content.decode()
    assert "boom" in page
    assert "whatsapp_business_account" in page


def test_a_body_failing_its_last_attempt_is_logged_as_an_error_for_support(
    client, stream, enqueued, monkeypatch, caplog
):
    post_only(client, stream, fixture("text"))
    InboundPayload.objects.update(attempts=InboundPayload.MAX_ATTEMPTS - 1)

    def store_failing(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("whatsapp.inbound.payloads.store", store_failing)
    payloads_store(payload_ids=_kept_ids())
    [gave_up] = [record for record in caplog.records if "kept for support" in record.message]
    assert gave_up.levelname == "ERROR"


PAYLOADS = reverse("admin:whatsapp_inboundpayload_changelist")


def test_support_lists_only_the_bodies_that_failed_every_attempt(client, stream, support_client):
    post_only(client, stream, fixture("text"))
    post_only(client, stream, fixture("image"))
    waiting, given_up = _kept_ids()
    InboundPayload.objects.filter(pk=given_up).update(attempts=InboundPayload.MAX_ATTEMPTS)
    page = support_client.get(PAYLOADS, {"state": "failed"}).content.decode()
    assert reverse("admin:whatsapp_inboundpayload_change", args=[given_up]) in page
    assert reverse("admin:whatsapp_inboundpayload_change", args=[waiting]) not in page


def test_support_stores_again_a_body_that_failed_every_attempt(
    client, stream, enqueued, support_client, publish, django_capture_on_commit_callbacks
):
    post_only(client, stream, fixture("text"))
    InboundPayload.objects.update(attempts=InboundPayload.MAX_ATTEMPTS, last_error="boom")
    ids = _kept_ids()
    with django_capture_on_commit_callbacks(execute=True):
        response = support_client.post(
            PAYLOADS, {"action": "store_again", ACTION_CHECKBOX_NAME: ids}, follow=True
        )
    assert "1 payload handed to a worker to be stored again" in response.content.decode()
    [call] = publish.call_args_list
    payloads_store(payload_ids=call.kwargs["args"][0])
    assert Message.objects.get(direction="inbound").type == "text"
    assert not InboundPayload.objects.exists()


# -- receiving


@pytest.mark.parametrize("name", MESSAGE_FIXTURES)
def test_it_stores_each_message_type_and_hands_it_on_once(client, stream, enqueued, name):
    response = post(client, stream, fixture(name))
    assert response.status_code == 200
    assert response.content == b"OK"
    assert response["Content-Type"].startswith("text/plain")
    message = Message.objects.get(stream=stream)
    [parsed] = parse(fixture(name))
    assert (message.type, message.payload, message.wamid) == (
        parsed.type,
        parsed.content,
        parsed.wamid,
    )
    [call] = enqueued
    assert call["kind"] == "message"
    assert call["event"]["message_uuid"] == str(message.uuid)


def test_it_stores_a_retried_delivery_once(client, stream, enqueued):
    for _ in range(2):
        assert post(client, stream, fixture("text")).status_code == 200
    assert Message.objects.count() == 1
    assert len(enqueued) == 1


def test_it_stores_every_entry_change_message_and_status_of_a_batch(client, stream, enqueued):
    first = SentMessageFactory(stream=stream)
    second = SentMessageFactory(stream=stream, wamid=OUT_WAMID_2)
    assert post(client, stream, fixture("batch")).status_code == 200
    assert Message.objects.filter(direction="inbound").count() == 5
    assert Message.objects.get(pk=first.pk).status == Message.Status.READ
    assert Message.objects.get(pk=second.pk).status == Message.Status.READ
    kinds = [call["kind"] for call in enqueued]
    assert (kinds.count("message"), kinds.count("status")) == (5, 3)


def test_it_accepts_other_fields_and_ignores_them(client, stream, enqueued):
    assert post(client, stream, fixture("account_update")).status_code == 200
    assert not Message.objects.exists()
    assert enqueued == []


# -- signatures


def test_it_refuses_a_bad_signature_and_stores_nothing(client, stream, enqueued):
    response = post(client, stream, fixture("text"), signature=sign(fixture("text"), "wrong"))
    assert response.status_code == 403
    assert not Message.objects.exists()
    assert enqueued == []


def test_it_refuses_a_missing_signature_when_the_stream_has_an_app_secret(client, stream, enqueued):
    assert post(client, stream, fixture("text"), signature="").status_code == 403
    assert not Message.objects.exists()


def test_it_refuses_a_signature_of_other_bytes(client, stream, enqueued):
    # Re-serialised JSON is not what Meta signed: the signature covers the raw body.
    raw = fixture("reaction")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    response = post(client, stream, raw, signature=sign(reserialised))
    assert response.status_code == 403


def test_it_refuses_a_bad_signature_before_looking_at_the_body(client, stream, enqueued):
    assert post(client, stream, b"not json", signature="sha256=00").status_code == 403


@pytest.mark.parametrize(
    "signature", ["", sign(fixture("text"), "a-guess")], ids=["unsigned", "signed"]
)
def test_it_refuses_an_unsigned_post_to_a_stream_without_app_secret(
    client, account, enqueued, signature
):
    """A stream created before the app secret was required: nothing can check what is posted
    to it, so nothing is taken until the secret is saved."""
    stream = StreamFactory(account=account)
    services.whatsapp_settings_save(stream=stream, business_id=WABA_ID)
    _verified(stream)
    response = post(client, stream, fixture("text"), signature=signature)
    assert response.status_code == 403
    assert "app secret" in response.text
    assert not InboundPayload.objects.exists()
    assert not Message.objects.exists()


def test_it_refuses_webhooks_for_a_stream_whose_settings_whatsapp_has_not_confirmed(
    client, account, enqueued
):
    stream = StreamFactory(account=account)
    services.whatsapp_settings_save(stream=stream, business_id=WABA_ID, app_secret=APP_SECRET)
    assert post(client, stream, fixture("text")).status_code == 403
    assert not Message.objects.exists()


def test_another_accounts_callback_cannot_change_this_accounts_templates(
    client, stream, enqueued, outsider
):
    whatsapp = WhatsAppAccount.objects.get(stream=stream)
    Template.objects.create(
        whatsapp_account=whatsapp,
        template_id="594425479261596",
        name="order_update",
        language="en_US",
        status="APPROVED",
    )
    intruder = StreamFactory(account=outsider.member.account)
    services.whatsapp_settings_save(stream=intruder, business_id="123", app_secret=APP_SECRET)
    _verified(intruder)
    assert post(client, intruder, fixture("template_status_update")).status_code == 200
    assert Template.objects.get(template_id="594425479261596").status == "APPROVED"


# -- malformed bodies


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'"a string"',
        b"{}",
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": {}}]}',
        b'{"object": "page", "entry": []}',
    ],
)
def test_it_answers_a_malformed_body_with_400_and_stores_nothing(client, stream, enqueued, raw):
    response = post(client, stream, raw)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.startswith(b"Malformed webhook")
    assert not Message.objects.exists()
    assert enqueued == []


def test_it_stores_nothing_of_a_batch_with_one_malformed_message(client, stream, enqueued):
    data = json.loads(fixture("batch"))
    del data["entry"][1]["changes"][0]["value"]["messages"][1]["id"]
    assert post(client, stream, json.dumps(data).encode()).status_code == 400
    assert not Message.objects.exists()


def test_it_refuses_other_methods(client, stream):
    assert client.put(_url(stream), data=fixture("text")).status_code == 405


# -- size


def _body_of_size(size: int) -> bytes:
    """A batch of text messages padded to exactly ``size`` bytes."""
    data = json.loads(fixture("text"))
    value = data["entry"][0]["changes"][0]["value"]
    template = value["messages"][0]
    value["messages"] = [
        {**template, "id": f"wamid.big{n}", "text": {"body": "x" * 2900}} for n in range(1000)
    ]
    raw = json.dumps(data).encode()
    value["messages"][0]["text"]["body"] += "x" * (size - len(raw))
    raw = json.dumps(data).encode()
    assert len(raw) == size
    return raw


def test_it_accepts_a_body_of_3_mb(client, stream, enqueued):
    raw = _body_of_size(CALLBACK_MAX_BODY_BYTES)
    assert post(client, stream, raw).status_code == 200
    assert Message.objects.count() == 1000
    assert len(enqueued) == 1000


def test_it_refuses_a_larger_body_with_413(client, stream, enqueued):
    raw = _body_of_size(CALLBACK_MAX_BODY_BYTES + 1)
    assert post(client, stream, raw).status_code == 413
    assert not Message.objects.exists()


# -- streams


def test_it_answers_404_for_an_unknown_stream(client, enqueued):
    response = client.post(
        "/webhooks/whatsapp/not-a-key-of-any-stream/",
        data=fixture("text"),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert "copy it again from the stream's WhatsApp tab" in response.text


def test_it_answers_404_for_a_deleted_stream(client, stream, enqueued):
    stream.deleted_at = timezone.now()
    stream.save()
    assert post(client, stream, fixture("text")).status_code == 404
    assert not Message.objects.exists()


def test_it_answers_404_on_the_old_public_id_url(client, stream, enqueued):
    """The stream's public id is in the console and in every delivery to the customer's
    webhook: the callback's address must not be made of it."""
    raw = fixture("text")
    response = client.post(
        f"/webhooks/whatsapp/{stream.uid}/",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(raw)},
    )
    assert response.status_code == 404
    assert "copy it again from the stream's WhatsApp tab" in response.text
    assert not InboundPayload.objects.exists()


def test_it_refuses_a_rotated_callback_key(client, stream, enqueued):
    old = _url(stream)
    services.whatsapp_account_rotate_callback_key(
        account=WhatsAppAccount.objects.get(stream=stream)
    )
    raw = fixture("text")
    headers = {"X-Hub-Signature-256": sign(raw)}
    response = client.post(old, data=raw, content_type="application/json", headers=headers)
    assert response.status_code == 404
    assert not InboundPayload.objects.exists()
    assert post_only(client, stream, raw).status_code == 200


def test_it_forgets_a_rotated_callback_key_within_the_cache_time(client, stream, settings):
    settings.API_CACHE_SECONDS = 0.2
    token = WhatsAppAccount.objects.get(stream=stream).verify_token
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": token}
    old = _url(stream)
    assert client.get(old, query).status_code == 200
    services.whatsapp_account_rotate_callback_key(
        account=WhatsAppAccount.objects.get(stream=stream)
    )
    time.sleep(0.25)
    assert client.get(old, query).status_code == 404
    assert client.get(_url(stream), query).status_code == 200


def test_it_stores_a_message_on_the_stream_whose_url_was_called(client, stream, enqueued, account):
    other = StreamFactory(account=account)
    services.whatsapp_settings_save(stream=other, business_id="555", app_secret=APP_SECRET)
    _verified(other)
    post(client, other, fixture("text"))
    assert Message.objects.get().stream == other


def test_it_needs_no_login_or_csrf_token(stream, enqueued):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert post(client, stream, fixture("text")).status_code == 200


# -- statuses


def test_it_never_moves_a_message_backwards(client, stream, enqueued):
    sent = SentMessageFactory(stream=stream)
    assert post(client, stream, fixture("status_read")).status_code == 200
    assert post(client, stream, fixture("status_delivered")).status_code == 200
    sent.refresh_from_db()
    assert sent.status == Message.Status.READ
    assert sent.delivered_at is None
    assert [call["event"]["status"] for call in enqueued] == ["read"]


def test_it_records_a_failure_with_metas_error(client, stream, enqueued):
    sent = SentMessageFactory(stream=stream)
    post(client, stream, fixture("status_failed"))
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (Message.Status.SENT_FAILED, "131049")
    event = sent.events.get()
    assert (event.status, event.error_code) == ("sent_failed", "131049")


def test_it_keeps_a_status_of_a_message_not_recorded_yet_until_it_is(
    client, stream, whatsapp_access, enqueued, monkeypatch
):
    """Meta can report ``delivered`` before the worker that sent the message has written its
    wamid; the status is kept and applied when the worker records the message."""
    whatsapp = WhatsAppAccount.objects.get(stream=stream)
    Sender.objects.create(
        whatsapp_account=whatsapp,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="+1 555-000-1111",
    )

    class Graph:  # the Cloud API, answering with the wamid Meta's status named
        def send_message(self, phone_number_id, payload):
            return OUT_WAMID

    monkeypatch.setattr("whatsapp.outbox.send.graph_for", lambda account: Graph())
    assert post(client, stream, fixture("status_delivered")).status_code == 200
    assert PendingStatus.objects.filter(wamid=OUT_WAMID, status="delivered").exists()

    contact_wrote(stream, CONTACT)
    _, [result] = messages_accept(
        stream=stream,
        items=[
            {
                "sender": OUR_NUMBER,
                "recipient_phone": CONTACT,
                "type": "text",
                "message_content": "Your order is on its way",
            }
        ],
    )
    message = Message.objects.get(uuid=result.message_uuid)
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.wamid, message.status) == (OUT_WAMID, Message.Status.DELIVERED)
    assert set(message.events.values_list("status", flat=True)) == {"sent", "delivered"}
    assert not PendingStatus.objects.exists()
    assert [(c["kind"], c["event"]["status"]) for c in enqueued] == [("status", "delivered")]


def test_it_forgets_kept_statuses_that_never_find_their_message(stream):
    kept = PendingStatus.objects.create(
        stream=stream, wamid="wamid.old", status="read", occurred_at=timezone.now()
    )
    PendingStatus.objects.filter(pk=kept.pk).update(received_at=timezone.now() - timedelta(days=2))
    fresh = PendingStatus.objects.create(
        stream=stream, wamid="wamid.new", status="read", occurred_at=timezone.now()
    )
    tasks.purge_pending_statuses()
    assert list(PendingStatus.objects.all()) == [fresh]


# -- templates


def test_it_updates_a_templates_status(client, stream, enqueued):
    template = Template.objects.create(
        whatsapp_account=WhatsAppAccount.objects.get(stream=stream),
        template_id="594425479261596",
        name="order_update",
        language="en_US",
        status="APPROVED",
    )
    assert post(client, stream, fixture("template_status_update")).status_code == 200
    template.refresh_from_db()
    assert template.status == "PAUSED"


# -- a real webhook


def test_it_queues_a_delivery_to_the_streams_webhook(client, stream):
    webhook_services.webhook_save(
        stream=stream, method="POST", url="https://hooks.example.com/in", headers=[]
    )
    assert post(client, stream, fixture("text")).status_code == 200
    message = Message.objects.get()
    delivery = Delivery.objects.get()
    assert delivery.event == "message.received"
    assert delivery.payload["message_uuid"] == str(message.uuid)
    assert delivery.payload["text"] == "Hi! Is my order on its way?"


# -- demo streams: nothing from outside


def test_it_refuses_any_post_to_a_demo_stream_callback(client, demo_stream, enqueued):
    """A demo stream's statuses and replies are made inside TextPeak: whatever is posted to
    its callback comes from someone else, signed or not."""
    services.whatsapp_settings_save(
        stream=demo_stream, business_id=DEMO_BUSINESS_ID, app_secret=APP_SECRET
    )
    for signature in (None, ""):
        response = post(client, demo_stream, fixture("text"), signature=signature)
        assert response.status_code == 403
    assert not InboundPayload.objects.exists()
    assert not Message.objects.exists()


def test_it_refuses_metas_verification_of_a_demo_stream(client, demo_stream):
    token = WhatsAppAccount.objects.get(stream=demo_stream).verify_token
    assert _verify(client, demo_stream, token).status_code == 403


# -- demo streams: the same path


@pytest.fixture
def parsed(monkeypatch):
    """Every body ``parse`` is given, while it still does its work."""
    bodies = []
    real = parse

    def spy(raw):
        bodies.append(json.loads(raw))
        return real(raw)

    monkeypatch.setattr("whatsapp.graph.demo.parse", spy)
    return bodies


def _send_demo(
    stream, text="Hi Anna, your parcel is on its way today, expect it by 6 pm.", **message
) -> Message:
    """A demo message sent: a text, or the type and fields of ``message`` when given."""
    message = message or {"type": "text", "message_content": text}
    _, [result] = messages_accept(
        stream=stream,
        items=[{"sender": DEMO_SENDER, "recipient_phone": CONTACT, **message}],
    )
    message = Message.objects.get(uuid=result.message_uuid)
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    return message


def _simulate(message) -> None:
    """The demo's steps, run as the worker would run the scheduled tasks."""
    tasks.simulate_demo_statuses(message.wamid)
    tasks.simulate_demo_statuses(message.wamid, 1)


def test_it_takes_the_demo_statuses_through_metas_path(
    demo_stream, demo_statuses, enqueued, parsed
):
    message = _send_demo(demo_stream)
    _simulate(message)
    message.refresh_from_db()
    assert message.status == Message.Status.READ
    assert list(message.events.values_list("status", flat=True)) == ["sent", "delivered", "read"]
    statuses = [body["entry"][0]["changes"][0]["value"]["statuses"][0] for body in parsed]
    assert [(s["id"], s["status"]) for s in statuses] == [
        (message.wamid, "delivered"),
        (message.wamid, "read"),
    ]
    assert [(c["kind"], c["event"]["status"]) for c in enqueued] == [
        ("status", "delivered"),
        ("status", "read"),
    ]
    assert not Message.objects.filter(direction="inbound").exists()


def test_it_simulates_a_reply_to_a_demo_interactive_message_quoting_its_body(
    demo_stream, demo_statuses, enqueued, parsed
):
    WhatsAppAccount.objects.filter(stream=demo_stream).update(demo_replies=True)
    interactive = {
        "type": "button",
        "body": {"text": "Deliver tomorrow?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
    }
    message = _send_demo(demo_stream, type="interactive", interactive=interactive)
    _simulate(message)
    reply = Message.objects.get(direction="inbound")
    assert reply.payload == {
        "body": "Thanks! This is a simulated reply to: Deliver tomorrow? [Yes]"
    }


def test_it_simulates_a_reply_to_a_demo_message_when_asked(
    demo_stream, demo_statuses, enqueued, parsed
):
    WhatsAppAccount.objects.filter(stream=demo_stream).update(demo_replies=True)
    message = _send_demo(demo_stream)
    _simulate(message)
    reply = Message.objects.get(direction="inbound")
    assert reply.reply_to == message
    assert (reply.contact_number, reply.sender_number) == (CONTACT, DEMO_SENDER)
    assert reply.payload == {
        "body": "Thanks! This is a simulated reply to: Hi Anna, your parcel is on its way today"
    }
    assert "messages" in parsed[-1]["entry"][0]["changes"][0]["value"]
    event = enqueued[-1]
    assert (event["kind"], event["event"]["reply_to"]) == ("message", str(message.uuid))
    assert event["event"]["source_number"] == CONTACT


def test_it_simulates_one_reply_however_often_the_last_step_runs(
    demo_stream, demo_statuses, enqueued
):
    WhatsAppAccount.objects.filter(stream=demo_stream).update(demo_replies=True)
    message = _send_demo(demo_stream)
    _simulate(message)
    tasks.simulate_demo_statuses(message.wamid, 1)
    assert Message.objects.filter(direction="inbound").count() == 1
    assert [c["kind"] for c in enqueued].count("message") == 1


def test_it_simulates_no_reply_unless_asked(demo_stream, demo_statuses, enqueued):
    _simulate(_send_demo(demo_stream))
    assert not Message.objects.filter(direction="inbound").exists()


# -- hourly refresh of senders and templates


def test_it_refreshes_every_working_streams_catalogue(account, fake_graph, monkeypatch):
    def connected(**fields) -> WhatsAppAccount:
        return services.whatsapp_settings_save(
            stream=StreamFactory(account=account, **fields),
            business_id=fake_graph.business.waba_id,
            access_token=fake_graph.business.token,
        )

    ready = connected()
    disabled = connected(status="disabled")
    connected(status="draft")
    connected(deleted_at=timezone.now())
    refreshed = []
    real = services.whatsapp_account_refresh

    def refresh(*, account):
        refreshed.append(account.stream_id)
        if account == ready:
            raise TemporaryError("Meta is down for this one")
        return real(account=account)

    monkeypatch.setattr(services, "whatsapp_account_refresh", refresh)
    tasks.refresh_catalogues()
    assert sorted(refreshed) == sorted([ready.stream_id, disabled.stream_id])
    disabled.refresh_from_db()
    assert disabled.refreshed_at is not None
    assert disabled.senders.exists()
    assert disabled.templates.exists()


def test_it_keeps_refreshing_after_an_unexpected_error(account, monkeypatch):
    streams = [StreamFactory(account=account) for _ in range(2)]
    for stream in streams:
        services.whatsapp_settings_save(stream=stream, business_id=WABA_ID)
    refreshed = []

    def refresh(*, account):
        refreshed.append(account.stream_id)
        raise RuntimeError("surprise")

    monkeypatch.setattr(services, "whatsapp_account_refresh", refresh)
    tasks.refresh_catalogues()
    assert len(refreshed) == 2


def test_it_does_not_refresh_an_account_whose_token_meta_refused(account, monkeypatch):
    stream = StreamFactory(account=account)
    services.whatsapp_settings_save(stream=stream, business_id=WABA_ID)
    WhatsAppAccount.objects.filter(stream=stream).update(token_rejected_at=timezone.now())
    refresh = mock.Mock(side_effect=AuthError("Invalid OAuth access token."))
    monkeypatch.setattr(services, "whatsapp_account_refresh", refresh)
    tasks.refresh_catalogues()
    refresh.assert_not_called()


def test_it_answers_a_number_too_large_for_a_float_with_400(client, stream, enqueued):
    body = json.loads(fixture("location"))
    location = body["entry"][0]["changes"][0]["value"]["messages"][0]["location"]
    location["latitude"] = 10**400
    raw = json.dumps(body).encode()
    assert post(client, stream, raw).status_code == 400
    assert not Message.objects.exists()


def test_it_stores_text_with_a_nul_character_without_it(client, stream, enqueued):
    raw = fixture("text").replace(b"Hi!", b"Hi\\u0000!")
    assert post(client, stream, raw).status_code == 200
    assert Message.objects.get().payload["body"] == "Hi! Is my order on its way?"


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("NaN", "NaN is not a number JSON allows"),
        ("Infinity", "Infinity is not a number JSON allows"),
        ("-Infinity", "-Infinity is not a number JSON allows"),
        ("1e400", "1e400 is too large a number"),
    ],
)
def test_it_answers_a_number_json_cannot_round_trip_with_400(
    client, stream, enqueued, number, says
):
    """Python reads these; kept, they would reach the customer's webhook as JSON no parser
    takes (``"billable": NaN``), or fail the worker's store on PostgreSQL after the 200."""
    SentMessageFactory(stream=stream)
    raw = fixture("status_delivered").replace(b'"billable": true', f'"billable": {number}'.encode())
    response = post(client, stream, raw)
    assert response.status_code == 400
    assert response.content.decode() == f"Malformed webhook: The body is not valid JSON: {says}."
    assert not InboundPayload.objects.exists()
    assert enqueued == []
