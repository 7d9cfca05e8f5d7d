"""The outbox mechanics the sends and deliveries share (``textpeak.lib.outbox``): claims, the
outcomes recorded only for rows still held, the sweep, tasks of one batch size."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import SentMessageFactory, StreamFactory
from textpeak.lib import outbox
from whatsapp import tasks
from whatsapp.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    """Three queued messages: any model with a claim and a due time would do."""
    stream = StreamFactory()
    return [
        SentMessageFactory(stream=stream, status=Message.Status.QUEUED, wamid=None, sent_at=None)
        for _ in range(3)
    ]


def _claimed(rows, seconds=60) -> list[Message]:
    return list(outbox.claim(Message.objects.filter(pk__in=[r.pk for r in rows]), seconds=seconds))


def _published_ids(publish) -> list[list[int]]:
    return [call.kwargs["args"][0] for call in publish.call_args_list]


# Claims


def test_it_lets_only_one_of_two_overlapping_claims_take_a_row(rows):
    assert len(_claimed(rows)) == 3
    assert _claimed(rows) == []


def test_it_takes_over_a_row_whose_claim_ran_out(rows):
    [first, *_] = _claimed(rows[:1])
    Message.objects.filter(pk=first.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    [second] = _claimed(rows[:1])
    assert second.claim_id != first.claim_id


def test_it_applies_the_changes_in_the_claiming_update(rows):
    claimed = outbox.claim(Message.objects.filter(pk=rows[0].pk), seconds=60, attempts=7)
    assert [row.attempts for row in claimed] == [7]


# Recording


def _record(claimed) -> tuple[int, list[int]]:
    written = []
    lost = outbox.record(
        claimed, row=lambda row: row, write=lambda kept: written.extend(r.pk for r in kept)
    )
    return lost, written


def test_it_writes_the_outcomes_of_every_row_still_held(rows):
    claimed = _claimed(rows)
    assert _record(claimed) == (0, [row.pk for row in claimed])


def test_it_writes_nothing_for_a_row_claimed_again_and_the_others_all_the_same(rows):
    claimed = _claimed(rows)
    taken = claimed[0]
    Message.objects.filter(pk=taken.pk).update(claimed_until=timezone.now())
    _claimed([taken])
    assert _record(claimed) == (1, [row.pk for row in claimed[1:]])


def test_it_writes_nothing_for_a_row_whose_claim_was_cleared_or_that_is_gone(rows):
    claimed = _claimed(rows)
    Message.objects.filter(pk=claimed[0].pk).update(claim_id=None, claimed_until=None)
    Message.objects.filter(pk=claimed[1].pk).delete()
    assert _record(claimed) == (2, [claimed[2].pk])


def test_it_does_not_write_when_no_row_is_held(rows):
    claimed = _claimed(rows)
    Message.objects.update(claim_id=None)
    written = []
    assert outbox.record(claimed, row=lambda row: row, write=written.append) == 3
    assert written == []


# The sweep


def _sweep(rows, *, limit=10, **changes) -> tuple[list[int], list[list[int]]]:
    enqueued = []
    ids = outbox.sweep(
        Message.objects.filter(pk__in=[r.pk for r in rows]),
        now=timezone.now(),
        limit=limit,
        enqueue=enqueued.append,
        **changes,
    )
    return ids, enqueued


def test_it_sweeps_the_rows_nobody_holds_the_longest_due_first(rows):
    now = timezone.now()
    for minutes, row in zip((1, 3, 2), rows, strict=True):
        Message.objects.filter(pk=row.pk).update(next_attempt_at=now - timedelta(minutes=minutes))
    ids, enqueued = _sweep(rows, limit=2)
    assert ids == [rows[1].pk, rows[2].pk]
    assert enqueued == [ids]


def test_it_leaves_rows_held_by_a_worker_or_the_broker_and_takes_those_whose_hold_ran_out(rows):
    now = timezone.now()
    _claimed(rows[:1])
    Message.objects.filter(pk=rows[1].pk).update(claimed_until=now + timedelta(seconds=30))
    Message.objects.filter(pk=rows[2].pk).update(claimed_until=now - timedelta(seconds=1))
    assert _sweep(rows)[0] == [rows[2].pk]


def test_it_gives_the_swept_rows_the_changes(rows):
    ids, _ = _sweep(rows[:2], attempts=5)
    assert sorted(Message.objects.filter(attempts=5).values_list("pk", flat=True)) == sorted(ids)
    assert Message.objects.get(pk=rows[2].pk).attempts == 0


# Tasks


def test_it_enqueues_in_tasks_of_the_batch_size(publish, django_capture_on_commit_callbacks):
    ids = list(range(outbox.BATCH_SIZE + 1))
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(tasks.send_messages, ids, countdown=5)
    assert _published_ids(publish) == [ids[: outbox.BATCH_SIZE], ids[outbox.BATCH_SIZE :]]
    assert {call.kwargs["countdown"] for call in publish.call_args_list} == {5}
