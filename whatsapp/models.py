"""The WhatsApp rows: a stream's account, its senders and templates, messages and their events."""

import re
import secrets
import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from streams.models import Stream
from textpeak.lib import crypto

# A message is in flight until WhatsApp has accepted or refused it: the status that shows its
# stream as Sending and that the sending workers claim from.
IN_FLIGHT_STATUS = "queued"


def _verify_token() -> str:
    return secrets.token_urlsafe(24)


def new_callback_key() -> str:
    """The secret path segment of a stream's Meta callback URL: 256 random bits."""
    return secrets.token_urlsafe(32)


class WhatsAppAccount(models.Model):
    """A stream's WhatsApp Business Account: its credentials and what Meta last told us about it.

    The access token and app secret are encrypted at rest and never rendered: pages show the
    last four characters only.
    """

    stream = models.OneToOneField(Stream, on_delete=models.CASCADE, related_name="whatsapp")
    business_id = models.CharField("WhatsApp Business ID", max_length=32, blank=True)
    business_name = models.CharField(max_length=200, blank=True)
    access_token_encrypted = models.TextField(blank=True, editable=False)
    access_token_last4 = models.CharField(max_length=4, blank=True, editable=False)
    app_secret_encrypted = models.TextField(blank=True, editable=False)
    app_secret_last4 = models.CharField(max_length=4, blank=True, editable=False)
    # The stream's Meta callback URL is /webhooks/whatsapp/<callback_key>/, not its public id
    # (shown in the console and sent in every delivery to the customer's webhook): an address
    # nobody can work out is one more thing a forged webhook must get right. Rotatable.
    callback_key = models.CharField(
        max_length=64, unique=True, default=new_callback_key, editable=False
    )
    # Meta sends this back when it verifies the stream's callback URL.
    verify_token = models.CharField(max_length=64, default=_verify_token, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Set when Meta rejects the token (error 190); cleared by a successful check.
    token_rejected_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    callback_registered_at = models.DateTimeField(null=True, blank=True)
    callback_error = models.TextField(blank=True)
    # When the credentials check last asked Meta (see whatsapp.health).
    health_checked_at = models.DateTimeField(null=True, blank=True)
    # Demo streams: answer each message sent with a simulated reply from the recipient.
    demo_replies = models.BooleanField("Simulate replies", default=False)

    class DeliveryGuarantee(models.TextChoices):
        # The calls a worker had in flight when it died may or may not have reached WhatsApp,
        # and Meta's send takes no idempotency key: either they are made again, or never.
        AT_LEAST_ONCE = "at_least_once", "At least once: send again (a rare repeat)"
        AT_MOST_ONCE = "at_most_once", "At most once: never send again (a rare Unknown)"

    delivery_guarantee = models.CharField(
        max_length=16, choices=DeliveryGuarantee.choices, default=DeliveryGuarantee.AT_LEAST_ONCE
    )
    # Refuse a free-form message to a contact who has not written in the last 24 hours at once,
    # rather than have WhatsApp fail it (131047). Off for a number that also chats from the
    # WhatsApp Business app, whose messages TextPeak does not see.
    service_window_check = models.BooleanField(
        "Refuse messages outside the customer service window", default=True
    )

    class Meta:
        verbose_name = "WhatsApp account"

    def __str__(self):
        return self.business_id or f"Demo account of {self.stream}"

    def set_access_token(self, token: str) -> None:
        self.access_token_encrypted = crypto.encrypt(token)
        self.access_token_last4 = token[-4:]
        self.verified_at = None

    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted) if self.access_token_encrypted else ""

    def set_app_secret(self, secret: str) -> None:
        self.app_secret_encrypted = crypto.encrypt(secret) if secret else ""
        self.app_secret_last4 = secret[-4:]

    def app_secret(self) -> str:
        return crypto.decrypt(self.app_secret_encrypted) if self.app_secret_encrypted else ""

    @property
    def has_app_secret(self) -> bool:
        """Whether Meta's webhooks to the stream can be checked: without the secret, none is
        taken (demo streams take none from outside at all)."""
        return bool(self.app_secret_encrypted)


class Sender(models.Model):
    """A phone number of the Business Account, as the Cloud API last listed it."""

    whatsapp_account = models.ForeignKey(
        WhatsAppAccount, on_delete=models.CASCADE, related_name="senders"
    )
    phone_number_id = models.CharField(max_length=32)
    display_phone_number = models.CharField(max_length=32)
    verified_name = models.CharField(max_length=200, blank=True)
    quality_rating = models.CharField(max_length=20, blank=True)
    throughput = models.CharField(max_length=20, blank=True)
    # From Meta's phone_number_quality_update webhooks: what it last reported of the number
    # (FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE …), its messaging limit (TIER_1K …), and when.
    quality_event = models.CharField(max_length=40, blank=True)
    messaging_limit = models.CharField(max_length=40, blank=True)
    quality_changed_at = models.DateTimeField(null=True, blank=True)
    # Workers never send faster than this from the number (WhatsApp's default is 80 per
    # second, raised by Meta up to 1,000; 20 for numbers shared with the WhatsApp Business app).
    messages_per_second = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )

    class Meta:
        ordering = ["display_phone_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["whatsapp_account", "phone_number_id"], name="sender_unique_per_account"
            )
        ]

    def __str__(self):
        return self.display_phone_number

    @property
    def number(self) -> str:
        """The number in the send API's form: digits only."""
        return re.sub(r"\D", "", self.display_phone_number)


class CredentialProblem(models.Model):
    """Something wrong with a stream's standing at Meta that only a person can fix. The stream
    Needs attention while it has one; a row is made when a problem is found and deleted when a
    check finds it gone, so a problem that comes back is a new row (and a new e-mail)."""

    class Kind(models.TextChoices):
        TOKEN_REJECTED = "token_rejected", "Token rejected"
        PERMISSION_MISSING = "permission_missing", "Permission missing"
        APP_UNSUBSCRIBED = "app_unsubscribed", "App unsubscribed"
        CALLBACK_ELSEWHERE = "callback_elsewhere", "Callback elsewhere"

    whatsapp_account = models.ForeignKey(
        WhatsAppAccount, on_delete=models.CASCADE, related_name="problems"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # What the check saw: the permissions missing, the numbers whose webhooks go elsewhere.
    detail = models.CharField(max_length=500, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    # Set once the account's admins have been e-mailed about it.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["detected_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["whatsapp_account", "kind"], name="credential_problem_unique_kind"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.whatsapp_account}"

    @property
    def summary(self) -> str:
        """What is wrong, in people's words."""
        return {
            self.Kind.TOKEN_REJECTED: "The access token was rejected by Meta (it expired or was "
            "revoked).",
            self.Kind.PERMISSION_MISSING: "The access token lacks a permission the stream needs"
            f"{': ' + self.detail if self.detail else ''}.",
            self.Kind.APP_UNSUBSCRIBED: "The WhatsApp Business Account is no longer subscribed "
            "to your Meta app, so Meta sends this stream no incoming messages or statuses.",
            self.Kind.CALLBACK_ELSEWHERE: "Meta sends the webhooks of "
            f"{self.detail or 'a sender'} to another URL than this stream's callback URL.",
        }[self.kind]

    @property
    def fix(self) -> str:
        """How to fix it."""
        return {
            self.Kind.TOKEN_REJECTED: "Paste a new permanent token under Update token on the "
            "WhatsApp tab.",
            self.Kind.PERMISSION_MISSING: "In Meta Business Settings > System users, give the "
            "token's system user whatsapp_business_messaging and whatsapp_business_management "
            "for your app, generate a new token, paste it under Update token, then Check now.",
            self.Kind.APP_UNSUBSCRIBED: "An admin presses Register with Meta on the WhatsApp "
            "tab, then Check now.",
            self.Kind.CALLBACK_ELSEWHERE: "Remove the other callback URL in your Meta app's "
            "WhatsApp > Configuration (or on the number), then press Register with Meta and Check "
            "now on the WhatsApp tab.",
        }[self.kind]


class Template(models.Model):
    """A message template of the Business Account, as the Cloud API last listed it."""

    whatsapp_account = models.ForeignKey(
        WhatsAppAccount, on_delete=models.CASCADE, related_name="templates"
    )
    template_id = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=15)
    category = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, blank=True)
    components = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["whatsapp_account", "name", "language"], name="template_unique_per_account"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.language})"

    @property
    def is_approved(self) -> bool:
        return self.status == "APPROVED"

    @property
    def body_text(self) -> str:
        body = next((c for c in self.components if c.get("type") == "BODY"), {})
        return body.get("text", "")

    @property
    def variable_count(self) -> int:
        """How many body variables ({{1}}, {{2}}, …) a message with this template must fill."""
        return len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", self.body_text)))


class Message(models.Model):
    """One WhatsApp message sent or received on a stream; the history outlives the stream."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        QUEUED = IN_FLIGHT_STATUS, "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        SENT_FAILED = "sent_failed", "Failed"
        REJECTED = "rejected", "Rejected"
        RECEIVED = "received", "Received"
        # At most once: its worker died during its call, which may or may not have reached
        # WhatsApp; it is not sent again.
        UNKNOWN = "unknown", "Unknown"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed with created_at and with status below; an index of its own would only slow inserts.
    stream = models.ForeignKey(
        Stream, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    # The send API request that accepted the message (its ``task_id``).
    batch_id = models.UUIDField(null=True, blank=True)
    internal_id = models.CharField(max_length=100, blank=True)
    sender_number = models.CharField(max_length=32)
    # Meta's id of the sending number, which the Cloud API addresses messages from.
    phone_number_id = models.CharField(max_length=32, blank=True)
    contact_number = models.CharField(max_length=32)
    type = models.CharField(max_length=20)
    # Outbound: the message in the send API's form; inbound: as normalised from Meta's.
    payload = models.JSONField(default=dict)
    reply_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        db_index=False,
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    # WhatsApp's id of the message. Unique for outbound messages (statuses find them by it);
    # inbound ones are deduplicated on ``event_key`` instead, since a reaction and its removal
    # can carry the same id. Both are NULL, not "", where absent, so uniqueness ignores them.
    wamid = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    event_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    contact_name = models.CharField(max_length=200, blank=True)
    # The business-scoped user id Meta sends when a user hides their phone number.
    contact_user_id = models.CharField(max_length=100, blank=True)
    # Meta's code, or TextPeak's own for a file it fetched (MEDIA_TYPE_NOT_ALLOWED …).
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    # What the account is billed for the message, as Meta's latest status carrying them said
    # (``whatsapp.inbound.statuses``): empty until one does, and for incoming messages.
    pricing_billable = models.BooleanField(null=True, blank=True)
    pricing_category = models.CharField(max_length=40, blank=True)
    pricing_model = models.CharField(max_length=40, blank=True)
    pricing_type = models.CharField(max_length=40, blank=True)
    conversation_id = models.CharField(max_length=128, blank=True)
    conversation_origin = models.CharField(max_length=40, blank=True)
    conversation_expires_at = models.DateTimeField(null=True, blank=True)
    # Sending: a queued message is due at ``next_attempt_at``; a worker that claims it holds it
    # until ``claimed_until``, after which the sweeper may hand it to another worker.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_id = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Accepted on a stream that sends at most once: a claim that ran out is never taken again.
    send_once = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["stream", "-created_at"]),
            models.Index(fields=["stream", "status"]),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=IN_FLIGHT_STATUS),
                name="message_due_idx",
            ),
            # What else is due on a stream, for the task that claims it (whatsapp.outbox.send).
            models.Index(
                fields=["stream", "next_attempt_at"],
                condition=Q(status=IN_FLIGHT_STATUS),
                name="message_stream_due_idx",
            ),
            # The indexes below leave out the rows where the column is empty, which is most
            # of them when the send API inserts a message: inserting costs fewer index writes.
            models.Index(
                fields=["wamid"], condition=Q(wamid__isnull=False), name="message_wamid_idx"
            ),
            models.Index(
                fields=["claim_id"], condition=Q(claim_id__isnull=False), name="message_claim_idx"
            ),
            models.Index(
                fields=["reply_to"],
                condition=Q(reply_to__isnull=False),
                name="message_reply_to_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "internal_id"],
                condition=~Q(internal_id=""),
                name="message_internal_id_unique_per_stream",
            ),
            models.UniqueConstraint(
                fields=["wamid"],
                condition=Q(direction="outbound", wamid__isnull=False),
                name="message_outbound_wamid_unique",
            ),
            models.UniqueConstraint(
                fields=["event_key"],
                condition=Q(event_key__isnull=False),
                name="message_event_key_unique",
            ),
        ]

    def __str__(self):
        return str(self.uuid)

    @property
    def pricing(self) -> dict | None:
        """Meta's pricing of the message as the status API and events give it; None until a
        status reported one."""
        if self.pricing_billable is None and not self.pricing_category and not self.pricing_model:
            return None
        return {
            "billable": self.pricing_billable,
            "category": self.pricing_category or None,
            "model": self.pricing_model or None,
        }


class MessageEvent(models.Model):
    """One step of a message's history: accepted, sent, delivered, read, failed, a retry."""

    # Indexed with occurred_at below.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    status = models.CharField(max_length=12, choices=Message.Status.choices)
    # When it happened (Meta's timestamp for statuses it reports), not when it was stored.
    occurred_at = models.DateTimeField(default=timezone.now)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["message", "occurred_at"])]

    def __str__(self):
        return f"{self.message_id} {self.status}"


class PendingStatus(models.Model):
    """A status Meta reported for a wamid not recorded yet (the worker that sent the message
    has not written its outcome): kept with the stream whose callback received it, and applied
    when the message's wamid appears among that stream's (``whatsapp.inbound.statuses``)."""

    # Indexed with id below: a stream's oldest are found, and dropped, by it.
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="+", db_index=False)
    wamid = models.CharField(max_length=200, db_index=True)
    status = models.CharField(max_length=12, choices=Message.Status.choices)
    occurred_at = models.DateTimeField()
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    # The status's ``Pricing`` and ``Conversation`` (``whatsapp.inbound.parse``) as JSON.
    pricing = models.JSONField(null=True, blank=True)
    conversation = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "pending statuses"
        indexes = [
            models.Index(fields=["stream", "id"], name="pending_status_stream_idx"),
            models.Index(fields=["received_at"], name="pending_status_received_idx"),
        ]

    def __str__(self):
        return f"{self.wamid} {self.status}"


class InboundPayload(models.Model):
    """A POST to a stream's Meta callback as it arrived: kept (signature checked, shape
    parsed) before the callback answers 200, then stored as messages and statuses by a worker
    and deleted. One that failed ``MAX_ATTEMPTS`` times stays, for support to look at."""

    MAX_ATTEMPTS = 5

    # Rows live seconds; the index that matters is the sweeper's, on received_at.
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="+", db_index=False)
    body = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["received_at"], name="inbound_payload_received_idx")]

    def __str__(self):
        return f"{self.stream_id} {self.received_at:%Y-%m-%d %H:%M:%S}"


class MessageDailyCount(models.Model):
    """How many of a stream's messages of one day, direction, status and pricing category the
    retention purge deleted (``whatsapp.retention``): counted in the transaction that deletes
    them, so that the Info tab's all-time figures and daily charts still count every message."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    direction = models.CharField(max_length=10, choices=Message.Direction.choices)
    status = models.CharField(max_length=12, choices=Message.Status.choices)
    pricing_category = models.CharField(max_length=40, blank=True, default="")
    messages = models.PositiveIntegerField()

    class Meta:
        constraints = [
            # Also the index of a stream's counts.
            models.UniqueConstraint(
                fields=["stream", "day", "direction", "status", "pricing_category"],
                name="message_daily_count_unique",
            )
        ]

    def __str__(self):
        return (
            f"{self.stream_id} {self.day} {self.direction} {self.status} "
            f"{self.pricing_category}: {self.messages}"
        )


class ContentPurge(models.Model):
    """How far the retention purge has blanked a stream's message contents: those of every
    message created before ``blanked_before``, but a message still queued then."""

    stream = models.OneToOneField(Stream, on_delete=models.CASCADE, related_name="+")
    blanked_before = models.DateTimeField()

    def __str__(self):
        return f"{self.stream_id} before {self.blanked_before:%Y-%m-%d %H:%M}"


class ServiceWindow(models.Model):
    """When a contact last wrote to a stream, which opens WhatsApp's 24-hour customer service
    window (``whatsapp.service_window``): one row a contact, moved forward by each message."""

    # Also the index of a stream's contacts, by the constraint below.
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact_number = models.CharField(max_length=32)
    last_inbound_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "contact_number"], name="service_window_unique"
            )
        ]

    def __str__(self):
        return f"{self.stream_id} {self.contact_number}"


class ReadReceipt(models.Model):
    """A request to mark an incoming message as read at WhatsApp (its two blue ticks), and
    maybe to show the typing indicator: a row first, sent by a worker in a slot of the sender's
    rate limit like a message (``whatsapp.outbox.read``).

    A row of its own rather than fields on ``Message``: it is claimed, retried and swept with
    the outbox's helpers (``textpeak.lib.outbox``), whose fields the send outbox already uses
    on messages, and only the few messages a client marks read carry it. One a message."""

    class Status(models.TextChoices):
        QUEUED = IN_FLIGHT_STATUS, "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="read_receipt")
    # Show the typing indicator too (WhatsApp dismisses it after 25 s, or at the next message).
    typing = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_id = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=IN_FLIGHT_STATUS),
                name="read_receipt_due_idx",
            ),
            models.Index(
                fields=["claim_id"],
                condition=Q(claim_id__isnull=False),
                name="read_receipt_claim_idx",
            ),
        ]

    def __str__(self):
        return f"{self.message_id} {self.status}"
