"""The Request API previews: ready-to-copy send API calls filled with the stream's own data."""

import json
from dataclasses import dataclass

from django.conf import settings

from streams.models import Stream
from whatsapp.models import WhatsAppAccount

SEND_PATH = "/api/whatsapp/send/"
SAMPLE_RECIPIENT = "4915112345678"
SAMPLE_REPLY_TO = "0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10"


@dataclass(frozen=True)
class ApiExample:
    title: str
    description: str
    url: str
    body: str

    @property
    def curl(self) -> str:
        return (
            f"curl -X POST '{self.url}' \\\n"
            "  -H 'Authorization: <stream token>' \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d '{json.dumps(json.loads(self.body))}'"
        )


def _example(title: str, description: str, message: dict) -> ApiExample:
    body = json.dumps({"messages": [message]}, indent=2, ensure_ascii=False)
    return ApiExample(
        title=title, description=description, url=settings.SITE_URL + SEND_PATH, body=body
    )


def api_examples(stream: Stream) -> list[ApiExample]:
    """Initial conversation (template), message with media, interactive message and reply, in
    the send API's format."""
    account = WhatsAppAccount.objects.filter(stream=stream).first()
    sender = account.senders.first() if account else None
    templates = [t for t in account.templates.all() if t.is_approved] if account else []
    template = templates[0] if templates else None
    number = sender.number if sender else "<sender number>"
    base = {"sender": number, "recipient_phone": SAMPLE_RECIPIENT}
    template_message = {
        "name": template.name if template else "<approved template>",
        "language": template.language if template else "en_US",
        "variables": [f"value {i}" for i in range(1, template.variable_count + 1)]
        if template
        else [],
    }
    return [
        _example(
            "Initial conversation request",
            "Starts a conversation with an approved template; needed before the customer "
            "has written in the last 24 hours.",
            {"internal_id": "order-1001", **base, "type": "template", "template": template_message},
        ),
        _example(
            "Message with media request",
            "An image, video, audio file or document by link, with a caption.",
            {
                "internal_id": "order-1002",
                **base,
                "type": "image",
                "media": {"url": "https://example.com/parcel.jpg", "caption": "Your parcel"},
            },
        ),
        _example(
            "Interactive message request",
            "Reply buttons, written as WhatsApp's own interactive object; a list or a "
            "call-to-action URL takes the same place. The customer's choice comes back to "
            "the webhook with the button's id and title.",
            {
                "internal_id": "order-1004",
                **base,
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Your parcel arrives tomorrow. Shall we deliver it?"},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": "deliver-yes", "title": "Yes"}},
                            {
                                "type": "reply",
                                "reply": {"id": "deliver-shop", "title": "To the shop"},
                            },
                        ]
                    },
                },
            },
        ),
        _example(
            "Reply message request",
            "A text answer to a message the customer sent, quoting it.",
            {
                "internal_id": "order-1003",
                **base,
                "type": "text",
                "message_content": "Thanks, see you soon!",
                "reply_to": SAMPLE_REPLY_TO,
            },
        ),
    ]
