import json
import secrets

from django.db import models

from streams.models import Stream
from textpeak.lib import crypto


def _signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A stream's Incoming Messages Webhook. Header values and the signing secret are
    encrypted at rest, since headers usually carry the customer's own credentials."""

    class Method(models.TextChoices):
        POST = "POST", "POST"
        GET = "GET", "GET"

    stream = models.OneToOneField(Stream, on_delete=models.CASCADE, related_name="webhook")
    method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    url = models.URLField("URL", max_length=2000)
    headers_encrypted = models.TextField(blank=True, editable=False)
    signing_secret_encrypted = models.TextField(editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.method} {self.url}"

    def headers(self) -> list[tuple[str, str]]:
        if not self.headers_encrypted:
            return []
        return [tuple(pair) for pair in json.loads(crypto.decrypt(self.headers_encrypted))]

    def set_headers(self, headers: list[tuple[str, str]]) -> None:
        self.headers_encrypted = crypto.encrypt(json.dumps(headers)) if headers else ""

    def signing_secret(self) -> str:
        return crypto.decrypt(self.signing_secret_encrypted)

    def rotate_signing_secret(self) -> None:
        self.signing_secret_encrypted = crypto.encrypt(_signing_secret())
