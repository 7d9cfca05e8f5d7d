import json
import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.timesince import timeuntil

from streams.models import Stream
from textpeak.lib import crypto
from webhooks import signing_secrets

# How long a rotated signing secret still signs deliveries beside the new one.
SECRET_OVERLAP = timedelta(hours=24)


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
    # The secret the last rotation replaced, which signs beside the new one until it expires.
    previous_signing_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    send_statuses = models.BooleanField(
        "Send delivery statuses",
        default=False,
        help_text="Also forward sent, delivered, read and failed statuses of your messages.",
    )
    enabled = models.BooleanField(default=True)
    # Endpoints failing without a single success for days are disabled (see deliveries).
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
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

    def has_standard_secret(self) -> bool:
        """Whether the Standard Webhooks libraries can verify with the secret as shown (older
        secrets need a rotation first, see webhooks.signing_secrets)."""
        return signing_secrets.is_standard(self.signing_secret())

    def previous_signing_secret(self) -> str:
        """The secret the last rotation replaced while it still signs, else ""."""
        if not self.previous_secret_expires_at or self.previous_secret_expires_at <= timezone.now():
            return ""
        return crypto.decrypt(self.previous_signing_secret_encrypted)

    def rotate_signing_secret(self) -> None:
        """A new secret; the current one, if any, signs beside it for `SECRET_OVERLAP`, so the
        customer can deploy the new one without a request failing verification. Only one is
        kept beside the new: a secret an earlier rotation replaced stops signing now.

        The overlap weakens nothing: whoever holds the old secret could sign with it anyway, and
        the customer's server stops trusting it the moment it is given the new one."""
        if self.signing_secret_encrypted:
            self.previous_signing_secret_encrypted = self.signing_secret_encrypted
            self.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        self.signing_secret_encrypted = crypto.encrypt(signing_secrets.new_secret())


class Delivery(models.Model):
    """One event to deliver to an endpoint, with its retries: a row first, a task second."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    # Indexed with created_at below; an index of its own would only slow inserts.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # The X-TextPeak-Delivery header: the receiver's key for deduplication.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_id = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due_idx",
            ),
            # What else is due for a webhook, for the task that claims it (webhooks.deliveries).
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_endpoint_due_idx",
            ),
            # Only claimed rows: a new delivery costs no write to this index.
            models.Index(
                fields=["claim_id"], condition=Q(claim_id__isnull=False), name="delivery_claim_idx"
            ),
        ]

    def __str__(self):
        return f"{self.event} {self.uid}"

    def next_try(self) -> str:
        """When a pending delivery is tried again, as the delivery log says it (``timeuntil``
        alone says "0 minutes" for the last minute, and for a try that is already due)."""
        if self.next_attempt_at - timezone.now() < timedelta(minutes=1):
            return "within a minute"
        return f"in {timeuntil(self.next_attempt_at)}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: what was sent (secrets masked) and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_log")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    request = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"{self.delivery_id} {self.status_code or self.error}"
