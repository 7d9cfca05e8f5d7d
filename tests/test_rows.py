"""``insert_row`` stores what ``save()`` would; ``update_each`` and ``insert_each`` write rows in
one statement."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tests.factories import SentMessageFactory, StreamFactory
from textpeak.lib.rows import insert_each, insert_row, update_each
from whatsapp.models import Message, MessageEvent

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
