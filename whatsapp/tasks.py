import hashlib
import json
import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from streams.models import Stream
from whatsapp import inbound, sending, services, statuses
from whatsapp.client import GraphError
from whatsapp.demo import DEMO_BUSINESS_ID
from whatsapp.models import Message, WhatsAppAccount

logger = logging.getLogger(__name__)

# What the demo's WhatsApp reports after accepting a message, one step per delay.
DEMO_STATUSES = ("delivered", "read")
DEMO_CONTACT_NAME = "Demo Contact"
DEMO_REPLY = "Thanks! This is a simulated reply to: {}"


@shared_task(acks_late=True)
def send_messages(message_ids: list[int]) -> None:
    """Send queued messages. Idempotent: rows are claimed, so a redelivered task sends nothing
    twice. Not retried by Celery: retries are rows with a due time (countdown or sweeper)."""
    sending.messages_send(message_ids=message_ids)


@shared_task
def sweep_outbox() -> None:
    """Beat: re-enqueue overdue queued messages (broker outage, killed worker)."""
    sending.outbox_sweep()


@shared_task(acks_late=True)
def store_payloads(payload_ids: list[int]) -> None:
    """Store Meta's POSTs kept by the callback. Idempotent: a payload is deleted as it is
    stored, and one held by another worker is skipped."""
    inbound.payloads_store(payload_ids=payload_ids)


@shared_task
def sweep_payloads() -> None:
    """Beat: re-enqueue Meta's POSTs still waiting (broker outage, killed worker)."""
    inbound.payloads_sweep()


@shared_task(bind=True, max_retries=10, acks_late=True)
def simulate_demo_statuses(self, wamid: str, step: int = 0) -> None:
    """The demo's stand-in for Meta's status webhooks: delivered, then read, a moment apart,
    then (when the stream asks for it) a reply from the recipient. Each is a Meta-shaped
    webhook body that goes through ``inbound.parse`` and ``inbound.store``, as Meta's do.
    Safe to run twice: statuses only move forward and the reply is the same event."""
    message = (
        Message.objects.filter(wamid=wamid, direction=Message.Direction.OUTBOUND)
        .select_related("stream")
        .first()
    )
    if message is None:
        # The worker that sent it has not recorded the wamid yet.
        raise self.retry(countdown=settings.DEMO_STATUS_DELAY_SECONDS)
    stream = message.stream
    body = _demo_body(
        message,
        statuses=[
            {
                "id": wamid,
                "status": DEMO_STATUSES[step],
                "timestamp": _demo_timestamp(timezone.now()),
                "recipient_id": message.contact_number,
            }
        ],
    )
    inbound.store(stream=stream, events=inbound.parse(body))
    if step + 1 < len(DEMO_STATUSES):
        simulate_demo_statuses.apply_async(
            (wamid, step + 1), countdown=settings.DEMO_STATUS_DELAY_SECONDS
        )
    elif WhatsAppAccount.objects.filter(stream=stream, demo_replies=True).exists():
        message.refresh_from_db(fields=["read_at"])
        inbound.store(stream=stream, events=inbound.parse(_demo_reply(message)))


def _demo_timestamp(moment: datetime) -> str:
    # Milliseconds, which Meta sometimes sends too: the simulated steps are often less than
    # a second apart, and seconds would put "delivered" before "sent".
    return str(int(moment.timestamp() * 1000))


def _demo_body(message: Message, **value) -> bytes:
    """A webhook body as Meta would send it about the demo message's number."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": DEMO_BUSINESS_ID,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": message.sender_number,
                                    "phone_number_id": message.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def _sent_text(message: Message) -> str:
    payload = message.payload
    text = (
        payload.get("body")
        or payload.get("caption")
        or payload.get("name")
        or payload.get("emoji")
        or message.type
    )
    return text[:40]


def _demo_reply(message: Message) -> bytes:
    """The recipient's answer to a demo message. Its wamid and time come from the message's,
    so a second run builds the same event, which is stored once."""
    digest = hashlib.sha256(message.wamid.encode()).hexdigest()[:40]
    return _demo_body(
        message,
        contacts=[{"profile": {"name": DEMO_CONTACT_NAME}, "wa_id": message.contact_number}],
        messages=[
            {
                "from": message.contact_number,
                "id": f"wamid.DEMOREPLY{digest}",
                "timestamp": _demo_timestamp(message.read_at or message.created_at),
                "type": "text",
                "text": {"body": DEMO_REPLY.format(_sent_text(message))},
                "context": {"from": message.sender_number, "id": message.wamid},
            }
        ],
    )


@shared_task
def refresh_catalogues() -> None:
    """Beat, hourly: refresh every working stream's senders and templates from the Cloud API.

    Meta does not send template review events to per-account callback overrides, so this is
    how a paused or newly approved template reaches the send API. One stream's failure is
    logged and does not stop the others.
    """
    accounts = WhatsAppAccount.objects.filter(
        stream__deleted_at__isnull=True,
        stream__status__in=[Stream.Status.READY, Stream.Status.DISABLED],
        # A token Meta refused stays refused until the user replaces it.
        token_rejected_at__isnull=True,
    ).select_related("stream")
    for account in accounts.iterator():
        try:
            services.whatsapp_account_refresh(account=account)
        except GraphError as error:
            logger.warning("Refreshing stream %s failed: %s", account.stream.uid, error)
        except Exception:
            logger.exception("Refreshing stream %s failed unexpectedly", account.stream.uid)


@shared_task
def purge_pending_statuses() -> None:
    """Beat: apply kept statuses whose message appeared late, and forget the expired ones."""
    statuses.pending_statuses_sweep()
