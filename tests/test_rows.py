"""``insert_row``: one INSERT from SQL built once, storing what ``save()`` would."""

import pytest
from django.db import IntegrityError

from tests.factories import SentMessageFactory, StreamFactory
from textpeak.lib.rows import insert_row
from whatsapp.models import Message

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
