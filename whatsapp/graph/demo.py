"""The demo stand-in for Meta: the Cloud API's answers, and the webhooks Meta would send.

Demo streams run every service and worker for real; only ``DemoGraph`` stands in for
``whatsapp.graph.client.CloudAPIClient`` at the network step, and ``simulate_demo_statuses``
for Meta's status and reply webhooks, which it builds in Meta's shape and stores through
``whatsapp.inbound`` as the callback's are.
"""

import hashlib
import json
import logging
import struct
import uuid
import zlib
from datetime import datetime
from urllib.parse import quote, unquote

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from whatsapp.graph.client import (
    BusinessAccount,
    MediaDownload,
    MediaInfo,
    MessageTemplate,
    PhoneNumber,
)
from whatsapp.graph.errors import InvalidParameter
from whatsapp.inbound.parse import parse
from whatsapp.inbound.store import store
from whatsapp.models import Message, WhatsAppAccount
from whatsapp.summary import message_summary

logger = logging.getLogger(__name__)


DEMO_BUSINESS_ID = "demo"


DEMO_BUSINESS_NAME = "TextPeak Demo Business"


DEMO_SENDERS = [
    PhoneNumber(
        id="100000000000001",
        display_phone_number="+1 555-010-0100",
        verified_name="TextPeak Demo",
        quality_rating="GREEN",
        throughput="STANDARD",
    )
]


DEMO_TEMPLATES = [
    MessageTemplate(
        id="900000000000001",
        name="order_update",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
        components=[
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is on its way."},
        ],
    ),
    MessageTemplate(
        id="900000000000002",
        name="hello_world",
        language="en_US",
        category="MARKETING",
        status="APPROVED",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!! This is a demo message."},
        ],
    ),
    MessageTemplate(
        id="900000000000003",
        name="appointment_reminder",
        language="de",
        category="UTILITY",
        status="APPROVED",
        components=[
            {"type": "BODY", "text": "Hallo {{1}}, wir sehen uns am {{2}} um {{3}}."},
        ],
    ),
]


# Media URLs of demo streams: never fetched over a network, only by ``DemoGraph.download``.
DEMO_MEDIA_URL_PREFIX = "demo:media/"


DEMO_MEDIA_SIZE = 96  # pixels, each side


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def demo_placeholder(media_id: str) -> bytes:
    """A small PNG standing in for any file a demo customer sent: diagonal stripes in two
    colours derived from the media id, so different files look different."""
    seed = hashlib.sha256(media_id.encode()).digest()
    light = bytes(160 + b % 96 for b in seed[:3])
    dark = bytes(b % 128 for b in seed[3:6])
    size = DEMO_MEDIA_SIZE
    rows = b"".join(
        b"\x00" + b"".join(dark if (x + y) // 12 % 2 else light for x in range(size))
        for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 9))
        + _png_chunk(b"IEND", b"")
    )


class DemoGraph:
    def business_account(self, waba_id: str) -> BusinessAccount:
        return BusinessAccount(id=waba_id, name=DEMO_BUSINESS_NAME, currency="USD", timezone_id="1")

    def phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        return list(DEMO_SENDERS)

    def message_templates(self, waba_id: str) -> list[MessageTemplate]:
        return list(DEMO_TEMPLATES)

    def subscribe_app(self, waba_id: str, *, callback_url: str, verify_token: str) -> None:
        """Demo streams have no Meta app to register with."""

    def media_info(self, media_id: str) -> MediaInfo:
        """Every media id of a demo stream is a generated placeholder image."""
        data = demo_placeholder(media_id)
        return MediaInfo(
            id=media_id,
            url=DEMO_MEDIA_URL_PREFIX + quote(media_id, safe=""),
            mime_type="image/png",
            sha256=hashlib.sha256(data).hexdigest(),
            file_size=len(data),
        )

    def download(self, url: str) -> MediaDownload:
        if not url.startswith(DEMO_MEDIA_URL_PREFIX):
            raise InvalidParameter("Not a media URL of a demo stream")
        data = demo_placeholder(unquote(url.removeprefix(DEMO_MEDIA_URL_PREFIX)))
        return MediaDownload([data], content_type="image/png", content_length=len(data))

    def upload_media(
        self, phone_number_id: str, file, *, size: int, mime_type: str, filename: str
    ) -> str:
        """Take the file as WhatsApp would (its checks ran before): a made-up media id, which
        a demo send accepts like any other."""
        return f"demo-{uuid.uuid4().hex}"

    def mark_read(self, phone_number_id: str, wamid: str, *, typing: bool = False) -> None:
        """The demo's simulated contacts see nothing: accepted as WhatsApp would accept it."""

    def send_message(self, phone_number_id: str, payload: dict) -> str:
        """Accept the message as WhatsApp would; its statuses follow a moment later."""

        wamid = f"wamid.DEMO{uuid.uuid4().hex}"
        try:
            simulate_demo_statuses.apply_async(
                (wamid,), countdown=settings.DEMO_STATUS_DELAY_SECONDS, retry=False
            )
        except OperationalError:
            # The message is sent either way; only its simulated statuses are lost.
            logger.warning("Broker unavailable; demo statuses of %s not simulated", wamid)
        return wamid


# What the demo's WhatsApp reports after accepting a message, one step per delay.
DEMO_STATUSES = ("delivered", "read")


DEMO_CONTACT_NAME = "Demo Contact"


DEMO_REPLY = "Thanks! This is a simulated reply to: {}"


@shared_task(
    name="whatsapp.tasks.simulate_demo_statuses", bind=True, max_retries=10, acks_late=True
)
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
                "pricing": _demo_pricing(message),
            }
        ],
    )
    store(stream=stream, events=parse(body))
    if step + 1 < len(DEMO_STATUSES):
        simulate_demo_statuses.apply_async(
            (wamid, step + 1), countdown=settings.DEMO_STATUS_DELAY_SECONDS
        )
    elif WhatsAppAccount.objects.filter(stream=stream, demo_replies=True).exists():
        message.refresh_from_db(fields=["read_at"])
        store(stream=stream, events=parse(_demo_reply(message)))


_DEMO_TEMPLATE_CATEGORIES = {(t.name, t.language): t.category.lower() for t in DEMO_TEMPLATES}


def _demo_pricing(message: Message) -> dict:
    """Meta's pricing object as it prices messages per message: a template by its category,
    anything else as a free reply within the customer service window."""
    if message.type == "template":
        key = (message.payload.get("name"), message.payload.get("language"))
        category = _DEMO_TEMPLATE_CATEGORIES.get(key, "utility")
        return {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}
    return {
        "billable": False,
        "pricing_model": "PMP",
        "category": "service",
        "type": "free_customer_service",
    }


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
    return message_summary(message)[:40] or message.type


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
