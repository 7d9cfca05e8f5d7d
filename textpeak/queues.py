"""The Celery queues: one per kind of work, so that a backlog of one kind never waits in front
of another's tasks.

A worker started without ``-Q`` takes every queue (``make run``, the tests); in production each
kind has workers of its own, scaled apart (docker-compose.yml). Tasks not routed here are
housekeeping: sweepers, catalogue refreshes, e-mails.
"""

from kombu import Exchange, Queue

SENDING = "sending"
INBOUND = "inbound"
DELIVERIES = "deliveries"
HOUSEKEEPING = "housekeeping"
KINDS = (SENDING, INBOUND, DELIVERIES, HOUSEKEEPING)

ROUTES = {
    # Messages to Meta, each call paced by its sender's rate.
    "whatsapp.tasks.send_messages": SENDING,
    # Read receipts, paced by the same senders' rates.
    "whatsapp.tasks.send_read_receipts": SENDING,
    # Meta's webhooks kept by the callback, and the demo's stand-ins for them.
    "whatsapp.tasks.store_payloads": INBOUND,
    "whatsapp.tasks.simulate_demo_statuses": INBOUND,
    # Events to the customers' webhooks.
    "webhooks.tasks.send_deliveries": DELIVERIES,
}


def celery_queues(prefix: str = "") -> tuple[tuple[Queue, ...], dict, str]:
    """``task_queues``, ``task_routes`` and ``task_default_queue``, each queue's name after
    ``prefix`` (the tests' tasks keep to queues of their own)."""
    # Each queue has its exchange and routing key: bound to the default exchange and key, as a
    # bare Queue(name) is, every queue would receive every task.
    names = [prefix + kind for kind in KINDS]
    queues = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in names)
    routes = {task: {"queue": prefix + kind} for task, kind in ROUTES.items()}
    return queues, routes, prefix + HOUSEKEEPING
