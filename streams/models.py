import ipaddress
import uuid

from django.db import models
from django.db.models.functions import Lower

from streams import types
from textpeak.accounts.models import Account


class Tag(models.Model):
    """A label an account puts on its streams to find them again."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("account", Lower("name"), name="tag_name_unique_per_account")
        ]

    def __str__(self):
        return self.name


class StreamQuerySet(models.QuerySet):
    def for_account(self, account: Account):
        return self.filter(account=account)


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
    allowed_networks = models.JSONField(default=list, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="streams")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StreamQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self):
        return self.name

    @property
    def allowed_ips(self) -> list[str]:
        """The ACL's networks as people write them: a single address without its /32 or /128."""
        networks = [ipaddress.ip_network(network) for network in self.allowed_networks]
        return [
            str(net.network_address) if net.num_addresses == 1 else str(net) for net in networks
        ]

    @property
    def type_label(self) -> str:
        stream_type = types.find(self.type)
        return stream_type.name if stream_type else self.type
