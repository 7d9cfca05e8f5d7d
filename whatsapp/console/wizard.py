"""The wizard's WhatsApp steps: WhatsApp Settings, checked with the Cloud API, and Stream
Summary."""

from django.shortcuts import render
from django_htmx.http import reswap, retarget

from streams import services as stream_services
from streams.services import NotReady
from streams.views import back_to_list, token_response
from streams.wizard import BACK, Wizard
from whatsapp import services
from whatsapp.console.account import (
    account_of,
    account_refresh_error,
    settings_replace_error,
    summary_context,
)
from whatsapp.console.forms import WhatsAppSettingsForm
from whatsapp.graph.demo import DEMO_BUSINESS_ID
from whatsapp.models import WhatsAppAccount


def whatsapp_step(request, wizard: Wizard):
    """Step 2, WhatsApp Settings: Save & Next checks the credentials with the Cloud API."""
    stream = wizard.stream
    account = account_of(stream)
    form = WhatsAppSettingsForm(
        request.POST or None,
        initial={"business_id": account.business_id} if account else None,
        account=account,
        complete=wizard.completing and not stream.is_demo,
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        if stream.is_demo:
            account = services.whatsapp_settings_save(stream=stream, business_id=DEMO_BUSINESS_ID)
            error = account_refresh_error(account) if wizard.completing else ""
        elif wizard.editing and account is not None:
            # A stream in use keeps its working settings until WhatsApp accepts new ones, so
            # Back leaves them as they are.
            if wizard.action == BACK:
                return wizard.saved(stream)
            error = settings_replace_error(account, **form.cleaned_data)
        else:
            account = services.whatsapp_settings_save(stream=stream, **form.cleaned_data)
            error = account_refresh_error(account) if wizard.completing else ""
        if not error:
            return wizard.saved(stream)
        # A draft keeps what was typed (secrets encrypted), so trying again needs no retyping.
        account.refresh_from_db()
        form = WhatsAppSettingsForm(
            initial={"business_id": form.cleaned_data.get("business_id", "")}, account=account
        )
    context = {"form": form, "account": account, "check_error": error}
    return wizard.render("whatsapp/setup_whatsapp.html", context)


def _create(request, wizard: Wizard, account: WhatsAppAccount | None):
    """Create Stream: the draft becomes Ready and its token is shown once."""
    stream = wizard.stream
    if account is None or not account.verified_at:
        raise NotReady("Check the WhatsApp Settings with Save & Next before creating the stream.")
    token = stream_services.stream_activate(stream=stream, steps_done=wizard.number)
    if token is None:
        return back_to_list(request, f"“{stream.name}” was already created.")
    services.whatsapp_account_register_callback(account=account)
    return token_response(request, stream, token=token, created=True)


def summary_step(request, wizard: Wizard):
    """Step 4, Stream Summary: everything entered, what WhatsApp reports, and Create Stream."""
    stream = wizard.stream
    error = refresh_error = ""
    if request.method == "POST":
        account = account_of(stream)
        if "refresh" in request.POST:
            refresh_error = account_refresh_error(account) if account else ""
        elif wizard.editing:
            return wizard.saved(stream)
        else:
            try:
                return _create(request, wizard, account)
            except NotReady as problem:
                error = str(problem)
            if request.htmx:
                page = render(request, "whatsapp/setup_summary.html#create-error", {"error": error})
                return reswap(retarget(page, "#create-error"), "outerHTML")
    context = {**summary_context(stream), "refresh_error": refresh_error, "error": error}
    return wizard.render("whatsapp/setup_summary.html", context)
