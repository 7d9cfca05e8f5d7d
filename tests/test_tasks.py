"""Publishing tasks of row ids once their transaction commits (``textpeak.lib.tasks``)."""

import time

import pytest

from textpeak.lib.tasks import Coalescer, enqueue_ids_on_commit
from whatsapp import tasks

pytestmark = pytest.mark.django_db


def test_it_publishes_each_commit_at_once_when_coalescing_is_off(
    publish, django_capture_on_commit_callbacks
):
    for ids in ([1, 2], [3]):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_ids_on_commit(tasks.send_messages, ids, batch_size=100)
    assert publish.ids() == [[1, 2], [3]]


def test_it_splits_ids_into_tasks_of_the_batch_size(publish, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_ids_on_commit(tasks.send_messages, [1, 2, 3, 4, 5], batch_size=2)
    assert publish.ids() == [[1, 2], [3, 4], [5]]


def test_it_publishes_nothing_before_the_commit(publish, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_ids_on_commit(tasks.send_messages, [1], batch_size=100)
    assert publish.call_count == 0
    assert len(callbacks) == 1


def _wait_for_calls(publish, count: int) -> None:
    deadline = time.monotonic() + 5
    while publish.call_count < count and time.monotonic() < deadline:
        time.sleep(0.01)


def _wait_for_ids(publish, count: int) -> list[list[int]]:
    deadline = time.monotonic() + 5
    while sum(map(len, publish.ids())) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return publish.ids()


def test_it_publishes_the_first_ids_after_a_quiet_spell_at_once(publish, settings):
    settings.TASK_COALESCE_SECONDS = 30
    started = time.monotonic()

    Coalescer().add(tasks.send_messages, [1, 2], 100, None)

    assert publish.called_event.wait(5)
    assert time.monotonic() - started < 5
    assert publish.ids() == [[1, 2]]


def test_it_publishes_ids_that_come_soon_after_a_publish_together(publish, settings):
    settings.TASK_COALESCE_SECONDS = 0.3
    coalescer = Coalescer()
    coalescer.add(tasks.send_messages, [1], 100, None)
    _wait_for_calls(publish, 1)

    coalescer.add(tasks.send_messages, [2], 100, None)
    coalescer.add(tasks.send_messages, [3, 4], 100, None)
    _wait_for_calls(publish, 2)

    assert publish.ids() == [[1], [2, 3, 4]]


def test_it_publishes_ids_that_come_a_window_after_the_last_publish_at_once(publish, settings):
    """A steady trickle (one message every 50 ms, say) waits for nothing."""
    settings.TASK_COALESCE_SECONDS = 0.3
    coalescer = Coalescer()
    coalescer.add(tasks.send_messages, [1], 100, None)
    _wait_for_calls(publish, 1)
    time.sleep(0.35)

    started = time.monotonic()
    coalescer.add(tasks.send_messages, [2], 100, None)
    _wait_for_calls(publish, 2)

    assert time.monotonic() - started < 0.15


def test_it_coalesces_ids_committed_close_together_in_a_process(
    publish, settings, django_capture_on_commit_callbacks
):
    settings.TASK_COALESCE_SECONDS = 0.2
    for ids in ([1, 2], [3], [4]):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_ids_on_commit(tasks.send_messages, ids, batch_size=100)
    published = _wait_for_ids(publish, 4)

    assert sorted(pk for ids in published for pk in ids) == [1, 2, 3, 4]
    assert len(published) <= 2


def test_it_keeps_tasks_with_different_countdowns_apart(
    publish, settings, django_capture_on_commit_callbacks
):
    settings.TASK_COALESCE_SECONDS = 0.2
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_ids_on_commit(tasks.send_messages, [1], batch_size=100)
        enqueue_ids_on_commit(tasks.send_messages, [2], batch_size=100, countdown=30)
    _wait_for_calls(publish, 2)
    published = {
        call.kwargs["args"][0][0]: call.kwargs["countdown"] for call in publish.call_args_list
    }
    assert published == {1: None, 2: 30}
