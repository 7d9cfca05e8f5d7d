import unicodedata

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower


def normalise_email(email: str) -> str:
    """An e-mail address as logins compare it: the same person whatever its case or surrounding
    spaces (NFKC as Django's login form applies it)."""
    return unicodedata.normalize("NFKC", email).strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalise_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=normalise_email(email))


class User(AbstractUser):
    """A person who logs in with an e-mail address instead of a user name."""

    username = None
    first_name = None
    last_name = None
    full_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Account(models.Model):
    """A customer of TextPeak: the tenant that owns streams and everything under them."""

    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


# The Info tab counts a stream's messages of today and the last 7 days from the messages
# themselves: none of them may be purged yet.
MESSAGE_MIN_DAYS = 8


def _days(label: str, help_text: str, minimum: int = 1):
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=[MinValueValidator(minimum)], help_text=help_text
    )


class AccountRetention(models.Model):
    """How long an account's rows are kept where support set it otherwise: an empty period
    follows its setting (README, Retention; ``textpeak.accounts.retention``)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="retention")
    content_days = _days(
        "message contents (days)",
        "Then a message's text, media and template values are blanked. "
        "Empty: RETENTION_CONTENT_DAYS.",
    )
    payload_days = _days(
        "Meta payloads (days)",
        "A Meta webhook body that failed every attempt to be stored is kept this long for "
        "support. Empty: RETENTION_PAYLOAD_DAYS.",
    )
    delivery_days = _days(
        "webhook deliveries (days)",
        "A delivery to the customer's webhook, its body and its attempts. "
        "Empty: RETENTION_DELIVERY_DAYS.",
    )
    message_days = _days(
        "messages (days)",
        f"A message's metadata and status history; then it is deleted, counted first in its "
        f"stream's daily totals. At least {MESSAGE_MIN_DAYS}. Empty: RETENTION_MESSAGE_DAYS.",
        MESSAGE_MIN_DAYS,
    )

    class Meta:
        verbose_name = "retention override"

    def __str__(self):
        return f"Retention of {self.account}"


class Member(models.Model):
    """A user's place in an account. A user belongs to at most one account."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user} in {self.account}"

    @property
    def is_admin(self) -> bool:
        """Admins change the account (its streams, their settings, its members); the other
        members only look. ``textpeak.accounts.access`` enforces it."""
        return self.role == self.Role.ADMIN

    @property
    def has_joined(self) -> bool:
        """An invited member has joined once they have set a password."""
        return self.user.has_usable_password()


class Feature(models.TextChoices):
    """Beta features behind the gate in ``textpeak.accounts.beta``."""

    WHATSAPP_STREAMS = "whatsapp_streams", "WhatsApp streams"


class BetaAccessRequest(models.Model):
    """An account asking to use a beta feature; support staff approve or reject it, and may
    revoke an approval later."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        REVOKED = "revoked", "Revoked"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="beta_requests")
    feature = models.CharField(max_length=50, choices=Feature.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, help_text="Shown to the account when rejected or revoked.")
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # An approval withdrawn by support; the approver stays in ``reviewed_by``.
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set once the requester has been told of the decision (a revocation clears it again);
    # the sweeper retries until then.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "beta access request"
        constraints = [
            # A pending or approved request is "open": an account has at most one per feature.
            models.UniqueConstraint(
                fields=["account", "feature"],
                condition=models.Q(status__in=["pending", "approved"]),
                name="one_open_beta_request_per_feature",
            )
        ]
        indexes = [models.Index(fields=["account", "feature", "-created_at"])]

    def __str__(self):
        return f"{self.account} → {self.get_feature_display()} ({self.get_status_display()})"
