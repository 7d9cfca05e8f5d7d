"""The Cloud API's answers for Demo Sending streams: the same calls and types, no network.

Demo streams run every service and worker for real; only this object stands in for
``whatsapp.client.CloudAPIClient`` at the network step.
"""

import hashlib
import logging
import struct
import uuid
import zlib
from urllib.parse import quote, unquote

from django.conf import settings
from kombu.exceptions import OperationalError

from whatsapp.client import (
    BusinessAccount,
    InvalidParameter,
    MediaDownload,
    MediaInfo,
    MessageTemplate,
    PhoneNumber,
)

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

    def send_message(self, phone_number_id: str, payload: dict) -> str:
        """Accept the message as WhatsApp would; its statuses follow a moment later."""
        from whatsapp.tasks import simulate_demo_statuses

        wamid = f"wamid.DEMO{uuid.uuid4().hex}"
        try:
            simulate_demo_statuses.apply_async(
                (wamid,), countdown=settings.DEMO_STATUS_DELAY_SECONDS, retry=False
            )
        except OperationalError:
            # The message is sent either way; only its simulated statuses are lost.
            logger.warning("Broker unavailable; demo statuses of %s not simulated", wamid)
        return wamid
