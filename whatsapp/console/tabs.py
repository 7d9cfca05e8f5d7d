"""The side panel's WhatsApp and Request API tabs."""

from django.contrib import messages
from django.shortcuts import redirect

from streams.panel import Panel
from whatsapp import services
from whatsapp.console.account import (
    account_of,
    account_refresh_error,
    settings_replace_error,
    summary_context,
)
from whatsapp.console.forms import SenderRateForm, UpdateTokenForm
from whatsapp.models import WhatsAppAccount

TAB = "whatsapp"


def whatsapp_tab(request, panel: Panel):
    """WhatsApp: the Business Account, senders, templates, Refresh, Update token, callback."""
    stream = panel.stream
    account = account_of(stream)
    token_form = UpdateTokenForm()
    error = ""
    if request.method == "POST" and account is not None:
        if "refresh" in request.POST:
            error = account_refresh_error(account)
            if not error:
                messages.success(request, "Senders and templates refreshed from WhatsApp.")
        elif "register_callback" in request.POST:
            services.whatsapp_account_register_callback(account=account)
        elif "demo_replies" in request.POST and stream.is_demo:
            services.demo_replies_set(account=account, enabled=request.POST["demo_replies"] == "on")
            messages.success(request, "Saved.")
        elif "sender_rate" in request.POST:
            rate_form = SenderRateForm(request.POST, account=account)
            if rate_form.is_valid():
                services.sender_rate_set(**rate_form.cleaned_data)
                messages.success(request, "Sending rate saved.")
            else:
                error = " ".join(rate_form.errors.get("messages_per_second", [])) or (
                    "That sender is not one of this stream's."
                )
        elif not stream.is_demo:
            token_form = UpdateTokenForm(request.POST)
            if token_form.is_valid():
                error = settings_replace_error(
                    account,
                    business_id=account.business_id,
                    access_token=token_form.cleaned_data["access_token"],
                )
                if not error:
                    messages.success(request, "Token updated and checked with WhatsApp.")
                    token_form = UpdateTokenForm()
        if not error and not token_form.errors and not panel.in_drawer:
            return redirect(panel.current_url)
    return whatsapp_tab_render(panel, account, token_form=token_form, error=error)


def whatsapp_tab_render(
    panel: Panel,
    account: WhatsAppAccount | None,
    *,
    token_form: UpdateTokenForm | None = None,
    error: str = "",
):
    context = {
        **summary_context(panel.stream),
        "token_form": UpdateTokenForm() if token_form is None else token_form,
        "error": error,
        "callback_url": services.callback_url(account) if account else "",
        # Members see each sender's rate; admins change it in place.
        "rate_form_action": panel.current_url if panel.request.member.is_admin else "",
    }
    return panel.render("whatsapp/tab_whatsapp.html", context)


def api_tab(request, panel: Panel):
    """Request API: copyable send API calls for this stream."""
    return panel.render("whatsapp/tab_api.html", summary_context(panel.stream))
