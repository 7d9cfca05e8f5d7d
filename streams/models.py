import operator
import uuid
from functools import reduce

from django.db import models
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from streams import networks, types
from textpeak.accounts.models import Account

MAX_TAGS = 20
TAG_MAX_LENGTH = 50
MAX_NETWORKS = 100


class Tag(models.Model):
    """A label an account puts on its streams to find them again."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=TAG_MAX_LENGTH)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("account", Lower("name"), name="tag_name_unique_per_account")
        ]

    def __str__(self):
        return self.name


class StreamQuerySet(models.QuerySet):
    def for_account(self, account: Account):
        """The account's streams that still exist; deleted ones keep their history, unseen."""
        return self.filter(account=account, deleted_at__isnull=True)

    def with_sending(self):
        """Annotate ``is_sending``: the stream has messages queued or in flight (each type
        says which of its messages are)."""
        in_flight = [
            Exists(messages)
            for stream_type in types.all_types()
            if (messages := stream_type.messages_in_flight(OuterRef("pk"))) is not None
        ]
        return self.annotate(
            is_sending=reduce(operator.or_, in_flight) if in_flight else Value(False)
        )

    def with_attention(self):
        """Annotate ``needs_attention``: the stream has a problem its type says a person must
        fix."""
        problems = [
            Exists(found)
            for stream_type in types.all_types()
            if (found := stream_type.problems(OuterRef("pk"))) is not None
        ]
        return self.annotate(
            needs_attention=reduce(operator.or_, problems) if problems else Value(False)
        )


class Stream(models.Model):
    """A named channel with its own token that a customer's applications send through."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"
        DISABLED = "disabled", "Disabled"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="streams")
    type = models.CharField(max_length=30)
    name = models.CharField("Stream API name", max_length=100)
    description = models.TextField("Stream API description", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    is_demo = models.BooleanField("Demo Sending", default=False)
    ip_acl_enabled = models.BooleanField("Enable IP ACL", default=False)
    # Normalised networks ("203.0.113.7/32", "2001:db8::/48"); only used when the ACL is on.
    allowed_networks = models.JSONField(
        default=list, blank=True, validators=[networks.validate_stored]
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="streams")
    # How many of the type's setup steps have been saved with Save & Next; Continue opens the next.
    setup_progress = models.PositiveSmallIntegerField(default=0)
    # Only a keyed hash of the token is kept (see streams.tokens); the prefix lets people tell
    # tokens apart. Drafts and deleted streams have no token.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    token_prefix = models.CharField(max_length=12, blank=True, editable=False)
    # The token a Regenerate replaced, when it was asked to keep working for a while: it is
    # accepted until old_token_expires_at. Indexed (unique) like token_hash, for the API's one
    # lookup of either.
    old_token_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    old_token_prefix = models.CharField(max_length=12, blank=True, editable=False)
    old_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Deleting hides the stream and revokes its token; its message history stays.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = StreamQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self):
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def old_token_works(self) -> bool:
        """Whether the token a Regenerate replaced is still accepted."""
        return bool(
            self.old_token_hash
            and self.old_token_expires_at
            and self.old_token_expires_at > timezone.now()
        )

    @property
    def allowed_ips(self) -> list[str]:
        return [networks.display(network) for network in self.allowed_networks]

    @property
    def display_status(self) -> str:
        """The status people see: a Ready stream with messages in flight shows as Sending."""
        is_sending = getattr(self, "is_sending", None)
        if is_sending is None:
            stream_type = types.find(self.type)
            in_flight = stream_type.messages_in_flight(self) if stream_type else None
            is_sending = in_flight is not None and in_flight.exists()
        if self.status == self.Status.READY and is_sending:
            return "sending"
        return self.status

    @property
    def has_problems(self) -> bool:
        """Whether the stream Needs attention (``needs_attention`` when annotated)."""
        annotated = getattr(self, "needs_attention", None)
        if annotated is not None:
            return annotated
        stream_type = types.find(self.type)
        found = stream_type.problems(self) if stream_type else None
        return found is not None and found.exists()

    @property
    def display_status_label(self) -> str:
        return STATUS_LABELS[self.display_status]

    @property
    def continue_url(self) -> str:
        """The first setup step not yet saved with Save & Next (Continue on a draft); none for
        a type no longer registered."""
        stream_type = types.find(self.type)
        if stream_type is None:
            return ""
        steps = stream_type.setup_steps()
        step = steps[min(self.setup_progress, len(steps) - 1)]
        return reverse("streams:setup", args=[self.uid, step.slug])

    @property
    def type_label(self) -> str:
        stream_type = types.find(self.type)
        return stream_type.name if stream_type else self.type


STATUS_LABELS = {
    "ready": "Ready",
    "sending": "Sending",
    "draft": "Draft",
    "disabled": "Disabled",
}
