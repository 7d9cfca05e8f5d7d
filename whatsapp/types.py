"""The WhatsApp stream type: every seam ``streams`` and ``webhooks`` reach this app through."""

from streams import types
from textpeak.accounts.models import Feature


@types.register
class WhatsAppStreamType(types.StreamType):
    slug = "whatsapp"
    name = "WhatsApp"
    description = (
        "Send template, media and reply messages through Meta's WhatsApp Cloud API, "
        "and receive your customers' replies on your webhook."
    )
    beta_feature = Feature.WHATSAPP_STREAMS
    # The send API, its status and media reads, and Meta's callbacks. The API's documentation,
    # under /api/ too, is a page for people and is not listed.
    machine_paths = (
        "/api/whatsapp/",
        "/api/messages_status/",
        "/api/media/",
        "/webhooks/whatsapp/",
    )

    def setup_steps(self):
        from streams.views import details_step
        from streams.wizard import Step
        from webhooks.views import webhook_step
        from whatsapp.console.wizard import summary_step, whatsapp_step

        return [
            Step("details", "Stream API Details", details_step),
            Step("whatsapp", "WhatsApp Settings", whatsapp_step),
            Step("webhook", "Incoming Messages Webhook", webhook_step, optional=True),
            Step("summary", "Stream Summary", summary_step),
        ]

    def panel_tabs(self):
        from streams.panel import Tab
        from streams.views import info_tab
        from webhooks.views import webhooks_tab
        from whatsapp.console.messages import messages_tab
        from whatsapp.console.tabs import api_tab, whatsapp_tab

        return [
            Tab("info", "Info", info_tab),
            Tab("messages", "Messages", messages_tab),
            Tab("whatsapp", "WhatsApp", whatsapp_tab),
            Tab("webhooks", "Webhooks", webhooks_tab),
            Tab("api", "Request API", api_tab),
        ]

    def banners(self, stream):
        from webhooks.selectors import disabled_endpoint
        from whatsapp.models import WhatsAppAccount

        banners = []
        account = WhatsAppAccount.objects.filter(stream=stream).first()
        # What is wrong and how to fix it are under Credential health on the WhatsApp tab.
        found = account.problems.count() if account else 0
        if found:
            banners.append(
                f"Needs attention: {found} problem{'s' if found > 1 else ''} with this stream's "
                "standing at Meta, explained under Credential health on the WhatsApp tab."
            )
        if account and not stream.is_demo and not stream.is_draft and not account.has_app_secret:
            banners.append(
                "Meta's webhooks to this stream are refused until its app secret is saved: "
                "incoming messages and delivery statuses are not received. Add it in WhatsApp "
                "Settings (Edit)."
            )
        endpoint = disabled_endpoint(stream=stream)
        if endpoint:
            when = endpoint.disabled_at.strftime("%-d %b %Y") if endpoint.disabled_at else ""
            banners.append(
                f"The Incoming Messages Webhook was disabled {'on ' + when + ' ' if when else ''}"
                "after days of failed deliveries. Fix your server, then Enable it on the "
                "Webhooks tab."
            )
        return banners

    def ready_problem(self, stream):
        from whatsapp.models import WhatsAppAccount

        account = WhatsAppAccount.objects.filter(stream=stream).first()
        if account and not stream.is_demo and not account.has_app_secret:
            return (
                "Enter the app secret in WhatsApp Settings before the stream is Ready: without "
                "it no webhook from Meta can be checked, so none would be taken."
            )
        return ""

    def problems(self, stream):
        from whatsapp.models import CredentialProblem

        return CredentialProblem.objects.filter(whatsapp_account__stream=stream)

    def messages_in_flight(self, stream):
        from whatsapp.selectors import messages_in_flight

        return messages_in_flight(stream=stream)

    def message_statistics(self, stream):
        from whatsapp.selectors import message_statistics

        return message_statistics(stream=stream)

    def message_charts(self, stream):
        from whatsapp.console.charts import message_charts

        return message_charts(stream)

    def message_export_url(self, stream):
        from django.urls import reverse

        return reverse("whatsapp_messages_export", args=[stream.uid])

    def sample_event(self, stream):
        from whatsapp.inbound.events import sample_message_event

        return sample_message_event(stream_uid=str(stream.uid))

    def release(self, stream):
        from whatsapp.outbox.sweep import messages_release

        messages_release(stream=stream)

    def forget(self, stream):
        from webhooks.services import webhook_delete
        from whatsapp.outbox.sweep import messages_reject_unsent
        from whatsapp.services import whatsapp_account_forget

        messages_reject_unsent(stream=stream)
        whatsapp_account_forget(stream=stream)
        webhook_delete(stream=stream)
