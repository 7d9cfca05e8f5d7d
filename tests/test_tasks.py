"""Publishing tasks of row ids once their transaction commits (``textpeak.lib.tasks``)."""

import time

import pytest

from textpeak.lib.tasks import enqueue_ids_on_commit
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


def test_it_coalesces_ids_committed_close_together_into_one_task(
    publish, settings, django_capture_on_commit_callbacks
):
    settings.TASK_COALESCE_SECONDS = 0.2
    for ids in ([1, 2], [3], [4]):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_ids_on_commit(tasks.send_messages, ids, batch_size=100)
    assert publish.called_event.wait(5)
    assert publish.ids() == [[1, 2, 3, 4]]


def test_it_keeps_tasks_with_different_countdowns_apart(
    publish, settings, django_capture_on_commit_callbacks
):
    settings.TASK_COALESCE_SECONDS = 0.2
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_ids_on_commit(tasks.send_messages, [1], batch_size=100)
        enqueue_ids_on_commit(tasks.send_messages, [2], batch_size=100, countdown=30)
    deadline = time.monotonic() + 5
    while publish.call_count < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    published = {
        call.kwargs["args"][0][0]: call.kwargs["countdown"] for call in publish.call_args_list
    }
    assert published == {1: None, 2: 30}
