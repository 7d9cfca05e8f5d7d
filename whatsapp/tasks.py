"""Every Celery task of the WhatsApp app, in one list: the worker imports this module to find
them. Each is defined beside the code that enqueues it, in the room of its flow."""

from whatsapp.graph.demo import simulate_demo_statuses
from whatsapp.health import check_all_credentials, check_credentials
from whatsapp.inbound.payloads import store_payloads, sweep_payloads
from whatsapp.inbound.statuses import purge_pending_statuses
from whatsapp.outbox.read import send_read_receipts
from whatsapp.outbox.send import send_messages
from whatsapp.outbox.sweep import sweep_outbox
from whatsapp.problems import notify_credential_problem
from whatsapp.retention import purge_expired_messages
from whatsapp.services import refresh_catalogues

__all__ = [
    "check_all_credentials",
    "check_credentials",
    "notify_credential_problem",
    "purge_expired_messages",
    "purge_pending_statuses",
    "refresh_catalogues",
    "send_messages",
    "send_read_receipts",
    "simulate_demo_statuses",
    "store_payloads",
    "sweep_outbox",
    "sweep_payloads",
]
