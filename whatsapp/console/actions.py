"""The WhatsApp actions outside the side panel's tabs: New callback URL, and the help page
for Meta's credentials."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import (
    require_GET,
    require_POST,
    require_safe,
)
from django_htmx.http import HttpResponseClientRedirect

from streams import types
from streams.panel import Panel
from streams.views import gated_stream
from textpeak.accounts.access import admin_required
from whatsapp import services
from whatsapp.console.tabs import TAB, whatsapp_tab_render
from whatsapp.models import WhatsAppAccount


def _own_account(request, uid) -> WhatsAppAccount:
    """The WhatsApp account of the member's own stream, or 404 (403 without the access)."""
    stream = gated_stream(request, uid)
    return get_object_or_404(WhatsAppAccount.objects.select_related("stream"), stream=stream)


@admin_required
@require_GET
def callback_key_rotate_confirm(request, uid):
    """The confirmation of New callback URL as its own page, for browsers without JavaScript
    (with it, the WhatsApp tab opens the same form as a pop-up)."""
    account = _own_account(request, uid)
    context = {"stream": account.stream, "account": account}
    return render(request, "whatsapp/confirm_rotate_callback.html", context)


@admin_required
@require_POST
def callback_key_rotate(request, uid):
    """New callback URL: the old one stops answering; Meta is given the new one."""
    account = _own_account(request, uid)
    services.whatsapp_account_rotate_callback_key(account=account)
    messages.success(request, "New callback URL: Meta's webhooks reach the stream only there.")
    stream = account.stream
    panel = Panel(request=request, stream=stream, stream_type=types.find(stream.type), slug=TAB)
    if panel.in_drawer:
        return whatsapp_tab_render(panel, account)
    if request.htmx:
        return HttpResponseClientRedirect(panel.current_url)
    return redirect(panel.current_url)


@login_not_required
@require_safe
def credentials_help(request):
    """How to get a WhatsApp Business ID, a permanent token and the app secret from Meta:
    linked from the WhatsApp Settings step, readable before logging in."""
    return render(request, "whatsapp/help_credentials.html")
