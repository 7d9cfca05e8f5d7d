"""The credentials check of a real stream: does Meta still take its token, with the permissions
sending needs, is its WhatsApp Business Account still subscribed to the token's app, and does
Meta send each sender's webhooks to this stream's callback URL?

Run daily by beat, one task a stream, and from the WhatsApp tab's Check now button (in the
request: a handful of reads with a short timeout, so the person sees the answer at once).
What it finds is recorded by ``whatsapp.problems``. Demo streams have nothing at Meta to check.
"""

import logging

from celery import shared_task

from streams.models import Stream
from textpeak.lib.tasks import enqueue_on_commit
from whatsapp import problems
from whatsapp.graph.client import CloudAPIClient
from whatsapp.graph.errors import AuthError, GraphError, PermissionDenied
from whatsapp.models import WhatsAppAccount
from whatsapp.services import callback_url

logger = logging.getLogger(__name__)

Kind = problems.Kind

# Each of the check's calls; a person waits for them on Check now.
CHECK_TIMEOUT = 5.0

# Sending needs the first; reading the account, its numbers and subscriptions the second.
REQUIRED_PERMISSIONS = ("whatsapp_business_messaging", "whatsapp_business_management")


def checked_accounts():
    """The accounts the daily check covers: real streams that are set up and not deleted."""
    return WhatsAppAccount.objects.filter(
        stream__deleted_at__isnull=True,
        stream__is_demo=False,
        stream__status__in=[Stream.Status.READY, Stream.Status.DISABLED],
    ).exclude(business_id="")


def credentials_check(*, account: WhatsAppAccount) -> None:
    """Ask Meta and record what is wrong and what no longer is. Raises the ``GraphError`` of a
    call Meta did not answer (unreachable, throttled …), with nothing recorded."""
    checked, found = _inspect(account)
    problems.problems_record(account=account, checked=checked, found=found)


def _inspect(account: WhatsAppAccount) -> tuple[set[str], dict[str, str]]:
    """The kinds the check could decide, and the problems among them (kind → detail)."""
    graph = CloudAPIClient(account.access_token(), timeout=CHECK_TIMEOUT)
    checked: set[str] = set()
    found: dict[str, str] = {}
    try:
        granted = graph.granted_permissions()
        checked |= {Kind.TOKEN_REJECTED, Kind.PERMISSION_MISSING}
        missing = [name for name in REQUIRED_PERMISSIONS if name not in granted]
        if missing:
            found[Kind.PERMISSION_MISSING] = ", ".join(missing)
        subscribed = graph.app_id() in graph.subscribed_app_ids(account.business_id)
        checked.add(Kind.APP_UNSUBSCRIBED)
        if not subscribed:
            found[Kind.APP_UNSUBSCRIBED] = ""
        # Unsubscribed, Meta sends nothing anywhere: Register with Meta fixes both at once.
        ours = callback_url(account)
        elsewhere = [
            sender.display_phone_number
            for sender in account.senders.all()
            if subscribed and graph.webhook_configuration(sender.phone_number_id).in_force != ours
        ]
        checked.add(Kind.CALLBACK_ELSEWHERE)
        if elsewhere:
            found[Kind.CALLBACK_ELSEWHERE] = ", ".join(elsewhere)
    except AuthError:
        return {Kind.TOKEN_REJECTED}, {Kind.TOKEN_REJECTED: ""}
    except PermissionDenied:
        # The token may not read this account at all: what was checked before stands.
        checked.add(Kind.PERMISSION_MISSING)
        found.setdefault(
            Kind.PERMISSION_MISSING, f"access to WhatsApp Business Account {account.business_id}"
        )
    return checked, found


@shared_task(name="whatsapp.tasks.check_all_credentials")
def check_all_credentials() -> None:
    """Beat, daily: a check task for each real stream, and the e-mails of problems still
    untold enqueued again."""
    for account_id in checked_accounts().values_list("pk", flat=True).iterator():
        enqueue_on_commit(check_credentials, account_id)
    for problem_id in problems.problems_awaiting_notification():
        enqueue_on_commit(problems.notify_credential_problem, problem_id)


@shared_task(name="whatsapp.tasks.check_credentials", acks_late=True)
def check_credentials(account_id: int) -> None:
    """Check one stream's credentials. Idempotent (a check records what it sees; twice sees the
    same). Not retried: a check Meta did not answer waits for tomorrow's."""
    account = checked_accounts().select_related("stream").filter(pk=account_id).first()
    if account is None:
        return
    try:
        credentials_check(account=account)
    except GraphError as error:
        logger.warning(
            "Checking the credentials of stream %s failed: %s", account.stream.uid, error
        )
