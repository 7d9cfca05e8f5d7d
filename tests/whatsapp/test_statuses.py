"""``whatsapp.inbound.statuses.statuses_apply``: the one path for Meta's status webhooks and
the demo's. A status only moves a message forward, so late and repeated deliveries are harmless."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import StreamFactory
from whatsapp.inbound.parse import Conversation, Pricing, StatusUpdate
from whatsapp.inbound.statuses import statuses_apply
from whatsapp.models import Message

pytestmark = pytest.mark.django_db

WAMID = "wamid.HBgLNDkxNTExMjM0NTY3OBUCABEYEjQ1"


@pytest.fixture
def message(account):
    return Message.objects.create(
        stream=StreamFactory(account=account, name="Orders"),
        direction=Message.Direction.OUTBOUND,
        sender_number="15550001111",
        contact_number="4915112345678",
        type="text",
        payload={"body": "Hi", "preview_url": False},
        status=Message.Status.SENT,
        wamid=WAMID,
        sent_at=timezone.now() - timedelta(minutes=5),
    )


def _status(update: StatusUpdate) -> bool:
    """Apply a status as the stream's callback received it; True if it moved the message."""
    applied, _ = statuses_apply([update], stream=Message.objects.get(wamid=WAMID).stream)
    return bool(applied)


def _apply(status, *, minutes_ago=0, wamid=WAMID, **fields) -> bool:
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    return _status(StatusUpdate(wamid=wamid, status=status, timestamp=moment, **fields))


def _reload(message) -> Message:
    message.refresh_from_db()
    return message


def test_it_moves_a_sent_message_to_delivered(message):
    assert _apply("delivered", minutes_ago=4) is True
    message = _reload(message)
    assert message.status == Message.Status.DELIVERED
    assert message.delivered_at is not None


def test_it_moves_a_delivered_message_to_read(message):
    _apply("delivered", minutes_ago=4)
    assert _apply("read", minutes_ago=3) is True
    assert _reload(message).status == Message.Status.READ


def test_it_keeps_metas_timestamps(message):
    delivered_at = timezone.now() - timedelta(minutes=4)
    read_at = timezone.now() - timedelta(minutes=3)
    _status(StatusUpdate(wamid=WAMID, status="delivered", timestamp=delivered_at))
    _status(StatusUpdate(wamid=WAMID, status="read", timestamp=read_at))
    message = _reload(message)
    assert (message.delivered_at, message.read_at) == (delivered_at, read_at)


def test_it_records_each_step_in_the_history(message):
    _apply("delivered", minutes_ago=4)
    _apply("read", minutes_ago=3)
    assert list(message.events.values_list("status", flat=True)) == ["delivered", "read"]


def test_it_moves_a_sent_message_straight_to_read(message):
    assert _apply("read") is True
    assert _reload(message).status == Message.Status.READ


def test_it_ignores_a_late_delivered_after_read(message):
    _apply("read", minutes_ago=3)
    assert _apply("delivered", minutes_ago=4) is False
    message = _reload(message)
    assert message.status == Message.Status.READ
    assert message.delivered_at is None
    assert list(message.events.values_list("status", flat=True)) == ["read"]


def test_it_ignores_a_repeated_status(message):
    _apply("delivered", minutes_ago=4)
    assert _apply("delivered", minutes_ago=4) is False
    assert message.events.count() == 1


def test_it_ignores_sent_for_a_message_already_sent(message):
    assert _apply("sent") is False
    assert message.events.count() == 0


def test_it_fails_a_sent_message_with_metas_error(message):
    applied = _apply(
        "sent_failed",
        error_code="131026",
        error_message="(#131026) Message Undeliverable",
    )
    assert applied is True
    message = _reload(message)
    assert message.status == Message.Status.SENT_FAILED
    assert (message.error_code, message.error_message) == (
        "131026",
        "(#131026) Message Undeliverable",
    )
    assert message.failed_at is not None
    event = message.events.get()
    assert (event.status, event.error_code) == ("sent_failed", "131026")


def test_it_ignores_a_failure_after_delivery(message):
    _apply("delivered")
    assert _apply("sent_failed", error_code="131026", error_message="late") is False
    message = _reload(message)
    assert message.status == Message.Status.DELIVERED
    assert message.error_code == ""


def test_it_ignores_read_after_a_failure(message):
    _apply("sent_failed", error_code="131026", error_message="Undeliverable")
    assert _apply("read") is False
    assert _reload(message).status == Message.Status.SENT_FAILED


def test_it_answers_false_for_an_unknown_wamid(message):
    assert _apply("delivered", wamid="wamid.unknown") is False
    assert _reload(message).status == Message.Status.SENT


def test_it_leaves_other_messages_alone(message):
    other = Message.objects.create(
        stream=message.stream,
        direction=Message.Direction.OUTBOUND,
        sender_number="15550001111",
        contact_number="4915112345678",
        type="text",
        status=Message.Status.SENT,
        wamid="wamid.other",
    )
    _apply("read")
    assert _reload(other).status == Message.Status.SENT


# -- pricing

UTILITY = Pricing(billable=True, category="utility", model="PMP", type="regular")
SERVICE = Pricing(billable=False, category="service", model="PMP", type="free_customer_service")


def test_it_keeps_metas_pricing_and_conversation_on_the_message(message):
    expires_at = timezone.now() + timedelta(hours=23)
    conversation = Conversation(id="conv-1", origin="utility", expires_at=expires_at)
    _apply("delivered", pricing=UTILITY, conversation=conversation)
    message = _reload(message)
    assert message.pricing == {"billable": True, "category": "utility", "model": "PMP"}
    assert message.pricing_type == "regular"
    assert (message.conversation_id, message.conversation_origin) == ("conv-1", "utility")
    assert message.conversation_expires_at == expires_at


def test_the_latest_status_carrying_pricing_wins(message):
    _apply("delivered", minutes_ago=4, pricing=UTILITY)
    _apply("read", minutes_ago=3, pricing=SERVICE)
    assert _reload(message).pricing == {"billable": False, "category": "service", "model": "PMP"}


def test_a_late_status_does_not_undo_the_pricing_of_a_later_one(message):
    _apply("read", minutes_ago=3, pricing=SERVICE)
    _apply("delivered", minutes_ago=4, pricing=UTILITY)
    assert _reload(message).pricing["category"] == "service"


def test_a_status_without_pricing_keeps_the_one_reported_before(message):
    _apply("delivered", minutes_ago=4, pricing=UTILITY)
    _apply("read", minutes_ago=3)
    message = _reload(message)
    assert message.status == Message.Status.READ
    assert message.pricing["category"] == "utility"


def test_it_takes_the_pricing_of_a_late_status_while_the_message_has_none(message):
    _apply("read", minutes_ago=3)
    assert _apply("delivered", minutes_ago=4, pricing=UTILITY) is False
    message = _reload(message)
    assert message.status == Message.Status.READ
    assert message.pricing["category"] == "utility"


def test_a_late_status_fills_in_only_what_the_message_lacks(message):
    conversation = Conversation(id="conv-1", origin="utility", expires_at=None)
    _apply("read", minutes_ago=3, conversation=conversation)
    later = Conversation(id="conv-0", origin="marketing", expires_at=None)
    _apply("delivered", minutes_ago=4, pricing=UTILITY, conversation=later)
    message = _reload(message)
    assert message.conversation_id == "conv-1"
    assert message.pricing["category"] == "utility"
