"""The Cloud API's answers for Demo Sending streams: the same calls and types, no network.

Demo streams run every service and worker for real; only this object stands in for
``whatsapp.client.CloudAPIClient`` at the network step.
"""

import logging
import uuid

from django.conf import settings
from kombu.exceptions import OperationalError

from whatsapp.client import BusinessAccount, MessageTemplate, PhoneNumber

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


class DemoGraph:
    def business_account(self, waba_id: str) -> BusinessAccount:
        return BusinessAccount(id=waba_id, name=DEMO_BUSINESS_NAME, currency="USD", timezone_id="1")

    def phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        return list(DEMO_SENDERS)

    def message_templates(self, waba_id: str) -> list[MessageTemplate]:
        return list(DEMO_TEMPLATES)

    def subscribe_app(self, waba_id: str, *, callback_url: str, verify_token: str) -> None:
        """Demo streams have no Meta app to register with."""

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
