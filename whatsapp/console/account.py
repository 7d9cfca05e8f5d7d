"""What the WhatsApp pages share: a stream's account, its catalogue refreshed, the summary shown."""

from streams.models import Stream
from webhooks.services import webhook_preview
from whatsapp import services
from whatsapp.api.examples import api_examples
from whatsapp.graph.errors import GraphError
from whatsapp.models import WhatsAppAccount


def account_of(stream: Stream) -> WhatsAppAccount | None:
    return WhatsAppAccount.objects.filter(stream=stream).first()


def account_refresh_error(account: WhatsAppAccount) -> str:
    """Check the account with WhatsApp and cache its senders and templates; '' or the error."""
    try:
        services.whatsapp_account_refresh(account=account)
    except GraphError as error:
        return services.describe_error(error, business_id=account.business_id)
    return ""


def settings_replace_error(
    account: WhatsAppAccount, *, business_id: str, access_token: str = "", app_secret: str = ""
) -> str:
    """Replace a working account's settings if WhatsApp accepts them; '' or what went wrong."""
    try:
        services.whatsapp_settings_replace(
            account=account,
            business_id=business_id,
            access_token=access_token,
            app_secret=app_secret,
        )
    except GraphError as error:
        return services.describe_error(error, business_id=business_id)
    return ""


def summary_context(stream: Stream) -> dict:
    account = account_of(stream)
    return {
        "account": account,
        "senders": account.senders.all() if account else [],
        "templates": account.templates.all() if account else [],
        "webhook": webhook_preview(stream=stream),
        "examples": api_examples(stream),
    }
