"""Each kind of work has a Celery queue of its own (``textpeak.queues``)."""

import pytest
from django.conf import settings

from textpeak import queues
from textpeak.accounts import tasks as account_tasks
from textpeak.celery import app as celery_app
from webhooks import tasks as webhook_tasks
from whatsapp import tasks as whatsapp_tasks


def _queue_of(task) -> str:
    return celery_app.amqp.router.route({}, task.name)["queue"].name


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        (whatsapp_tasks.send_messages, queues.SENDING),
        (whatsapp_tasks.send_read_receipts, queues.SENDING),
        (whatsapp_tasks.store_payloads, queues.INBOUND),
        (whatsapp_tasks.simulate_demo_statuses, queues.INBOUND),
        (webhook_tasks.send_deliveries, queues.DELIVERIES),
        (whatsapp_tasks.sweep_outbox, queues.HOUSEKEEPING),
        (webhook_tasks.sweep_deliveries, queues.HOUSEKEEPING),
        (whatsapp_tasks.purge_expired_messages, queues.HOUSEKEEPING),
        (webhook_tasks.purge_expired_deliveries, queues.HOUSEKEEPING),
        (account_tasks.send_member_invitation, queues.HOUSEKEEPING),
    ],
)
def test_each_task_goes_to_the_queue_of_its_kind(task, kind):
    assert _queue_of(task) == "textpeak-tests-" + kind


def test_a_worker_started_without_queues_named_takes_every_kind():
    assert set(celery_app.amqp.queues) == {"textpeak-tests-" + kind for kind in queues.KINDS}


def test_every_routed_task_exists():
    assert set(queues.ROUTES) <= set(celery_app.tasks)


def test_the_app_without_a_prefix_uses_the_plain_names():
    task_queues, routes, default = queues.celery_queues()

    assert [queue.name for queue in task_queues] == list(queues.KINDS)
    assert routes["whatsapp.tasks.send_messages"] == {"queue": "sending"}
    assert default == "housekeeping"
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "textpeak-tests-housekeeping"


def test_each_queue_receives_only_the_tasks_routed_to_it():
    bindings = {
        (queue.exchange.name, queue.routing_key) for queue in celery_app.amqp.queues.values()
    }

    assert len(bindings) == len(queues.KINDS)
