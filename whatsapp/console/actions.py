"""The WhatsApp actions outside the side panel's tabs: New callback URL, Check now, and the
help page for Meta's credentials."""

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
from whatsapp import health, services
from whatsapp.console.tabs import TAB, whatsapp_tab_render
from whatsapp.graph.errors import GraphError
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
    return _back_to_tab(request, account)


@admin_required
@require_POST
def credentials_check(request, uid):
    """Check now: the daily credentials check, at once, for an admin (it records what it finds
    and may e-mail: a change, as the console's roles count them; members see the result). It
    runs in the request, a few reads with a short timeout, so that the answer is on the tab it
    returns to rather than on a later reload."""
    account = _own_account(request, uid)
    if account.stream.is_demo or not account.business_id:
        messages.info(request, "This stream has no credentials at Meta to check.")
        return _back_to_tab(request, account)
    try:
        health.credentials_check(account=account)
    except GraphError as error:
        messages.error(
            request,
            "The check did not finish: "
            f"{services.describe_error(error, business_id=account.business_id)}",
        )
        return _back_to_tab(request, account)
    found = account.problems.count()
    if found:
        messages.warning(request, f"Checked with Meta: {found} problem{'s' if found > 1 else ''}.")
    else:
        messages.success(request, "Checked with Meta: the credentials work.")
    return _back_to_tab(request, account)


def _back_to_tab(request, account: WhatsAppAccount):
    """The WhatsApp tab after one of its actions: in the drawer, or the page it is on."""
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
