"""``insert_row`` stores what ``save()`` would; ``update_each``, ``insert_each`` and
``upsert_latest`` write rows in one statement."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import SentMessageFactory, StreamFactory
from textpeak.lib.rows import insert_each, insert_row, update_each, upsert_latest
from whatsapp.models import Message, MessageEvent, ServiceWindow

pytestmark = pytest.mark.django_db


def test_it_stores_every_field_as_given_and_sets_the_primary_key():
    message = SentMessageFactory.build(stream=StreamFactory(), internal_id="order-1")
    insert_row(message)
    stored = Message.objects.get(pk=message.pk)
    for field in Message._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(message, field.attname), field.name


def test_it_stamps_auto_now_fields():
    message = SentMessageFactory.build(stream=StreamFactory(), updated_at=None)
    insert_row(message)
    assert Message.objects.get(pk=message.pk).updated_at is not None


def test_a_row_it_inserted_saves_as_an_update():
    message = SentMessageFactory.build(stream=StreamFactory())
    insert_row(message)
    message.status = Message.Status.DELIVERED
    message.save()
    assert Message.objects.get().status == Message.Status.DELIVERED


def test_it_refuses_a_duplicate_with_integrity_error():
    stream = StreamFactory()
    SentMessageFactory(stream=stream, internal_id="order-1")
    with pytest.raises(IntegrityError):
        insert_row(SentMessageFactory.build(stream=stream, internal_id="order-1", wamid=None))


def test_update_each_gives_each_row_its_own_value_and_all_of_them_the_shared_fields():
    stream = StreamFactory()
    first, second, untouched = (
        SentMessageFactory(stream=stream, wamid=f"wamid.{n}") for n in range(3)
    )
    sent_at = timezone.now()
    update_each(
        Message,
        "wamid",
        {first.pk: "wamid.first", second.pk: "wamid.second"},
        status=Message.Status.READ,
        sent_at=sent_at,
        claim_id=None,
    )
    rows = {m.pk: m for m in Message.objects.all()}
    assert (rows[first.pk].wamid, rows[second.pk].wamid) == ("wamid.first", "wamid.second")
    assert {rows[first.pk].status, rows[second.pk].status} == {Message.Status.READ}
    assert rows[first.pk].sent_at == rows[second.pk].sent_at == sent_at
    assert (rows[untouched.pk].wamid, rows[untouched.pk].status) == (
        untouched.wamid,
        untouched.status,
    )


def test_insert_each_adds_a_row_per_value_with_the_shared_fields_and_the_defaults():
    stream = StreamFactory()
    first, second = (SentMessageFactory(stream=stream, wamid=f"wamid.{n}") for n in range(2))
    occurred_at = timezone.now()
    insert_each(
        MessageEvent,
        "message",
        [first.pk, second.pk],
        status=Message.Status.SENT,
        occurred_at=occurred_at,
    )
    events = MessageEvent.objects.order_by("message_id")
    assert [(e.message_id, e.status, e.occurred_at) for e in events] == [
        (first.pk, Message.Status.SENT, occurred_at),
        (second.pk, Message.Status.SENT, occurred_at),
    ]
    assert {(e.error_code, e.error_message, e.note) for e in events} == {("", "", "")}


def test_upsert_latest_inserts_new_rows_and_keeps_the_later_value_of_those_there():
    stream = StreamFactory()
    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    ServiceWindow.objects.create(stream=stream, contact_number="111", last_inbound_at=noon)
    ServiceWindow.objects.create(stream=stream, contact_number="222", last_inbound_at=noon)
    rows = [
        (stream.pk, "111", noon - timedelta(hours=1)),  # earlier: kept as it was
        (stream.pk, "222", noon + timedelta(microseconds=1)),  # later: moved forward
        (stream.pk, "333", noon),  # new
    ]
    with CaptureQueriesContext(connection) as queries:
        upsert_latest(ServiceWindow, ["stream", "contact_number"], "last_inbound_at", rows)
    assert len(queries) == 1
    assert dict(ServiceWindow.objects.values_list("contact_number", "last_inbound_at")) == {
        "111": noon,
        "222": noon + timedelta(microseconds=1),
        "333": noon,
    }
