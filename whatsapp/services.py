"""Writes for a stream's WhatsApp account. The network step is ``graph_for``'s object."""

import hmac
import logging
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from streams.models import Stream
from whatsapp import problems
from whatsapp.graph.client import BusinessAccount, CloudAPIClient, MessageTemplate, PhoneNumber
from whatsapp.graph.errors import (
    AuthError,
    GraphError,
    InvalidParameter,
    PermissionDenied,
    RateLimited,
    TemporaryError,
)
from whatsapp.graph.pick import graph_for
from whatsapp.models import Sender, Template, WhatsAppAccount, new_callback_key

logger = logging.getLogger(__name__)


def describe_error(error: GraphError, *, business_id: str) -> str:
    """What went wrong, in words a person can act on."""
    if not business_id:
        return "Enter the WhatsApp Business ID in WhatsApp Settings first."
    if isinstance(error, AuthError):
        return (
            f"Meta refused the token: “{error.message}”. Paste a valid permanent token of a "
            "system user."
        )
    if isinstance(error, InvalidParameter | PermissionDenied):
        return (
            f"{business_id} is not a WhatsApp Business Account ID, or this token cannot see it. "
            "Check the ID in WhatsApp Manager and that the token's system user has access to "
            "the account."
        )
    if isinstance(error, RateLimited):
        return "WhatsApp is limiting requests for this account. Try again in a few minutes."
    if isinstance(error, TemporaryError):
        return "WhatsApp could not be reached. Try again in a moment; what you typed is kept."
    return f"WhatsApp answered unexpectedly: “{error.message}”. Try again in a moment."


def callback_path(account: WhatsAppAccount) -> str:
    """The path of the stream's Meta callback URL: the one place it is made."""
    return reverse("whatsapp:callback", args=[account.callback_key])


def callback_url(account: WhatsAppAccount) -> str:
    """The stream's Meta callback URL, as registered with Meta and shown on the WhatsApp tab."""
    return settings.SITE_URL + callback_path(account)


def whatsapp_settings_save(
    *, stream: Stream, business_id: str = "", access_token: str = "", app_secret: str = ""
) -> WhatsAppAccount:
    """Save what was typed on the WhatsApp Settings step; blank secrets keep the saved ones."""
    account, _ = WhatsAppAccount.objects.get_or_create(stream=stream)
    if business_id != account.business_id:
        account.business_id = business_id
        account.verified_at = None
    if access_token:
        account.set_access_token(access_token)
    if app_secret:
        account.set_app_secret(app_secret)
    account.save()
    return account


@dataclass(frozen=True)
class _Catalogue:
    business: BusinessAccount
    numbers: list[PhoneNumber]
    templates: list[MessageTemplate]


def _fetch(graph, business_id: str) -> _Catalogue:
    if not business_id:
        raise InvalidParameter("No WhatsApp Business ID is saved.")
    return _Catalogue(
        business=graph.business_account(business_id),
        numbers=graph.phone_numbers(business_id),
        templates=graph.message_templates(business_id),
    )


def _store(account: WhatsAppAccount, catalogue: _Catalogue) -> None:
    """Cache what WhatsApp answered; the caller holds the transaction."""
    now = timezone.now()
    account.business_name = catalogue.business.name
    account.verified_at = account.refreshed_at = now
    account.token_rejected_at = None
    account.save()
    problems.token_accepted(account=account)
    numbers = catalogue.numbers
    account.senders.exclude(phone_number_id__in=[n.id for n in numbers]).delete()
    for number in numbers:
        Sender.objects.update_or_create(
            whatsapp_account=account,
            phone_number_id=number.id,
            defaults={
                "display_phone_number": number.display_phone_number,
                "verified_name": number.verified_name,
                "quality_rating": number.quality_rating,
                "throughput": number.throughput,
            },
        )
    # Templates WhatsApp no longer lists are dropped in one statement.
    listed = Q(pk__in=[])
    for template in catalogue.templates:
        listed |= Q(name=template.name, language=template.language)
    account.templates.exclude(listed).delete()
    for template in catalogue.templates:
        Template.objects.update_or_create(
            whatsapp_account=account,
            name=template.name,
            language=template.language,
            defaults={
                "template_id": template.id,
                "category": template.category,
                "status": template.status,
                "components": template.components,
            },
        )


def whatsapp_account_refresh(*, account: WhatsAppAccount) -> None:
    """Check the account with the Cloud API and cache its senders and templates.

    Raises ``GraphError`` with nothing cached changed; a token Meta refuses is flagged.
    """
    try:
        catalogue = _fetch(graph_for(account), account.business_id)
    except AuthError:
        problems.tokens_rejected(account_ids=[account.pk], at=timezone.now())
        raise
    with transaction.atomic():
        _store(account, catalogue)


def whatsapp_account_register_callback(*, account: WhatsAppAccount) -> None:
    """Ask Meta to send this account's webhooks to the stream's callback URL.

    A failure is recorded for the WhatsApp tab (the user can set the URL in Meta's dashboard
    or try again), not raised: the stream works for sending either way.
    """
    try:
        graph_for(account).subscribe_app(
            account.business_id,
            callback_url=callback_url(account),
            verify_token=account.verify_token,
        )
    except GraphError as error:
        logger.warning(
            "Registering the callback of stream %s failed: %s", account.stream.uid, error
        )
        account.callback_registered_at = None
        account.callback_error = describe_error(error, business_id=account.business_id)
    else:
        account.callback_registered_at = timezone.now()
        account.callback_error = ""
    account.save(update_fields=["callback_registered_at", "callback_error"])


def whatsapp_account_rotate_callback_key(*, account: WhatsAppAccount) -> None:
    """A new secret path for the stream's Meta callback URL, registered with Meta where the
    token allows (as Create Stream does; a failure is shown on the WhatsApp tab). The old URL
    answers 404 at once in a new process, and within ``API_CACHE_SECONDS`` in one that
    recently served it."""
    account.callback_key = new_callback_key()
    # Saved (committed) before Meta is told: Meta verifies the new URL while it registers it.
    account.save(update_fields=["callback_key"])
    if not account.stream.is_draft:
        whatsapp_account_register_callback(account=account)


def whatsapp_settings_replace(
    *, account: WhatsAppAccount, business_id: str, access_token: str = "", app_secret: str = ""
) -> None:
    """Change a working account's settings only if WhatsApp accepts them; raises the
    ``GraphError`` of the check otherwise. The stream keeps sending with the old ones until the
    new ones are proven, so a typo cannot break it (Update token, and Edit of a stream in use)."""
    catalogue = _fetch(CloudAPIClient(access_token or account.access_token()), business_id)
    with transaction.atomic():
        account = whatsapp_settings_save(
            stream=account.stream,
            business_id=business_id,
            access_token=access_token,
            app_secret=app_secret,
        )
        _store(account, catalogue)


def demo_replies_set(*, account: WhatsAppAccount, enabled: bool) -> None:
    account.demo_replies = enabled
    account.save(update_fields=["demo_replies"])


def delivery_guarantee_set(*, account: WhatsAppAccount, guarantee: str) -> None:
    """What becomes of the calls in flight when a worker dies, for the messages the stream
    accepts from now on (each process's send API sees it within ``API_CACHE_SECONDS``)."""
    account.delivery_guarantee = guarantee
    account.save(update_fields=["delivery_guarantee"])


def service_window_check_set(*, account: WhatsAppAccount, enabled: bool) -> None:
    """Whether the send API refuses free-form messages to contacts whose service window is
    closed (each process's send API sees it within ``API_CACHE_SECONDS``)."""
    account.service_window_check = enabled
    account.save(update_fields=["service_window_check"])


def sender_rate_set(*, sender: Sender, messages_per_second: int) -> None:
    sender.messages_per_second = messages_per_second
    sender.save(update_fields=["messages_per_second"])


def whatsapp_account_forget(*, stream: Stream) -> None:
    """A deleted stream's Meta token and app secret are wiped; what it sent stays."""
    WhatsAppAccount.objects.filter(stream=stream).update(
        access_token_encrypted="",
        access_token_last4="",
        app_secret_encrypted="",
        app_secret_last4="",
    )


def verify_token_matches(*, account: WhatsAppAccount, token: str) -> bool:
    return hmac.compare_digest(account.verify_token.encode(), token.encode())


@shared_task(name="whatsapp.tasks.refresh_catalogues")
def refresh_catalogues() -> None:
    """Beat, hourly: refresh every working stream's senders and templates from the Cloud API.

    Meta does not send template review events to per-account callback overrides, so this is
    how a paused or newly approved template reaches the send API. One stream's failure is
    logged and does not stop the others.
    """
    accounts = WhatsAppAccount.objects.filter(
        stream__deleted_at__isnull=True,
        stream__status__in=[Stream.Status.READY, Stream.Status.DISABLED],
        # A token Meta refused stays refused until the user replaces it.
        token_rejected_at__isnull=True,
    ).select_related("stream")
    for account in accounts.iterator():
        try:
            whatsapp_account_refresh(account=account)
        except GraphError as error:
            logger.warning("Refreshing stream %s failed: %s", account.stream.uid, error)
        except Exception:
            logger.exception("Refreshing stream %s failed unexpectedly", account.stream.uid)
