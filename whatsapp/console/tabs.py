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
from whatsapp.console.forms import (
    DeliveryGuaranteeForm,
    SenderRateForm,
    ServiceWindowCheckForm,
    UpdateTokenForm,
)
from whatsapp.models import WhatsAppAccount

TAB = "whatsapp"


def whatsapp_tab(request, panel: Panel):
    """WhatsApp: the Business Account, senders, templates, Refresh, Update token, callback."""
    account = account_of(panel.stream)
    token_form = error = None
    action = _action(request, panel.stream) if account is not None else None
    if action is not None:
        error, token_form = action(request, account)
        if not error and not (token_form and token_form.errors) and not panel.in_drawer:
            return redirect(panel.current_url)
    return whatsapp_tab_render(panel, account, token_form=token_form, error=error or "")


def _action(request, stream):
    """The action of the button pressed, which names itself in the POST; Update token is the
    form's own submit. Each returns the error to show ('' for none) and the token form."""
    if request.method != "POST":
        return None
    if "refresh" in request.POST:
        return _refresh
    if "register_callback" in request.POST:
        return _register_callback
    if "demo_replies" in request.POST and stream.is_demo:
        return _demo_replies_set
    if "sender_rate" in request.POST:
        return _sender_rate_set
    if "guarantee" in request.POST:
        return _delivery_guarantee_set
    if "service_window_check" in request.POST:
        return _service_window_check_set
    return None if stream.is_demo else _token_update


def _refresh(request, account: WhatsAppAccount):
    error = account_refresh_error(account)
    if not error:
        messages.success(request, "Senders and templates refreshed from WhatsApp.")
    return error, None


def _register_callback(request, account: WhatsAppAccount):
    services.whatsapp_account_register_callback(account=account)
    return "", None


def _demo_replies_set(request, account: WhatsAppAccount):
    services.demo_replies_set(account=account, enabled=request.POST["demo_replies"] == "on")
    messages.success(request, "Saved.")
    return "", None


def _sender_rate_set(request, account: WhatsAppAccount):
    rate_form = SenderRateForm(request.POST, account=account)
    if not rate_form.is_valid():
        errors = rate_form.errors.get("messages_per_second", [])
        return " ".join(errors) or "That sender is not one of this stream's.", None
    services.sender_rate_set(**rate_form.cleaned_data)
    messages.success(request, "Sending rate saved.")
    return "", None


def _delivery_guarantee_set(request, account: WhatsAppAccount):
    form = DeliveryGuaranteeForm(request.POST)
    if not form.is_valid():
        return "Choose what happens to a send in doubt.", None
    services.delivery_guarantee_set(account=account, guarantee=form.cleaned_data["guarantee"])
    messages.success(request, "Saved: it applies to the messages accepted from now on.")
    return "", None


def _service_window_check_set(request, account: WhatsAppAccount):
    form = ServiceWindowCheckForm(request.POST)
    if not form.is_valid():
        return "Choose what happens to a message outside the service window.", None
    services.service_window_check_set(
        account=account, enabled=form.cleaned_data["service_window_check"]
    )
    messages.success(request, "Saved: the send API applies it from now on.")
    return "", None


def _token_update(request, account: WhatsAppAccount):
    token_form = UpdateTokenForm(request.POST)
    if not token_form.is_valid():
        return "", token_form
    error = settings_replace_error(
        account,
        business_id=account.business_id,
        access_token=token_form.cleaned_data["access_token"],
    )
    if error:
        return error, token_form
    messages.success(request, "Token updated and checked with WhatsApp.")
    return "", None


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
        "guarantee_form": DeliveryGuaranteeForm(
            initial={"guarantee": account.delivery_guarantee if account else None}
        ),
        "window_form": ServiceWindowCheckForm(
            initial={
                "service_window_check": "on" if account and account.service_window_check else "off"
            }
        ),
        # Members see each sender's rate; admins change it in place.
        "rate_form_action": panel.current_url if panel.request.member.is_admin else "",
    }
    return panel.render("whatsapp/tab_whatsapp.html", context)


def api_tab(request, panel: Panel):
    """Request API: copyable send API calls for this stream."""
    return panel.render("whatsapp/tab_api.html", summary_context(panel.stream))
